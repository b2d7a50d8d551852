/*
 * Bad params for every bdev RPC of a real vhostd: missing, unknown, wrongly typed or out-of-range
 * params (-32602 naming the parameter), unknown bdevs (-ENODEV), taken names (-EEXIST) -- and no
 * failed call may leave a bdev behind.
 */
#include "daemon.h"
#include "rpc_util.h"
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct test_daemon *daemon_under_test;
static char disk_path[256];

struct bad_call {
	const char *method;
	const char *params; /* "@FILE@" stands for a real, writable 1 MiB file */
	int code;
	const char *message; /* NULL: not checked (the backend words it) */
};

#define INVALID -32602

static const struct bad_call bad_calls[] = {
	/* bdev_malloc_create */
	{ "bdev_malloc_create", "{\"block_size\":512}", INVALID,
	  "Missing required parameter 'num_blocks'" },
	{ "bdev_malloc_create", "{\"num_blocks\":\"8\",\"block_size\":512}", INVALID,
	  "Parameter 'num_blocks' must be an unsigned integer" },
	{ "bdev_malloc_create", "{\"num_blocks\":-1,\"block_size\":512}", INVALID,
	  "Parameter 'num_blocks' must be an unsigned integer" },
	{ "bdev_malloc_create", "{\"num_blocks\":8,\"block_size\":4294967296}", INVALID,
	  "Parameter 'block_size' must be at most 4294967295" },
	{ "bdev_malloc_create", "{\"num_blocks\":8,\"block_size\":512,\"foo\":1}", INVALID,
	  "Unknown parameter 'foo'" },
	{ "bdev_malloc_create", "{\"name\":5,\"num_blocks\":8,\"block_size\":512}", INVALID,
	  "Parameter 'name' must be a string" },
	{ "bdev_malloc_create",
	  "{\"name\":\"Bad\",\"num_blocks\":8,\"block_size\":512,"
	  "\"uuid\":\"not-a-uuid\"}",
	  INVALID, NULL },
	{ "bdev_malloc_create", "{\"name\":\"Bad\",\"num_blocks\":8,\"block_size\":100}", -EINVAL,
	  NULL },
	{ "bdev_malloc_create", "{\"name\":\"Malloc0\",\"num_blocks\":8,\"block_size\":512}",
	  -EEXIST, "File exists" },
	{ "bdev_malloc_create", NULL, INVALID, "Missing required parameter 'num_blocks'" },
	/* bdev_malloc_delete */
	{ "bdev_malloc_delete", "{}", INVALID, "Missing required parameter 'name'" },
	{ "bdev_malloc_delete", "{\"name\":1}", INVALID, "Parameter 'name' must be a string" },
	{ "bdev_malloc_delete", "{\"name\":\"Malloc9\"}", -ENODEV, "No such device" },
	/* bdev_null_* */
	{ "bdev_null_create", "{\"num_blocks\":8,\"block_size\":512}", INVALID,
	  "Missing required parameter 'name'" },
	{ "bdev_null_create", "{\"name\":\"Bad\",\"num_blocks\":8,\"block_size\":\"512\"}", INVALID,
	  "Parameter 'block_size' must be an unsigned integer" },
	{ "bdev_null_create", "{\"name\":\"Null0\",\"num_blocks\":8,\"block_size\":512}", -EEXIST,
	  "File exists" },
	{ "bdev_null_delete", "{\"name\":\"nope\"}", -ENODEV, "No such device" },
	{ "bdev_null_delete", "{\"nmae\":\"Null0\"}", INVALID, "Unknown parameter 'nmae'" },
	{ "bdev_null_resize", "{\"name\":\"nope\",\"new_size\":1}", -ENODEV, "No such device" },
	{ "bdev_null_resize", "{\"name\":\"Null0\"}", INVALID,
	  "Missing required parameter 'new_size'" },
	{ "bdev_null_resize", "{\"name\":\"Null0\",\"new_size\":-5}", INVALID,
	  "Parameter 'new_size' must be an unsigned integer" },
	/* bdev_uring_* and bdev_aio_* */
	{ "bdev_uring_create", "{\"name\":\"Bad\"}", INVALID,
	  "Missing required parameter 'filename'" },
	{ "bdev_uring_create", "{\"name\":\"Bad\",\"filename\":\"/nonexistent/disk\"}", -ENOENT,
	  NULL },
	{ "bdev_uring_create", "{\"name\":\"Malloc0\",\"filename\":\"@FILE@\"}", -EEXIST, NULL },
	{ "bdev_uring_create", "{\"name\":\"Bad\",\"filename\":\"@FILE@\",\"block_size\":true}",
	  INVALID, "Parameter 'block_size' must be an unsigned integer" },
	{ "bdev_uring_delete", "{\"name\":\"nope\"}", -ENODEV, "No such device" },
	{ "bdev_uring_rescan", "{\"name\":\"nope\"}", -ENODEV, "No such device" },
	{ "bdev_aio_create", "{\"filename\":\"@FILE@\"}", INVALID,
	  "Missing required parameter 'name'" },
	{ "bdev_aio_create", "{\"name\":\"Bad\",\"filename\":\"/nonexistent/disk\"}", -ENOENT,
	  NULL },
	{ "bdev_aio_create", "{\"name\":\"Null0\",\"filename\":\"@FILE@\"}", -EEXIST, NULL },
	{ "bdev_aio_delete", "{\"name\":\"nope\"}", -ENODEV, "No such device" },
	{ "bdev_aio_rescan", "{\"name\":\"nope\"}", -ENODEV, "No such device" },
	/* bdev_error_* */
	{ "bdev_error_create", "{}", INVALID, "Missing required parameter 'base_name'" },
	{ "bdev_error_create", "{\"base_name\":\"nope\"}", -ENODEV, NULL },
	{ "bdev_error_delete", "{\"name\":\"nope\"}", -ENODEV, "No such device" },
	{ "bdev_error_inject_error", "{\"name\":\"EE_Malloc0\",\"error_type\":\"failure\"}",
	  INVALID, "Missing required parameter 'io_type'" },
	{ "bdev_error_inject_error",
	  "{\"name\":\"nope\",\"io_type\":\"read\","
	  "\"error_type\":\"failure\"}",
	  -ENODEV, NULL },
	{ "bdev_error_inject_error",
	  "{\"name\":\"EE_Malloc0\",\"io_type\":\"bogus\","
	  "\"error_type\":\"failure\"}",
	  -EINVAL, NULL },
	{ "bdev_error_inject_error",
	  "{\"name\":\"EE_Malloc0\",\"io_type\":\"read\","
	  "\"error_type\":\"failure\",\"num\":-1}",
	  INVALID, "Parameter 'num' must be an unsigned integer" },
	{ "bdev_error_inject_error",
	  "{\"name\":\"EE_Malloc0\",\"io_type\":\"read\","
	  "\"error_type\":\"corrupt_data\"}",
	  -EINVAL, NULL },
	{ "bdev_error_inject_error",
	  "{\"name\":\"EE_Malloc0\",\"io_type\":\"read\","
	  "\"error_type\":\"corrupt_data\",\"corrupt_value\":256}",
	  -EINVAL, NULL },
	{ "bdev_error_inject_error",
	  "{\"name\":\"EE_Malloc0\",\"io_type\":\"read\","
	  "\"error_type\":\"nomem\",\"queue_depth\":\"x\"}",
	  INVALID, "Parameter 'queue_depth' must be an unsigned integer" },
	{ "bdev_error_inject_error",
	  "{\"name\":\"EE_Malloc0\",\"io_type\":\"read\","
	  "\"error_type\":\"explode\"}",
	  -EINVAL, NULL },
	/* queries */
	{ "bdev_get_bdevs", "{\"name\":\"nope\"}", -ENODEV, "No such device" },
	{ "bdev_get_bdevs", "{\"name\":5}", INVALID, NULL },
	{ "bdev_get_bdevs", "{\"nam\":\"Malloc0\"}", INVALID, "Unknown parameter 'nam'" },
	{ "bdev_get_iostat", "{\"name\":\"nope\"}", -ENODEV, "No such device" },
};

/* The params text with @FILE@ replaced (static buffer). */
static const char *params_text(const char *params)
{
	static char out[1024];
	const char *at = params ? strstr(params, "@FILE@") : NULL;

	if (!at)
		return params;
	snprintf(out, sizeof(out), "%.*s%s%s", (int)(at - params), params, disk_path, at + 6);
	return out;
}

static void call_expect(const char *method, const char *params, int code, const char *message)
{
	json_t *result = NULL, *error = NULL;
	int rc = test_daemon_rpc(daemon_under_test, method, params_text(params), &result, &error);
	const char *problem = rc == 1 ? rpc_error_object_mismatch(error, code, message) : NULL;

	if (rc != 1)
		tap_fail(__FILE__, __LINE__, "%s %s: rc %d, expected an error %d", method,
			 params ? params : "(no params)", rc, code);
	else if (problem)
		tap_fail(__FILE__, __LINE__, "%s %s: %s", method, params ? params : "(no params)",
			 problem);
	json_decref(result);
	json_decref(error);
}

static void call_ok(const char *method, const char *params)
{
	json_t *result = NULL, *error = NULL;

	if (test_daemon_rpc(daemon_under_test, method, params, &result, &error) != 0)
		tap_fail(__FILE__, __LINE__, "%s %s failed", method, params);
	json_decref(result);
	json_decref(error);
}

static void test_setup_bdevs(void)
{
	int fd;

	snprintf(disk_path, sizeof(disk_path), "%s/disk.img", test_daemon_dir(daemon_under_test));
	fd = open(disk_path, O_CREAT | O_RDWR, 0600);
	REQUIRE(fd >= 0);
	CHECK(ftruncate(fd, 1 << 20) == 0);
	close(fd);
	call_ok("bdev_malloc_create",
		"{\"name\":\"Malloc0\",\"num_blocks\":2048,\"block_size\":512}");
	call_ok("bdev_null_create", "{\"name\":\"Null0\",\"num_blocks\":2048,\"block_size\":512}");
	call_ok("bdev_error_create", "{\"base_name\":\"Malloc0\"}");
}

static void test_bad_calls(void)
{
	for (size_t i = 0; i < sizeof(bad_calls) / sizeof(bad_calls[0]); i++) {
		const struct bad_call *b = &bad_calls[i];

		call_expect(b->method, b->params, b->code, b->message);
	}
}

static void test_params_not_an_object(void)
{
	call_expect("bdev_malloc_delete", "[\"Malloc0\"]", INVALID,
		    "Parameters must be a JSON object");
}

/* Every failed create above must have left nothing registered. */
static void test_no_leftover_bdevs(void)
{
	json_t *result = NULL, *error = NULL, *bdev;
	size_t i;

	REQUIRE(test_daemon_rpc(daemon_under_test, "bdev_get_bdevs", NULL, &result, &error) == 0);
	json_array_foreach(result, i, bdev) {
		const char *name = json_string_value(json_object_get(bdev, "name"));

		CHECK_MSG(name && (!strcmp(name, "Malloc0") || !strcmp(name, "Null0") ||
				   !strcmp(name, "EE_Malloc0")),
			  "unexpected bdev %s", name ? name : "(unnamed)");
	}
	CHECK_EQ(json_array_size(result), 3);
	json_decref(result);
}

static void test_stops_cleanly(void)
{
	CHECK(test_daemon_alive(daemon_under_test));
	CHECK(test_daemon_stop(daemon_under_test, NULL) == 0);
	daemon_under_test = NULL;
}

int main(int argc, char **argv)
{
	static const struct tap_test tests[] = {
		TAP_TEST(test_setup_bdevs),
		TAP_TEST(test_bad_calls),
		TAP_TEST(test_params_not_an_object),
		TAP_TEST(test_no_leftover_bdevs),
		TAP_TEST(test_stops_cleanly),
	};
	int rc;

	daemon_under_test = test_daemon_start("--poll never");
	if (!daemon_under_test) {
		printf("not ok 1 - vhostd starts\n1..1\n");
		return 1;
	}
	rc = tap_run(tests, TAP_COUNT(tests), argc, argv);
	if (daemon_under_test)
		test_daemon_stop(daemon_under_test, NULL);
	return rc;
}
