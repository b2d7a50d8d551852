/* rpc_call(): a request from inside the daemon (the config loader), through the socket's dispatch.
 */
#include "rpc/rpc_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct rpc_call {
	rpc_call_done_fn done;
	void *arg;
};

static void call_fail_nomem(rpc_call_done_fn done, void *arg)
{
	json_t *error = json_pack("{s:i, s:s}", "code", -ENOMEM, "message", strerror(ENOMEM));

	done(arg, NULL, error);
	json_decref(error);
}

static void call_sink(void *arg, int slot, json_t *resp)
{
	struct rpc_call *call = arg;
	json_t *error = json_object_get(resp, "error");
	json_t *result = json_object_get(resp, "result");

	(void)slot;
	if (error || result)
		call->done(call->arg, result, error);
	else
		call_fail_nomem(call->done, call->arg); /* the response could not be built */
	json_decref(resp);
	free(call);
}

void rpc_call(const char *method, json_t *params, rpc_call_done_fn done, void *arg)
{
	struct rpc_call *call = malloc(sizeof(*call));
	json_t *msg = json_pack("{s:s, s:i, s:s?}", "jsonrpc", "2.0", "id", 1, "method", method);

	if (!call || !msg) {
		free(call);
		json_decref(msg);
		json_decref(params);
		call_fail_nomem(done, arg);
		return;
	}
	if (params)
		json_object_set_new(msg, "params", params);
	call->done = done;
	call->arg = arg;
	rpc_request_dispatch(msg, call_sink, call, 0);
}
