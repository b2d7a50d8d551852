/* Methods every vhostd answers, whatever else is linked in. Shapes follow SPDK's. */
#include "rpc/rpc_internal.h"

#include <stdio.h>
#include <stdlib.h>

#ifndef VHOSTD_VERSION
#error "VHOSTD_VERSION must be defined by the build"
#endif

static void rpc_get_methods(struct rpc_request *req, json_t *params)
{
	/* Accepted for rpc.py compatibility; vhostd has no start-up-only methods and no aliases. */
	bool current = false, include_aliases = false;
	const struct rpc_param spec[] = {
		{ "current", RPC_PARAM_BOOL, &current, true },
		{ "include_aliases", RPC_PARAM_BOOL, &include_aliases, true },
	};

	if (rpc_decode(req, params, spec, RPC_PARAMS_COUNT(spec)) == 0)
		rpc_reply(req, rpc_method_names());
}
RPC_REGISTER("rpc_get_methods", rpc_get_methods)

static void spdk_get_version(struct rpc_request *req, json_t *params)
{
	const char *version = VHOSTD_VERSION;
	int major = 0, minor = 0, patch = 0, used = 0;

	if (rpc_decode(req, params, NULL, 0))
		return;
	/* "0.1.0-rc1": numbers, then whatever follows is the suffix. */
	sscanf(version, "%d.%d.%d%n", &major, &minor, &patch, &used);
	rpc_reply(req, json_pack("{s:s+, s:{s:i, s:i, s:i, s:s}}", "version", "vhostd ", version,
				 "fields", "major", major, "minor", minor, "patch", patch, "suffix",
				 version + used));
}
RPC_REGISTER("spdk_get_version", spdk_get_version)

static void save_config(struct rpc_request *req, json_t *params)
{
	if (rpc_decode(req, params, NULL, 0) == 0)
		rpc_reply(req, rpc_config_save());
}
RPC_REGISTER("save_config", save_config)

/* Initialised means the start-up config (if any) has been replayed. */
static void framework_wait_init(struct rpc_request *req, json_t *params)
{
	if (rpc_decode(req, params, NULL, 0) == 0)
		rpc_config_wait_loaded(req);
}
RPC_REGISTER("framework_wait_init", framework_wait_init)

/* With framework_get_config, what SPDK's own rpc.py save_config calls. */
static void framework_get_subsystems(struct rpc_request *req, json_t *params)
{
	json_t *names, *name, *list;
	size_t i;

	if (rpc_decode(req, params, NULL, 0))
		return;
	names = rpc_config_subsystem_names();
	list = json_array();
	json_array_foreach(names, i, name)
		json_array_append_new(list, json_pack("{s:O, s:[]}", "subsystem", name,
						      "depends_on"));
	json_decref(names);
	rpc_reply(req, list);
}
RPC_REGISTER("framework_get_subsystems", framework_get_subsystems)

static void framework_get_config(struct rpc_request *req, json_t *params)
{
	char *name = NULL;
	const struct rpc_param spec[] = { { "name", RPC_PARAM_STRING, &name, false } };
	json_t *config;

	if (rpc_decode(req, params, spec, RPC_PARAMS_COUNT(spec)))
		return;
	config = rpc_config_subsystem(name);
	if (config)
		rpc_reply(req, config);
	else
		rpc_reply_error(req, RPC_ERR_INVALID_PARAMS, "Subsystem '%s' not found", name);
	free(name);
}
RPC_REGISTER("framework_get_config", framework_get_config)
