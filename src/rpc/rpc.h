/*
 * JSON-RPC 2.0 server (control reactor) with SPDK's method names, error codes and config format.
 *
 * A handler gets the request and its params (NULL when absent) and must finish the request exactly
 * once, now or later, with rpc_reply() or rpc_reply_error*(). params stay valid until then. A
 * client that disconnects before the answer does not invalidate the request: the reply is dropped.
 * Notifications (no "id") run the handler too; their reply is dropped.
 * Methods register themselves at start-up with RPC_REGISTER (a constructor), so a backend's RPC
 * code lives beside the backend. Everything here runs on the control reactor except rpc_client_*.
 *
 * Built in: rpc_get_methods, spdk_get_version, save_config, framework_wait_init (answers once the
 * start-up config is replayed), framework_get_subsystems and framework_get_config (what SPDK's
 * rpc.py save_config calls).
 *
 * Config: a module that owns state an operator created (bdevs, controllers) registers a writer per
 * subsystem; save_config emits
 * {"subsystems":[{"subsystem":NAME,"config":[{"method","params"}...]}]} (subsystems in the order
 * bdev, vhost_blk, vhost_scsi, then any other by name) and --config replays such a file method by
 * method, in order, stopping at the first error.
 */
#ifndef VHOSTD_RPC_H
#define VHOSTD_RPC_H

#include <stdbool.h>
#include <jansson.h>

struct rpc_request;

typedef void (*rpc_handler_fn)(struct rpc_request *req, json_t *params);

/* SPDK/JSON-RPC error codes. */
#define RPC_ERR_PARSE -32700
#define RPC_ERR_INVALID_REQUEST -32600
#define RPC_ERR_METHOD_NOT_FOUND -32601
#define RPC_ERR_INVALID_PARAMS -32602
#define RPC_ERR_INTERNAL -32603

/* Registering one name twice is a programming error: it aborts at start-up. */
void rpc_register(const char *method, rpc_handler_fn fn);
#define RPC_REGISTER(method, fn)                                                        \
	__attribute__((constructor)) static void rpc_register_##fn(void)                \
	{                                                                               \
		rpc_register(method, fn);                                               \
	}

/* The method name, for log lines. */
const char *rpc_request_method(const struct rpc_request *req);

/* Result is stolen (may be NULL for "true"). */
void rpc_reply(struct rpc_request *req, json_t *result);
void rpc_reply_bool(struct rpc_request *req, bool value);
/* {"code":code,"message":formatted text}. */
void rpc_reply_error(struct rpc_request *req, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* As SPDK: code -errno (err may be negative or positive), message strerror(errno) exactly
 * ("No such device"). The formatted detail (fmt may be NULL) goes to the error's "data" member,
 * which vhostctl prints as "No such device (no such bdev 'Malloc9')". */
void rpc_reply_errno(struct rpc_request *req, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Declarative, strict param decoding, as SPDK's object decoders: params must be an object (or
 * absent), every member must be in spec ("Unknown parameter 'foo'"), every non-optional one present
 * ("Missing required parameter 'name'"), each of the right JSON type and in range ("Parameter
 * 'num_blocks' must be an unsigned integer"). Absent optional params leave *dst untouched (put the
 * default there). On failure replies -32602 with that message, sets nothing and returns -EINVAL.
 * Integers above INT64_MAX cannot be represented (the JSON parser rejects them).
 */
enum rpc_param_type {
	RPC_PARAM_STRING,  /* char ** (strdup'ed; caller frees) */
	RPC_PARAM_BOOL,    /* bool * */
	RPC_PARAM_INT32,   /* int32_t * */
	RPC_PARAM_UINT32,  /* uint32_t * */
	RPC_PARAM_UINT64,  /* uint64_t * */
	RPC_PARAM_INT64,   /* int64_t * */
	RPC_PARAM_JSON,    /* json_t ** (borrowed, any JSON type) */
};
struct rpc_param {
	const char *name;
	enum rpc_param_type type;
	void *dst;
	bool optional;
};
int rpc_decode(struct rpc_request *req, json_t *params, const struct rpc_param *spec, int count);
/* The same check without replying: the message goes to err. Returns 0, -EINVAL or -ENOMEM. */
int rpc_params_decode(json_t *params, const struct rpc_param *spec, int count, char *err,
		      size_t errlen);
#define RPC_PARAMS_COUNT(spec) ((int)(sizeof(spec) / sizeof((spec)[0])))

/* save_config writers. Several writers may share a subsystem; they run in registration order. */
typedef void (*rpc_config_writer_fn)(json_t *config_array);
void rpc_config_register(const char *subsystem, rpc_config_writer_fn fn);
#define RPC_CONFIG_REGISTER(subsystem, fn)                                              \
	__attribute__((constructor)) static void rpc_config_register_##fn(void)         \
	{                                                                               \
		rpc_config_register(subsystem, fn);                                     \
	}
/* Helper for writers: appends {"method":method,"params":params(stolen)}. */
void rpc_config_add(json_t *config_array, const char *method, json_t *params);
/* The whole save_config document (caller decrefs). */
json_t *rpc_config_save(void);

/* Where vhostd listens and vhostctl connects unless told otherwise. */
#define RPC_DEFAULT_SOCKET "/var/tmp/vhostd.sock"

/* Server lifecycle (control reactor). mode: socket permissions (e.g. 0600). A stale socket file is
 * replaced; a path another process listens on is refused with -EADDRINUSE, a path that exists but
 * is not a socket with -EEXIST. Requests still being handled at stop finish with their reply
 * dropped. */
int rpc_server_start(const char *path, unsigned mode);
void rpc_server_stop(void);

/* Runs method through the same dispatch as socket requests; done gets the result or the error
 * object (borrowed, exactly one non-NULL), now or later. params stolen. */
typedef void (*rpc_call_done_fn)(void *arg, json_t *result, json_t *error);
void rpc_call(const char *method, json_t *params, rpc_call_done_fn done, void *arg);

/* Replays a config file. Returns 0 when started, or -errno when the file cannot be read or has the
 * wrong shape (logged; done is not called). Otherwise done(status) runs once all methods succeeded
 * (0) or after the first failure (its -errno code, or -EINVAL for a JSON-RPC error code). */
int rpc_config_load(const char *path, void (*done)(int status, void *arg), void *arg);

/* Tiny blocking client (vhostctl, tests). Returns 0 and the result, or -errno (no connection,
 * -ETIMEDOUT, -EPROTO for an unparsable reply), or 1 with *error set to the server's error object.
 * Caller decrefs. timeout_ms (<= 0: none) bounds the connect and each call. */
struct rpc_client;
/* NULL with errno set when the server cannot be reached. */
struct rpc_client *rpc_client_connect(const char *path, int timeout_ms);
int rpc_client_call(struct rpc_client *c, const char *method, json_t *params /* stolen */,
		    json_t **result, json_t **error);
void rpc_client_close(struct rpc_client *c);

#endif
