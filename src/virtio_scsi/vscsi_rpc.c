/* The vhost-scsi RPCs (SPDK's names and parameters) and the vhost_scsi part of save_config. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/rpc.h"
#include "virtio_scsi/scsi_ctrl.h"
#include "vhost/vhost.h"

static void rpc_vhost_create_scsi_controller(struct rpc_request *req, json_t *params)
{
	char *name = NULL, *cpumask = NULL;
	bool delay = false;
	const struct rpc_param spec[] = {
		{ "ctrlr", RPC_PARAM_STRING, &name, false },
		{ "cpumask", RPC_PARAM_STRING, &cpumask, true },
		{ "delay", RPC_PARAM_BOOL, &delay, true },
	};
	char err[256];
	int rc;

	if (rpc_decode(req, params, spec, RPC_PARAMS_COUNT(spec)))
		return;
	rc = vscsi_ctrlr_create(&(struct vscsi_ctrlr_opts){ name, cpumask, delay }, err,
				sizeof(err));
	if (rc)
		rpc_reply_errno(req, rc, "%s", err);
	else
		rpc_reply_bool(req, true);
	free(name);
	free(cpumask);
}
RPC_REGISTER("vhost_create_scsi_controller", rpc_vhost_create_scsi_controller)

/* The vhost-scsi controller called name, or NULL after replying. */
static struct vhost_dev *scsi_ctrlr_or_reply(struct rpc_request *req, const char *name)
{
	struct vhost_dev *dev = vhost_dev_find(name);

	if (!dev)
		rpc_reply_errno(req, -ENODEV, "no such controller '%s'", name);
	else if (!vscsi_ctrlr_is(dev))
		rpc_reply_errno(req, -EINVAL, "controller '%s' is not a vhost-scsi controller",
				name);
	else
		return dev;
	return NULL;
}

static void rpc_vhost_start_scsi_controller(struct rpc_request *req, json_t *params)
{
	char *name = NULL;
	const struct rpc_param spec[] = { { "ctrlr", RPC_PARAM_STRING, &name, false } };
	struct vhost_dev *dev;
	char err[256];
	int rc;

	if (rpc_decode(req, params, spec, RPC_PARAMS_COUNT(spec)))
		return;
	dev = scsi_ctrlr_or_reply(req, name);
	if (dev) {
		rc = vscsi_ctrlr_start(dev, err, sizeof(err));
		if (rc)
			rpc_reply_errno(req, rc, "%s", err);
		else
			rpc_reply_bool(req, true);
	}
	free(name);
}
RPC_REGISTER("vhost_start_scsi_controller", rpc_vhost_start_scsi_controller)

static void rpc_vhost_scsi_controller_add_target(struct rpc_request *req, json_t *params)
{
	char *name = NULL, *bdev = NULL;
	int32_t num = 0;
	const struct rpc_param spec[] = {
		{ "ctrlr", RPC_PARAM_STRING, &name, false },
		{ "scsi_target_num", RPC_PARAM_INT32, &num, false },
		{ "bdev_name", RPC_PARAM_STRING, &bdev, false },
	};
	struct vhost_dev *dev;
	char err[256];
	int rc;

	if (rpc_decode(req, params, spec, RPC_PARAMS_COUNT(spec)))
		return;
	dev = scsi_ctrlr_or_reply(req, name);
	if (dev) {
		rc = vscsi_target_add(dev, num, bdev, err, sizeof(err));
		if (rc < 0)
			rpc_reply_errno(req, rc, "%s", err);
		else
			rpc_reply(req, json_integer(rc));
	}
	free(name);
	free(bdev);
}
RPC_REGISTER("vhost_scsi_controller_add_target", rpc_vhost_scsi_controller_add_target)

static void rpc_vhost_scsi_controller_remove_target(struct rpc_request *req, json_t *params)
{
	char *name = NULL;
	int32_t num = 0;
	const struct rpc_param spec[] = {
		{ "ctrlr", RPC_PARAM_STRING, &name, false },
		{ "scsi_target_num", RPC_PARAM_INT32, &num, false },
	};
	struct vhost_dev *dev;
	char err[256];
	int rc;

	if (rpc_decode(req, params, spec, RPC_PARAMS_COUNT(spec)))
		return;
	dev = scsi_ctrlr_or_reply(req, name);
	if (dev) {
		rc = vscsi_target_remove(dev, num, err, sizeof(err));
		if (rc)
			rpc_reply_errno(req, rc, "%s", err);
		else
			rpc_reply_bool(req, true);
	}
	free(name);
}
RPC_REGISTER("vhost_scsi_controller_remove_target", rpc_vhost_scsi_controller_remove_target)

/* Replayed in this order: the controller (never listening yet), its targets, then the start, so
 * a front-end never connects to a half-restored controller. */
static void write_scsi_controller(struct vhost_dev *dev, void *arg)
{
	json_t *config = arg;
	const char *name = vhost_dev_name(dev);
	char mask[80];

	if (!vscsi_ctrlr_is(dev))
		return;
	cpuset_format(vhost_dev_cpumask(dev), mask, sizeof(mask));
	rpc_config_add(config, "vhost_create_scsi_controller",
		       json_pack("{s:s, s:s, s:b}", "ctrlr", name, "cpumask", mask, "delay", true));
	for (int i = 0; i < VSCSI_MAX_TARGETS; i++) {
		const char *bdev = vscsi_target_bdev_name(dev, i);

		if (bdev)
			rpc_config_add(config, "vhost_scsi_controller_add_target",
				       json_pack("{s:s, s:i, s:s}", "ctrlr", name,
						 "scsi_target_num", i, "bdev_name", bdev));
	}
	if (vscsi_ctrlr_started(dev))
		rpc_config_add(config, "vhost_start_scsi_controller",
			       json_pack("{s:s}", "ctrlr", name));
	if (vhost_dev_coalesce_delay(dev))
		rpc_config_add(config, "vhost_controller_set_coalescing",
			       json_pack("{s:s, s:I, s:I}", "ctrlr", name, "delay_base_us",
					 (json_int_t)vhost_dev_coalesce_delay(dev),
					 "iops_threshold",
					 (json_int_t)vhost_dev_coalesce_threshold(dev)));
}

static void write_scsi_config(json_t *config)
{
	vhost_dev_foreach(write_scsi_controller, config);
}
RPC_CONFIG_REGISTER("vhost_scsi", write_scsi_config)
