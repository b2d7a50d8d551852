/*
 * Shared by the integration tests that drive a real vhostd (daemon.h): RPC calls that record
 * failures, bdev and controller shorthands, connecting a front-end to a controller, scratch files.
 *
 * Every helper that can fail records the failure (file:line of the caller) and returns false/NULL,
 * so a test can REQUIRE on it.
 */
#ifndef VHOSTD_TESTS_IT_UTIL_H
#define VHOSTD_TESTS_IT_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <jansson.h>

#include "daemon.h"
#include "frontend/frontend.h"

#define IT_TIMEOUT_MS 10000

/* JSON text to a json_t * for the calls below (NULL for a text that does not parse). */
json_t *it_json(const char *text);

/* A call that must succeed: returns its result (caller decrefs), or NULL with a failure recorded.
 * params: json_t * (stolen) or NULL. */
json_t *it_call_at(const char *file, int line, struct test_daemon *d, const char *method,
		   json_t *params);
#define it_call(d, method, params) it_call_at(__FILE__, __LINE__, d, method, params)
/* The same when only success matters. */
bool it_ok_at(const char *file, int line, struct test_daemon *d, const char *method,
	      json_t *params);
#define it_ok(d, method, params) it_ok_at(__FILE__, __LINE__, d, method, params)
/* A call that must fail with code; when text is not NULL, the error's message or data must
 * contain it. */
bool it_fails_at(const char *file, int line, struct test_daemon *d, const char *method,
		 json_t *params, int code, const char *text);
#define it_fails(d, method, params, code, text)                                                    \
	it_fails_at(__FILE__, __LINE__, d, method, params, code, text)

/* A malloc bdev. */
#define it_malloc(d, name, num_blocks, block_size)                                                 \
	it_ok(d, "bdev_malloc_create",                                                             \
	      json_pack("{s:s, s:I, s:i}", "name", name, "num_blocks", (json_int_t)(num_blocks),   \
			"block_size", (int)(block_size)))

/* DIR/<ctrlr> of the daemon (static buffer). */
const char *it_socket(struct test_daemon *d, const char *ctrlr);
/* Whether the controller is listed by vhost_get_controllers (no failure recorded). */
bool it_listed(struct test_daemon *d, const char *ctrlr);
/* Deletes a controller, retrying while a front-end that just closed is still being torn down. */
bool it_delete_ctrlr_at(const char *file, int line, struct test_daemon *d, const char *ctrlr);
#define it_delete_ctrlr(d, ctrlr) it_delete_ctrlr_at(__FILE__, __LINE__, d, ctrlr)

/* Connects to ctrlr with opts (NULL: defaults); path is filled in and want_features 0 becomes
 * "all offered". */
struct vu_front *it_connect_at(const char *file, int line, struct test_daemon *d, const char *ctrlr,
			       const struct vu_front_opts *opts);
/* Variadic: opts may be a compound literal with commas in it. */
#define it_connect(d, ctrlr, ...) it_connect_at(__FILE__, __LINE__, d, ctrlr, __VA_ARGS__)

/* A file of size bytes in /var/tmp (a real filesystem, unlike a tmpfs /tmp): its path in path. */
bool it_file_create(char *path, size_t pathlen, const char *tag, off_t size);
/* The same in dir (/dev/shm: an image vhostd maps). */
bool it_file_create_in(const char *dir, char *path, size_t pathlen, const char *tag, off_t size);
/* Compares len bytes at offset of a file with buf. */
bool it_file_equals(const char *path, off_t offset, const void *buf, size_t len);

#endif
