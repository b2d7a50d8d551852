/*
 * Shared by the vhost-blk integration tests: RPC calls that record failures, connecting a front-end
 * to a controller of a real vhostd, the config space, scratch files.
 *
 * Every helper that can fail records the failure (file:line of the caller) and returns false/NULL,
 * so a test can REQUIRE on it.
 */
#ifndef VHOSTD_TESTS_BLK_TEST_H
#define VHOSTD_TESTS_BLK_TEST_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <jansson.h>
#include <linux/virtio_blk.h>

#include "daemon.h"
#include "frontend/frontend.h"

#define BT_TIMEOUT_MS 10000

/* JSON text to a json_t * for the calls below (NULL for a text that does not parse). */
json_t *bt_json(const char *text);

/* A call that must succeed: returns its result (caller decrefs), or NULL with a failure recorded.
 * params: json_t * (stolen) or NULL. */
json_t *bt_call_at(const char *file, int line, struct test_daemon *d, const char *method,
		   json_t *params);
#define bt_call(d, method, params) bt_call_at(__FILE__, __LINE__, d, method, params)
/* The same when only success matters. */
bool bt_ok_at(const char *file, int line, struct test_daemon *d, const char *method,
	      json_t *params);
#define bt_ok(d, method, params) bt_ok_at(__FILE__, __LINE__, d, method, params)
/* A call that must fail with code; when text is not NULL, the error's message or data must
 * contain it. */
bool bt_fails_at(const char *file, int line, struct test_daemon *d, const char *method,
		 json_t *params, int code, const char *text);
#define bt_fails(d, method, params, code, text)                                                    \
	bt_fails_at(__FILE__, __LINE__, d, method, params, code, text)

/* bdev and controller shorthands. */
#define bt_malloc(d, name, num_blocks, block_size)                                                 \
	bt_ok(d, "bdev_malloc_create",                                                             \
	      json_pack("{s:s, s:I, s:i}", "name", name, "num_blocks", (json_int_t)(num_blocks),   \
			"block_size", (int)(block_size)))
#define bt_ctrlr(d, ctrlr, bdev)                                                                   \
	bt_ok(d, "vhost_create_blk_controller",                                                    \
	      json_pack("{s:s, s:s}", "ctrlr", ctrlr, "dev_name", bdev))

/* DIR/<ctrlr> of the daemon (static buffer). */
const char *bt_socket(struct test_daemon *d, const char *ctrlr);
/* Whether the controller is listed by vhost_get_controllers (no failure recorded). */
bool bt_listed(struct test_daemon *d, const char *ctrlr);
/* Deletes a controller, retrying while a front-end that just closed is still being torn down. */
bool bt_delete_ctrlr_at(const char *file, int line, struct test_daemon *d, const char *ctrlr);
#define bt_delete_ctrlr(d, ctrlr) bt_delete_ctrlr_at(__FILE__, __LINE__, d, ctrlr)

/* Connects to ctrlr with opts (NULL: defaults); path is filled in and want_features 0 becomes
 * "all offered". */
struct vu_front *bt_connect_at(const char *file, int line, struct test_daemon *d, const char *ctrlr,
			       const struct vu_front_opts *opts);
/* Variadic: opts may be a compound literal with commas in it. */
#define bt_connect(d, ctrlr, ...) bt_connect_at(__FILE__, __LINE__, d, ctrlr, __VA_ARGS__)
/* GET_CONFIG of the whole virtio-blk config space. */
bool bt_config_at(const char *file, int line, struct vu_front *f, struct virtio_blk_config *cfg);
#define bt_config(f, cfg) bt_config_at(__FILE__, __LINE__, f, cfg)

/* A file of size bytes in /var/tmp (a real filesystem, unlike a tmpfs /tmp): its path in path. */
bool bt_file_create(char *path, size_t pathlen, const char *tag, off_t size);
/* Compares len bytes at offset of a file with buf. */
bool bt_file_equals(const char *path, off_t offset, const void *buf, size_t len);

#endif
