/* vhost_create_blk_controller and the vhost_blk part of save_config. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/rpc.h"
#include "virtio_blk/blk.h"
#include "virtio_blk/blk_internal.h"

static void rpc_vhost_create_blk_controller(struct rpc_request *req, json_t *params)
{
	char *name = NULL, *bdev = NULL, *cpumask = NULL, *transport = NULL;
	bool readonly = false, packed = false, packed_recovery = false;
	const struct rpc_param spec[] = {
		{ "ctrlr", RPC_PARAM_STRING, &name, false },
		{ "dev_name", RPC_PARAM_STRING, &bdev, false },
		{ "cpumask", RPC_PARAM_STRING, &cpumask, true },
		{ "readonly", RPC_PARAM_BOOL, &readonly, true },
		{ "packed_ring", RPC_PARAM_BOOL, &packed, true },
		/* Accepted for SPDK compatibility: packed rings always resume from the saved position. */
		{ "packed_ring_recovery", RPC_PARAM_BOOL, &packed_recovery, true },
		{ "transport", RPC_PARAM_STRING, &transport, true },
	};
	struct blk_ctrlr_opts opts;
	char err[256];
	int rc;

	if (rpc_decode(req, params, spec, RPC_PARAMS_COUNT(spec)))
		return;
	if (transport && strcmp(transport, "vhost_user_blk") != 0) {
		rpc_reply_error(req, RPC_ERR_INVALID_PARAMS, "unknown transport '%s' (only vhost_user_blk)",
				transport);
		goto out;
	}
	opts = (struct blk_ctrlr_opts){ name, bdev, cpumask, readonly, packed };
	rc = blk_ctrlr_create(&opts, err, sizeof(err));
	if (rc)
		rpc_reply_errno(req, rc, "%s", err);
	else
		rpc_reply_bool(req, true);
out:
	free(name);
	free(bdev);
	free(cpumask);
	free(transport);
}
RPC_REGISTER("vhost_create_blk_controller", rpc_vhost_create_blk_controller)

static void write_blk_controller(struct vhost_dev *dev, void *arg)
{
	json_t *config = arg;
	struct blk_ctrlr *c;
	char mask[80];

	if (!blk_ctrlr_is(dev))
		return;
	c = vhost_dev_ctx(dev);
	cpuset_format(vhost_dev_cpumask(dev), mask, sizeof(mask));
	rpc_config_add(config, "vhost_create_blk_controller",
		       json_pack("{s:s, s:s, s:s, s:b, s:b}", "ctrlr", vhost_dev_name(dev), "dev_name",
				 c->bdev_name, "cpumask", mask, "readonly", c->readonly, "packed_ring",
				 c->packed_ring));
	if (vhost_dev_coalesce_delay(dev))
		rpc_config_add(config, "vhost_controller_set_coalescing",
			       json_pack("{s:s, s:i, s:i}", "ctrlr", vhost_dev_name(dev), "delay_base_us",
					 (json_int_t)vhost_dev_coalesce_delay(dev), "iops_threshold",
					 (json_int_t)vhost_dev_coalesce_threshold(dev)));
}

static void write_blk_config(json_t *config)
{
	vhost_dev_foreach(write_blk_controller, config);
}
RPC_CONFIG_REGISTER("vhost_blk", write_blk_config)
