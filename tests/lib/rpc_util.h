/*
 * Raw JSON-RPC test clients: send exact bytes (halves, several requests at once, garbage) and read
 * the server's answers one JSON value at a time, as a stream client would. When the server runs on
 * the test's own thread, set a pump (e.g. one reactor iteration) that runs while a call waits.
 */
#ifndef VHOSTD_TESTS_RPC_UTIL_H
#define VHOSTD_TESTS_RPC_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

struct raw_client;

/* Runs while raw_* calls wait (NULL: nothing, just poll the socket). */
void raw_client_set_pump(void (*pump)(void));

/* NULL with errno set on failure. */
struct raw_client *raw_client_connect(const char *path);
int raw_client_fd(const struct raw_client *c);
/* Sends every byte; returns 0 or -errno. */
int raw_client_send(struct raw_client *c, const void *buf, size_t len);
int raw_client_send_str(struct raw_client *c, const char *text);
/* The next JSON value from the server, or NULL after timeout_ms, on EOF or on unparsable bytes. */
json_t *raw_client_recv(struct raw_client *c, int timeout_ms);
/* True when the server closes the connection (with nothing more to read) within timeout_ms. */
bool raw_client_wait_eof(struct raw_client *c, int timeout_ms);
/* True when nothing at all arrives within timeout_ms. */
bool raw_client_quiet(struct raw_client *c, int timeout_ms);
void raw_client_close(struct raw_client *c);

/* Checks a response envelope: {"jsonrpc":"2.0","id":<id>,"error":{"code":code,"message":...}}
 * with no other member; message is compared when non-NULL. id_json is the id as compact JSON
 * ("1", "\"a\"", "null"). Returns NULL when it matches, else a description (static buffer). */
const char *rpc_error_mismatch(json_t *resp, const char *id_json, int code, const char *message);
/* The error object alone (what rpc_client_call() returns): code, and message when non-NULL. */
const char *rpc_error_object_mismatch(json_t *error, int code, const char *message);
/* Likewise for {"jsonrpc":"2.0","id":<id>,"result":...}; *result is borrowed from resp. */
const char *rpc_result_mismatch(json_t *resp, const char *id_json, json_t **result);

#endif
