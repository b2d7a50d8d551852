/* RPCs every controller answers, whatever its personality (SPDK's names and parameters). */
#include <errno.h>
#include <stdlib.h>

#include "rpc/rpc.h"
#include "vhost/vhost.h"

static struct vhost_dev *find_or_reply(struct rpc_request *req, const char *name)
{
	struct vhost_dev *dev = vhost_dev_find(name);

	if (!dev)
		rpc_reply_errno(req, -ENODEV, "no such controller '%s'", name);
	return dev;
}

static void rpc_vhost_delete_controller(struct rpc_request *req, json_t *params)
{
	char *name = NULL;
	const struct rpc_param spec[] = { { "ctrlr", RPC_PARAM_STRING, &name, false } };
	struct vhost_dev *dev;
	int rc;

	if (rpc_decode(req, params, spec, RPC_PARAMS_COUNT(spec)))
		return;
	dev = find_or_reply(req, name);
	if (dev) {
		rc = vhost_dev_delete(dev);
		if (rc == -EBUSY)
			rpc_reply_errno(req, rc, "controller '%s' has a connected front-end", name);
		else if (rc)
			rpc_reply_errno(req, rc, "cannot delete controller '%s'", name);
		else
			rpc_reply_bool(req, true);
	}
	free(name);
}
RPC_REGISTER("vhost_delete_controller", rpc_vhost_delete_controller)

static json_t *controller_json(struct vhost_dev *dev)
{
	json_t *obj = json_object(), *specific = json_object();

	vhost_dev_dump(dev, obj);
	if (vhost_dev_ops(dev)->dump_info)
		vhost_dev_ops(dev)->dump_info(dev, specific);
	json_object_set_new(obj, "backend_specific", specific);
	return obj;
}

static void add_controller(struct vhost_dev *dev, void *arg)
{
	json_array_append_new(arg, controller_json(dev));
}

static void rpc_vhost_get_controllers(struct rpc_request *req, json_t *params)
{
	char *name = NULL;
	const struct rpc_param spec[] = { { "name", RPC_PARAM_STRING, &name, true } };
	json_t *list;

	if (rpc_decode(req, params, spec, RPC_PARAMS_COUNT(spec)))
		return;
	if (name) {
		struct vhost_dev *dev = find_or_reply(req, name);

		free(name);
		if (!dev)
			return;
		list = json_array();
		json_array_append_new(list, controller_json(dev));
	} else {
		list = json_array();
		vhost_dev_foreach(add_controller, list);
	}
	rpc_reply(req, list);
}
RPC_REGISTER("vhost_get_controllers", rpc_vhost_get_controllers)

static void rpc_vhost_controller_set_coalescing(struct rpc_request *req, json_t *params)
{
	char *name = NULL;
	uint32_t delay = 0, iops = 0;
	const struct rpc_param spec[] = {
		{ "ctrlr", RPC_PARAM_STRING, &name, false },
		{ "delay_base_us", RPC_PARAM_UINT32, &delay, false },
		{ "iops_threshold", RPC_PARAM_UINT32, &iops, false },
	};
	struct vhost_dev *dev;
	int rc;

	if (rpc_decode(req, params, spec, RPC_PARAMS_COUNT(spec)))
		return;
	dev = find_or_reply(req, name);
	if (dev) {
		rc = vhost_dev_set_coalescing(dev, delay, iops);
		if (rc == -EINVAL)
			rpc_reply_error(req, RPC_ERR_INVALID_PARAMS,
					"iops_threshold must be non-zero when delay_base_us is set");
		else if (rc)
			rpc_reply_errno(req, rc, "cannot set coalescing on '%s'", name);
		else
			rpc_reply_bool(req, true);
	}
	free(name);
}
RPC_REGISTER("vhost_controller_set_coalescing", rpc_vhost_controller_set_coalescing)
