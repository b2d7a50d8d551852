/* Internal to src/rpc (and its unit tests): byte streams of JSON values, the method table, the
 * request dispatcher shared by the socket server, rpc_call() and the config loader. */
#ifndef VHOSTD_RPC_INTERNAL_H
#define VHOSTD_RPC_INTERNAL_H

#include "rpc/rpc.h"

#include <stddef.h>

/* --- stream.c: a growable byte buffer that yields complete JSON values --- */
struct rpc_stream {
	char *data;
	size_t off; /* bytes before off are consumed */
	size_t len; /* bytes before len are filled */
	size_t cap;
};

int rpc_stream_append(struct rpc_stream *s, const void *data, size_t n);
/* Room for at least n more bytes at data + len; returns that pointer or NULL. */
char *rpc_stream_reserve(struct rpc_stream *s, size_t n);
void rpc_stream_consume(struct rpc_stream *s, size_t n);
static inline size_t rpc_stream_pending(const struct rpc_stream *s)
{
	return s->len - s->off;
}
/* Takes the next complete JSON value off the stream: 1 and *value, 0 when more bytes are needed
 * (or only blanks remain), -EBADMSG when the bytes are not JSON (a stream cannot be resynced after
 * that), -EMSGSIZE when an incomplete value already exceeds max_bytes. */
int rpc_stream_next(struct rpc_stream *s, size_t max_bytes, json_t **value);
void rpc_stream_free(struct rpc_stream *s);
/* Length of the first complete value in buf (blanks before it included), 0 if incomplete, -1 if
 * buf cannot start one; *start is where its first non-blank byte is. */
long rpc_frame_scan(const char *buf, size_t len, size_t *start);

/* --- methods.c --- */
rpc_handler_fn rpc_method_find(const char *name);
/* Every registered name, sorted. */
json_t *rpc_method_names(void);

/* --- request.c --- */
/* Receives the response envelope of a request (stolen), or NULL when there is none to send (a
 * notification). Called exactly once per dispatched message; slot is the dispatcher's argument. */
typedef void (*rpc_sink_fn)(void *sink_arg, int slot, json_t *response);
/* Validates msg (stolen) as a JSON-RPC 2.0 request and runs its method; the answer goes to sink. */
void rpc_request_dispatch(json_t *msg, rpc_sink_fn sink, void *sink_arg, int slot);
/* {"jsonrpc":"2.0","id":id or null,"error":{"code","message"[,"data"]}}. */
json_t *rpc_response_error(json_t *id, int code, const char *message, const char *data);

/* --- config.c --- */
/* Subsystems with a writer, in save_config order. */
json_t *rpc_config_subsystem_names(void);
/* The config array of one subsystem, or NULL when none is registered under that name. */
json_t *rpc_config_subsystem(const char *name);

/* --- config_load.c --- */
/* Answers req (framework_wait_init) true once no config is being replayed any more, or with the
 * replay's error if it failed: now when none is. */
void rpc_config_wait_loaded(struct rpc_request *req);

#endif
