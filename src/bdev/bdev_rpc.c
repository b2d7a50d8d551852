/*
 * Generic bdev RPCs (bdev_get_bdevs, bdev_get_iostat), the "bdev" save_config writer and the
 * helpers every backend's RPC handlers share. Output shapes follow SPDK's.
 */
#include "bdev/bdev.h"
#include "bdev/bdev_internal.h"
#include "bdev/bdev_module.h"
#include "bdev/bdev_rpc_util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* --- helpers for backends --- */

void bdev_rpc_reply_errno(struct rpc_request *req, int rc)
{
	rpc_reply_errno(req, rc, NULL);
}

void bdev_rpc_reply_done(struct rpc_request *req, int rc)
{
	if (rc)
		bdev_rpc_reply_errno(req, rc);
	else
		rpc_reply_bool(req, true);
}

int bdev_rpc_uuid(struct rpc_request *req, const char *s, uint8_t uuid[16], const uint8_t **out)
{
	*out = NULL;
	if (!s)
		return 0;
	if (bdev_uuid_parse(s, uuid) < 0) {
		rpc_reply_error(req, RPC_ERR_INVALID_PARAMS, "Invalid uuid: %s", s);
		return -EINVAL;
	}
	*out = uuid;
	return 0;
}

static void bdev_rpc_delete_done(void *arg, int status)
{
	bdev_rpc_reply_done(arg, status);
}

void bdev_rpc_delete(struct rpc_request *req, json_t *params,
		     int (*del)(const char *name, bdev_delete_done_fn done, void *arg))
{
	char *name = NULL;
	const struct rpc_param spec[] = { { "name", RPC_PARAM_STRING, &name, false } };
	int rc;

	if (rpc_decode(req, params, spec, RPC_PARAMS_COUNT(spec)) < 0)
		return;
	rc = del(name, bdev_rpc_delete_done, req);
	if (rc)
		bdev_rpc_reply_errno(req, rc);
	free(name);
}

void bdev_rpc_by_name(struct rpc_request *req, json_t *params, int (*fn)(const char *name))
{
	char *name = NULL;
	const struct rpc_param spec[] = { { "name", RPC_PARAM_STRING, &name, false } };
	int rc;

	if (rpc_decode(req, params, spec, RPC_PARAMS_COUNT(spec)) < 0)
		return;
	rc = fn(name);
	bdev_rpc_reply_done(req, rc);
	free(name);
}

static void bdev_rpc_reply_created(struct rpc_request *req, int rc, struct bdev *bdev)
{
	if (rc)
		bdev_rpc_reply_errno(req, rc);
	else
		rpc_reply(req, json_string(bdev->name));
}

void bdev_rpc_create_blocks(struct rpc_request *req, json_t *params, bool name_optional,
			    bdev_blocks_create_fn create)
{
	char *name = NULL, *uuid_str = NULL;
	uint64_t num_blocks = 0;
	uint32_t block_size = 0;
	uint8_t uuid_buf[16];
	const uint8_t *uuid;
	struct bdev *bdev = NULL;
	const struct rpc_param spec[] = {
		{ "name", RPC_PARAM_STRING, &name, name_optional },
		{ "num_blocks", RPC_PARAM_UINT64, &num_blocks, false },
		{ "block_size", RPC_PARAM_UINT32, &block_size, false },
		{ "uuid", RPC_PARAM_STRING, &uuid_str, true },
	};

	if (rpc_decode(req, params, spec, RPC_PARAMS_COUNT(spec)) == 0 &&
	    bdev_rpc_uuid(req, uuid_str, uuid_buf, &uuid) == 0) {
		int rc = create(name, num_blocks, block_size, uuid, &bdev);

		bdev_rpc_reply_created(req, rc, bdev);
	}
	free(name);
	free(uuid_str);
}

void bdev_rpc_create_file(struct rpc_request *req, json_t *params, bdev_file_create_fn create)
{
	char *name = NULL, *filename = NULL, *uuid_str = NULL;
	uint32_t block_size = 0;
	uint8_t uuid_buf[16];
	const uint8_t *uuid;
	struct bdev *bdev = NULL;
	const struct rpc_param spec[] = {
		{ "name", RPC_PARAM_STRING, &name, false },
		{ "filename", RPC_PARAM_STRING, &filename, false },
		{ "block_size", RPC_PARAM_UINT32, &block_size, true },
		{ "uuid", RPC_PARAM_STRING, &uuid_str, true },
	};

	if (rpc_decode(req, params, spec, RPC_PARAMS_COUNT(spec)) == 0 &&
	    bdev_rpc_uuid(req, uuid_str, uuid_buf, &uuid) == 0) {
		int rc = create(filename, name, block_size, uuid, &bdev);

		bdev_rpc_reply_created(req, rc, bdev);
	}
	free(name);
	free(filename);
	free(uuid_str);
}

void bdev_config_add_blocks(json_t *config, const char *method, struct bdev *bdev)
{
	char uuid[37];

	bdev_uuid_format(bdev, uuid);
	rpc_config_add(config, method,
		       json_pack("{s:s, s:I, s:i, s:s}", "name", bdev->name, "num_blocks",
				 (json_int_t)bdev_num_blocks(bdev), "block_size",
				 (int)bdev->block_size, "uuid", uuid));
}

/* --- views --- */

json_t *bdev_info_json(struct bdev *bdev)
{
	json_t *io_types = json_object(), *driver = json_object();
	char uuid[37];

	bdev_uuid_format(bdev, uuid);
	for (int t = 0; t < BDEV_IO_TYPE_COUNT; t++)
		json_object_set_new(io_types, bdev_io_type_name(t),
				    json_boolean(bdev_io_type_supported(bdev, t)));
	/* Types SPDK lists that no vhostd backend has. */
	json_object_set_new(io_types, "reset", json_false());
	json_object_set_new(io_types, "nvme_admin", json_false());
	json_object_set_new(io_types, "nvme_io", json_false());
	if (bdev->ops->dump_info)
		bdev->ops->dump_info(bdev, driver);
	return json_pack("{s:s, s:[], s:s, s:i, s:I, s:s, s:{s:i, s:i, s:i, s:i}, s:b, s:b, s:o, "
			 "s:o}",
			 "name", bdev->name, "aliases", "product_name", bdev->product_name,
			 "block_size", (int)bdev->block_size, "num_blocks",
			 (json_int_t)bdev_num_blocks(bdev), "uuid", uuid, "assigned_rate_limits",
			 "rw_ios_per_sec", 0, "rw_mbytes_per_sec", 0, "r_mbytes_per_sec", 0,
			 "w_mbytes_per_sec", 0, "claimed", bdev->internal->claimed, "zoned", 0,
			 "supported_io_types", io_types, "driver_specific", driver);
}

json_t *bdev_iostat_json(struct bdev *bdev)
{
	struct bdev_iostat s;

	bdev_iostat_get(bdev, &s);
	return json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
			 "name", bdev->name, "bytes_read", (json_int_t)s.bytes_read,
			 "num_read_ops", (json_int_t)s.num_read_ops, "bytes_written",
			 (json_int_t)s.bytes_written, "num_write_ops", (json_int_t)s.num_write_ops,
			 "bytes_unmapped", (json_int_t)s.bytes_unmapped, "num_unmap_ops",
			 (json_int_t)s.num_unmap_ops, "read_latency_ticks",
			 (json_int_t)s.read_latency_ticks, "write_latency_ticks",
			 (json_int_t)s.write_latency_ticks, "unmap_latency_ticks",
			 (json_int_t)s.unmap_latency_ticks, "num_flush_ops",
			 (json_int_t)s.num_flush_ops, "num_write_zeroes_ops",
			 (json_int_t)s.num_write_zeroes_ops, "num_io_errors",
			 (json_int_t)s.num_io_errors);
}

struct bdev_json_collect_ctx {
	json_t *out;
	json_t *(*view)(struct bdev *bdev);
};

static void bdev_json_append(struct bdev *bdev, void *arg)
{
	struct bdev_json_collect_ctx *ctx = arg;

	json_array_append_new(ctx->out, ctx->view(bdev));
}

/* Fills out with view(bdev) for every bdev named in names (a string, an array of strings or NULL
 * for all). -ENODEV when a name is unknown. */
static int bdev_json_collect(json_t *names, json_t *(*view)(struct bdev *), json_t *out)
{
	struct bdev_json_collect_ctx ctx = { out, view };
	size_t i;
	json_t *n;

	if (!names) {
		bdev_foreach(bdev_json_append, &ctx);
		return 0;
	}
	if (json_is_string(names)) {
		struct bdev *bdev = bdev_get_by_name(json_string_value(names));

		if (!bdev)
			return -ENODEV;
		bdev_json_append(bdev, &ctx);
		return 0;
	}
	json_array_foreach(names, i, n) {
		const char *name = json_string_value(n);
		struct bdev *bdev = name ? bdev_get_by_name(name) : NULL;

		if (!bdev)
			return -ENODEV;
		bdev_json_append(bdev, &ctx);
	}
	return 0;
}

static void rpc_bdev_get_bdevs(struct rpc_request *req, json_t *params)
{
	json_t *name = NULL, *timeout = NULL, *out;
	const struct rpc_param spec[] = {
		{ "name", RPC_PARAM_JSON, &name, true },
		/* accepted and ignored: vhostd's bdevs never appear late */
		{ "timeout", RPC_PARAM_JSON, &timeout, true },
	};
	int rc;

	if (rpc_decode(req, params, spec, RPC_PARAMS_COUNT(spec)) < 0)
		return;
	if (name && !json_is_string(name)) {
		rpc_reply_error(req, RPC_ERR_INVALID_PARAMS, "name must be a string");
		return;
	}
	out = json_array();
	rc = bdev_json_collect(name, bdev_info_json, out);
	if (rc) {
		json_decref(out);
		bdev_rpc_reply_errno(req, rc);
		return;
	}
	rpc_reply(req, out);
}
RPC_REGISTER("bdev_get_bdevs", rpc_bdev_get_bdevs)

static void rpc_bdev_get_iostat(struct rpc_request *req, json_t *params)
{
	json_t *name = NULL, *names = NULL, *per_channel = NULL, *bdevs;
	const struct rpc_param spec[] = {
		{ "name", RPC_PARAM_JSON, &name, true },   /* older SPDK */
		{ "names", RPC_PARAM_JSON, &names, true }, /* newer SPDK */
		{ "per_channel", RPC_PARAM_JSON, &per_channel, true },
	};
	int rc;

	if (rpc_decode(req, params, spec, RPC_PARAMS_COUNT(spec)) < 0)
		return;
	if ((name && !json_is_string(name)) || (names && !json_is_array(names))) {
		rpc_reply_error(req, RPC_ERR_INVALID_PARAMS,
				"name must be a string, names an array");
		return;
	}
	if (per_channel && json_is_true(per_channel)) {
		bdev_rpc_reply_errno(req, -ENOTSUP);
		return;
	}
	bdevs = json_array();
	rc = bdev_json_collect(names ? names : name, bdev_iostat_json, bdevs);
	if (rc) {
		json_decref(bdevs);
		bdev_rpc_reply_errno(req, rc);
		return;
	}
	rpc_reply(req, json_pack("{s:I, s:I, s:o}", "tick_rate", (json_int_t)bdev_tick_rate(),
				 "ticks", (json_int_t)bdev_ticks(), "bdevs", bdevs));
}
RPC_REGISTER("bdev_get_iostat", rpc_bdev_get_iostat)

/* --- save_config --- */

static void bdev_config_write_one(struct bdev *bdev, void *config)
{
	if (bdev->ops->write_config)
		bdev->ops->write_config(bdev, config);
}

/* Registration order puts every base before the error bdev stacked on it: an error bdev is
 * created after its base and goes away with it. */
void bdev_config_write(json_t *config)
{
	bdev_foreach(bdev_config_write_one, config);
}
RPC_CONFIG_REGISTER("bdev", bdev_config_write)
