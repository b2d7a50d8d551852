/*
 * One JSON-RPC request from validation to its single answer. Where the answer goes (a socket
 * connection, a batch, an internal caller) is the sink's business, so every origin shares this
 * path.
 */
#include "rpc/rpc_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct rpc_request {
	json_t *msg;        /* the request object; owns method, params and id */
	json_t *id;         /* NULL for a notification */
	const char *method;
	rpc_sink_fn sink;
	void *sink_arg;
	int slot;
};

static json_t *error_object(int code, const char *message, const char *data)
{
	json_t *error = json_pack("{s:i, s:s}", "code", code, "message", message);

	if (error && data)
		json_object_set_new(error, "data", json_string(data));
	return error;
}

json_t *rpc_response_error(json_t *id, int code, const char *message, const char *data)
{
	return json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id", id ? id : json_null(), "error",
			 error_object(code, message, data));
}

static bool id_is_valid(const json_t *id)
{
	return json_is_string(id) || json_is_number(id) || json_is_null(id);
}

/* Returns NULL when msg is a well-formed request, else why it is not (for the error's data). */
static const char *envelope_problem(json_t *msg)
{
	json_t *version, *method, *params, *id, *value;
	const char *key;

	if (!json_is_object(msg))
		return "a request must be a JSON object";
	json_object_foreach(msg, key, value) {
		if (strcmp(key, "jsonrpc") && strcmp(key, "method") && strcmp(key, "params") &&
		    strcmp(key, "id"))
			return "unknown member in request";
	}
	version = json_object_get(msg, "jsonrpc");
	method = json_object_get(msg, "method");
	params = json_object_get(msg, "params");
	id = json_object_get(msg, "id");
	if (!json_is_string(version) || strcmp(json_string_value(version), "2.0") != 0)
		return "\"jsonrpc\" must be \"2.0\"";
	if (!json_is_string(method))
		return "\"method\" must be a string";
	if (params && !json_is_object(params) && !json_is_array(params))
		return "\"params\" must be an object or an array";
	if (id && !id_is_valid(id))
		return "\"id\" must be a string, a number or null";
	return NULL;
}

void rpc_request_dispatch(json_t *msg, rpc_sink_fn sink, void *sink_arg, int slot)
{
	const char *problem = envelope_problem(msg);
	json_t *id = json_is_object(msg) ? json_object_get(msg, "id") : NULL;
	struct rpc_request *req;
	rpc_handler_fn fn;

	if (problem) {
		/* Invalid requests are answered even without an id (JSON-RPC 2.0, section 5). */
		sink(sink_arg, slot,
		     rpc_response_error(id_is_valid(id) ? id : NULL, RPC_ERR_INVALID_REQUEST,
					"Invalid request", problem));
		json_decref(msg);
		return;
	}
	req = calloc(1, sizeof(*req));
	if (!req) {
		sink(sink_arg, slot,
		     id ? rpc_response_error(id, -ENOMEM, strerror(ENOMEM), NULL) : NULL);
		json_decref(msg);
		return;
	}
	req->msg = msg;
	req->id = id;
	req->method = json_string_value(json_object_get(msg, "method"));
	req->sink = sink;
	req->sink_arg = sink_arg;
	req->slot = slot;
	fn = rpc_method_find(req->method);
	if (!fn) {
		rpc_reply_error(req, RPC_ERR_METHOD_NOT_FOUND, "Method not found");
		return;
	}
	fn(req, json_object_get(msg, "params"));
}

const char *rpc_request_method(const struct rpc_request *req)
{
	return req->method;
}

/* Sends {"jsonrpc","id",member:value} (value stolen) and frees the request. */
static void request_finish(struct rpc_request *req, const char *member, json_t *value)
{
	json_t *resp = NULL;

	if (req->id)
		resp = json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id", req->id, member, value);
	else
		json_decref(value);
	req->sink(req->sink_arg, req->slot, resp);
	json_decref(req->msg);
	free(req);
}

void rpc_reply(struct rpc_request *req, json_t *result)
{
	request_finish(req, "result", result ? result : json_true());
}

void rpc_reply_bool(struct rpc_request *req, bool value)
{
	request_finish(req, "result", json_boolean(value));
}

static void reply_error_object(struct rpc_request *req, int code, const char *message,
			       const char *data)
{
	request_finish(req, "error", error_object(code, message, data));
}

void rpc_reply_error(struct rpc_request *req, int code, const char *fmt, ...)
{
	va_list ap;
	json_t *message;

	va_start(ap, fmt);
	message = json_vsprintf(fmt, ap);
	va_end(ap);
	reply_error_object(req, code, message ? json_string_value(message) : fmt, NULL);
	json_decref(message);
}

void rpc_reply_errno(struct rpc_request *req, int err, const char *fmt, ...)
{
	json_t *detail = NULL;
	va_list ap;

	err = err < 0 ? -err : err;
	if (err == 0)
		err = EIO; /* a handler bug must not send code 0, which reads as success */
	if (fmt) {
		va_start(ap, fmt);
		detail = json_vsprintf(fmt, ap);
		va_end(ap);
	}
	reply_error_object(req, -err, strerror(err), detail ? json_string_value(detail) : NULL);
	json_decref(detail);
}
