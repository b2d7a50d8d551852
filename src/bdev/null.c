/*
 * null bdev: completes I/O at once without touching data. As SPDK's null bdev, a READ leaves the
 * caller's buffers untouched (they are not zeroed) and FLUSH/UNMAP are not supported. This is the
 * benchmark path, so submit does nothing but complete.
 */
#include "bdev/bdev.h"
#include "bdev/bdev_module.h"
#include "bdev/bdev_rpc_util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MIB (1024u * 1024u)

static void null_submit(struct bdev *bdev, void *chctx, struct bdev_io *io)
{
	(void)bdev;
	(void)chctx;
	bdev_io_complete(io, 0);
}

static bool null_io_type_supported(struct bdev *bdev, enum bdev_io_type type)
{
	(void)bdev;
	return type == BDEV_IO_READ || type == BDEV_IO_WRITE || type == BDEV_IO_WRITE_ZEROES;
}

static void null_destruct(struct bdev *bdev)
{
	free(bdev);
}

static void null_write_config(struct bdev *bdev, json_t *config)
{
	bdev_config_add_blocks(config, "bdev_null_create", bdev);
}

static const struct bdev_ops null_ops = {
	.submit = null_submit,
	.io_type_supported = null_io_type_supported,
	.destruct = null_destruct,
	.write_config = null_write_config,
};

int bdev_null_create(const char *name, uint64_t num_blocks, uint32_t block_size,
		     const uint8_t *uuid, struct bdev **out)
{
	struct bdev *bdev;
	int rc;

	if (!name || num_blocks == 0 || block_size == 0 || block_size % 512)
		return -EINVAL;
	bdev = calloc(1, sizeof(*bdev));
	if (!bdev)
		return -ENOMEM;
	bdev->name = strdup(name);
	bdev->product_name = "Null disk";
	bdev->block_size = block_size;
	bdev->num_blocks = num_blocks;
	bdev->ops = &null_ops;
	if (uuid)
		memcpy(bdev->uuid, uuid, 16);
	rc = bdev->name ? bdev_register(bdev) : -ENOMEM;
	if (rc) {
		free(bdev->name);
		free(bdev);
		return rc;
	}
	if (out)
		*out = bdev;
	return 0;
}

int bdev_null_delete(const char *name, bdev_delete_done_fn done, void *arg)
{
	return bdev_unregister_by_name(name, &null_ops, done, arg);
}

int bdev_null_resize(const char *name, uint64_t new_size_mib)
{
	struct bdev *bdev = bdev_get_by_name(name);
	uint64_t cur_mib, bytes;

	if (!bdev)
		return -ENODEV;
	if (bdev->ops != &null_ops)
		return -EINVAL;
	cur_mib = bdev_num_blocks(bdev) * bdev->block_size / MIB;
	if (new_size_mib < cur_mib || __builtin_mul_overflow(new_size_mib, (uint64_t)MIB, &bytes))
		return -EINVAL;
	return bdev_notify_resize(bdev, bytes / bdev->block_size);
}

/* --- RPC --- */

static void rpc_bdev_null_create(struct rpc_request *req, json_t *params)
{
	bdev_rpc_create_blocks(req, params, false, bdev_null_create);
}
RPC_REGISTER("bdev_null_create", rpc_bdev_null_create)

static void rpc_bdev_null_delete(struct rpc_request *req, json_t *params)
{
	bdev_rpc_delete(req, params, bdev_null_delete);
}
RPC_REGISTER("bdev_null_delete", rpc_bdev_null_delete)

static void rpc_bdev_null_resize(struct rpc_request *req, json_t *params)
{
	char *name = NULL;
	uint64_t new_size = 0;
	const struct rpc_param spec[] = {
		{ "name", RPC_PARAM_STRING, &name, false },
		{ "new_size", RPC_PARAM_UINT64, &new_size, false },
	};
	int rc;

	if (rpc_decode(req, params, spec, RPC_PARAMS_COUNT(spec)) < 0)
		goto out;
	rc = bdev_null_resize(name, new_size);
	bdev_rpc_reply_done(req, rc);
out:
	free(name);
}
RPC_REGISTER("bdev_null_resize", rpc_bdev_null_resize)
