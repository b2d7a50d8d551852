/* The error bdev's RPCs (SPDK's names and parameters); the bdev itself is error.c. */
#include "bdev/bdev.h"
#include "bdev/bdev_module.h"
#include "bdev/bdev_rpc_util.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void rpc_bdev_error_create(struct rpc_request *req, json_t *params)
{
	char *base_name = NULL, *uuid_str = NULL;
	uint8_t uuid_buf[16];
	const uint8_t *uuid;
	const struct rpc_param spec[] = {
		{ "base_name", RPC_PARAM_STRING, &base_name, false },
		{ "uuid", RPC_PARAM_STRING, &uuid_str, true },
	};
	int rc;

	if (rpc_decode(req, params, spec, RPC_PARAMS_COUNT(spec)) == 0 &&
	    bdev_rpc_uuid(req, uuid_str, uuid_buf, &uuid) == 0) {
		rc = bdev_error_create(base_name, uuid, NULL);
		bdev_rpc_reply_done(req, rc);
	}
	free(base_name);
	free(uuid_str);
}
RPC_REGISTER("bdev_error_create", rpc_bdev_error_create)

static void rpc_bdev_error_delete(struct rpc_request *req, json_t *params)
{
	bdev_rpc_delete(req, params, bdev_error_delete);
}
RPC_REGISTER("bdev_error_delete", rpc_bdev_error_delete)

static void rpc_bdev_error_inject_error(struct rpc_request *req, json_t *params)
{
	char *name = NULL, *io_type_str = NULL, *error_type_str = NULL;
	struct bdev_error_opts opts = { .num = 1 }; /* SPDK's default */
	uint32_t corrupt_value = 0;
	enum bdev_io_type io_type;
	const struct rpc_param spec[] = {
		{ "name", RPC_PARAM_STRING, &name, false },
		{ "io_type", RPC_PARAM_STRING, &io_type_str, false },
		{ "error_type", RPC_PARAM_STRING, &error_type_str, false },
		{ "num", RPC_PARAM_UINT32, &opts.num, true },
		{ "queue_depth", RPC_PARAM_UINT32, &opts.queue_depth, true },
		{ "corrupt_offset", RPC_PARAM_UINT64, &opts.corrupt_offset, true },
		{ "corrupt_value", RPC_PARAM_UINT32, &corrupt_value, true },
	};
	int rc;

	if (rpc_decode(req, params, spec, RPC_PARAMS_COUNT(spec)) < 0)
		goto out;
	if (strcmp(io_type_str, "clear") == 0) {
		rc = bdev_error_clear(name);
	} else if (bdev_error_io_type_parse(io_type_str, &io_type) < 0) {
		rpc_reply_errno(req, -EINVAL, "Unexpected io_type: %s", io_type_str);
		goto out;
	} else if (bdev_error_type_parse(error_type_str, &opts.type) < 0) {
		rpc_reply_errno(req, -EINVAL, "Unexpected error_type: %s", error_type_str);
		goto out;
	} else if (corrupt_value > UINT8_MAX ||
		   (opts.type == BDEV_ERROR_CORRUPT_DATA && corrupt_value == 0)) {
		rpc_reply_errno(req, -EINVAL, "corrupt_value must be 1..255 for corrupt_data");
		goto out;
	} else {
		opts.corrupt_value = (uint8_t)corrupt_value;
		rc = bdev_error_inject_opts(name, io_type, &opts);
	}
	bdev_rpc_reply_done(req, rc);
out:
	free(name);
	free(io_type_str);
	free(error_type_str);
}
RPC_REGISTER("bdev_error_inject_error", rpc_bdev_error_inject_error)
