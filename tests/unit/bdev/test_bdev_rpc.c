/* bdev RPCs through the daemon's own dispatch (rpc_call): SPDK names, params, results, errors. */
#include "bdev_test.h"

#include "rpc/rpc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A 64-block malloc bdev called M. */
#define MALLOC_M "{\"name\":\"M\",\"num_blocks\":64,\"block_size\":512}"

struct reply {
	bool done;
	json_t *result;
	json_t *error;
};

static void call_done(void *arg, json_t *result, json_t *error)
{
	struct reply *r = arg;

	r->done = true;
	r->result = json_incref(result);
	r->error = json_incref(error);
}

/* Calls method with params given as JSON text; returns the result (NULL on error, *code set). */
static json_t *call(const char *method, const char *params, int *code)
{
	struct reply r = { 0 };
	json_t *p = params ? json_loads(params, 0, NULL) : NULL;

	assert_true(!params || p);
	rpc_call(method, p, call_done, &r);
	assert_true(test_reactor_run_until(&r.done));
	*code = 0;
	if (r.error) {
		*code = (int)json_integer_value(json_object_get(r.error, "code"));
		json_decref(r.error);
	}
	return r.result;
}

static void call_ok(const char *method, const char *params, json_t **out)
{
	int code;
	json_t *res = call(method, params, &code);

	assert_int_equal(code, 0);
	assert_non_null(res);
	if (out)
		*out = res;
	else
		json_decref(res);
}

static int call_err(const char *method, const char *params, const char *message)
{
	struct reply r = { 0 };
	json_t *p = params ? json_loads(params, 0, NULL) : NULL;
	int code;

	rpc_call(method, p, call_done, &r);
	assert_true(test_reactor_run_until(&r.done));
	assert_null(r.result);
	assert_non_null(r.error);
	code = (int)json_integer_value(json_object_get(r.error, "code"));
	if (message)
		assert_string_equal(json_string_value(json_object_get(r.error, "message")),
				    message);
	json_decref(r.error);
	return code;
}

static void test_malloc_create_returns_name(void **state)
{
	char params[64];
	json_t *res;

	(void)state;
	call_ok("bdev_malloc_create", MALLOC_M, &res);
	assert_string_equal(json_string_value(res), "M");
	json_decref(res);
	call_ok("bdev_malloc_create", "{\"num_blocks\":64,\"block_size\":4096}", &res);
	assert_int_equal(strncmp(json_string_value(res), "Malloc", 6), 0);
	snprintf(params, sizeof(params), "{\"name\":\"%s\"}", json_string_value(res));
	call_ok("bdev_malloc_delete", params, NULL);
	json_decref(res);
	assert_int_equal(call_err("bdev_malloc_create",
				  "{\"name\":\"M\",\"num_blocks\":64,\"block_size\":512}",
				  "File exists"),
			 -EEXIST);
	assert_int_equal(call_err("bdev_malloc_create", "{\"name\":\"X\",\"block_size\":512}",
				  NULL),
			 RPC_ERR_INVALID_PARAMS);
	assert_int_equal(call_err("bdev_malloc_create",
				  "{\"num_blocks\":8,\"block_size\":512,\"uuid\":\"zz\"}", NULL),
			 RPC_ERR_INVALID_PARAMS);
	assert_int_equal(call_err("bdev_malloc_delete", "{\"name\":\"nope\"}", "No such device"),
			 -ENODEV);
	call_ok("bdev_malloc_delete", "{\"name\":\"M\"}", &res);
	assert_true(json_is_true(res));
	json_decref(res);
}

static void test_get_bdevs_shape(void **state)
{
	json_t *res, *b, *types;

	(void)state;
	call_ok("bdev_malloc_create",
		"{\"name\":\"M\",\"num_blocks\":64,\"block_size\":512,"
		"\"uuid\":\"5a3c1f7e-1111-4222-8333-444455556666\"}",
		NULL);
	call_ok("bdev_null_create", "{\"name\":\"N\",\"num_blocks\":8,\"block_size\":4096}", NULL);
	call_ok("bdev_get_bdevs", NULL, &res);
	assert_int_equal(json_array_size(res), 2);
	json_decref(res);
	call_ok("bdev_get_bdevs", "{\"name\":\"M\"}", &res);
	assert_int_equal(json_array_size(res), 1);
	b = json_array_get(res, 0);
	assert_string_equal(json_string_value(json_object_get(b, "name")), "M");
	assert_string_equal(json_string_value(json_object_get(b, "product_name")), "Malloc disk");
	assert_int_equal(json_integer_value(json_object_get(b, "block_size")), 512);
	assert_int_equal(json_integer_value(json_object_get(b, "num_blocks")), 64);
	assert_string_equal(json_string_value(json_object_get(b, "uuid")),
			    "5a3c1f7e-1111-4222-8333-444455556666");
	assert_true(json_is_array(json_object_get(b, "aliases")));
	assert_true(json_is_false(json_object_get(b, "claimed")));
	assert_true(json_is_object(json_object_get(b, "driver_specific")));
	types = json_object_get(b, "supported_io_types");
	assert_true(json_is_true(json_object_get(types, "read")));
	assert_true(json_is_true(json_object_get(types, "unmap")));
	assert_true(json_is_true(json_object_get(types, "write_zeroes")));
	assert_true(json_is_false(json_object_get(types, "reset")));
	json_decref(res);
	call_ok("bdev_get_bdevs", "{\"name\":\"N\"}", &res);
	types = json_object_get(json_array_get(res, 0), "supported_io_types");
	assert_true(json_is_false(json_object_get(types, "flush")));
	json_decref(res);
	assert_int_equal(call_err("bdev_get_bdevs", "{\"name\":\"nope\"}", "No such device"),
			 -ENODEV);
	assert_int_equal(call_err("bdev_get_bdevs", "{\"name\":3}", NULL), RPC_ERR_INVALID_PARAMS);
	call_ok("bdev_null_delete", "{\"name\":\"N\"}", NULL);
	call_ok("bdev_malloc_delete", "{\"name\":\"M\"}", NULL);
}

static void test_get_iostat_shape(void **state)
{
	struct test_events ev = { 0 };
	struct bdev_channel *ch;
	uint8_t buf[1024];
	json_t *res, *b;

	(void)state;
	call_ok("bdev_malloc_create", MALLOC_M, NULL);
	assert_int_equal(test_open("M", &ev), 0);
	ch = bdev_channel_get(ev.desc);
	assert_int_equal(test_io_run(ch, BDEV_IO_READ, 0, 2, buf, sizeof(buf)), 0);
	assert_int_equal(test_io_run(ch, BDEV_IO_WRITE, 0, 1, buf, 512), 0);
	call_ok("bdev_get_iostat", "{\"name\":\"M\"}", &res);
	assert_true(json_integer_value(json_object_get(res, "tick_rate")) > 0);
	assert_true(json_integer_value(json_object_get(res, "ticks")) > 0);
	b = json_array_get(json_object_get(res, "bdevs"), 0);
	assert_string_equal(json_string_value(json_object_get(b, "name")), "M");
	assert_int_equal(json_integer_value(json_object_get(b, "bytes_read")), 1024);
	assert_int_equal(json_integer_value(json_object_get(b, "num_read_ops")), 1);
	assert_int_equal(json_integer_value(json_object_get(b, "bytes_written")), 512);
	assert_int_equal(json_integer_value(json_object_get(b, "num_write_ops")), 1);
	assert_true(json_integer_value(json_object_get(b, "read_latency_ticks")) > 0);
	assert_non_null(json_object_get(b, "bytes_unmapped"));
	json_decref(res);
	call_ok("bdev_get_iostat", "{\"names\":[\"M\"]}", &res);
	assert_int_equal(json_array_size(json_object_get(res, "bdevs")), 1);
	json_decref(res);
	call_ok("bdev_get_iostat", NULL, &res);
	assert_int_equal(json_array_size(json_object_get(res, "bdevs")), 1);
	json_decref(res);
	assert_int_equal(call_err("bdev_get_iostat", "{\"name\":\"nope\"}", "No such device"),
			 -ENODEV);
	bdev_channel_put(ch);
	bdev_close(ev.desc);
	call_ok("bdev_malloc_delete", "{\"name\":\"M\"}", NULL);
}

static void test_null_resize_and_error_rpcs(void **state)
{
	json_t *res;

	(void)state;
	call_ok("bdev_null_create", "{\"name\":\"N\",\"num_blocks\":2048,\"block_size\":512}",
		&res);
	assert_string_equal(json_string_value(res), "N");
	json_decref(res);
	call_ok("bdev_null_resize", "{\"name\":\"N\",\"new_size\":2}", NULL);
	assert_int_equal(bdev_num_blocks(bdev_get_by_name("N")), 4096);
	assert_int_equal(call_err("bdev_null_resize", "{\"name\":\"N\",\"new_size\":1}", NULL),
			 -EINVAL);
	call_ok("bdev_error_create", "{\"base_name\":\"N\"}", &res);
	assert_true(json_is_true(res)); /* SPDK answers true, the name is EE_<base> */
	json_decref(res);
	assert_non_null(bdev_get_by_name("EE_N"));
	call_ok("bdev_error_inject_error",
		"{\"name\":\"EE_N\",\"io_type\":\"read\",\"error_type\":\"failure\","
		"\"num\":2}", NULL);
	call_ok("bdev_error_inject_error",
		"{\"name\":\"EE_N\",\"io_type\":\"all\",\"error_type\":\"corrupt_data\","
		"\"num\":1,\"queue_depth\":4,\"corrupt_offset\":9,\"corrupt_value\":255}", NULL);
	call_ok("bdev_error_inject_error",
		"{\"name\":\"EE_N\",\"io_type\":\"write\",\"error_type\":\"nomem\"}", NULL);
	call_ok("bdev_error_inject_error",
		"{\"name\":\"EE_N\",\"io_type\":\"clear\",\"error_type\":\"failure\"}", NULL);
	assert_int_equal(call_err("bdev_error_inject_error",
				  "{\"name\":\"EE_N\",\"io_type\":\"bogus\","
				  "\"error_type\":\"failure\"}",
				  NULL),
			 -EINVAL);
	assert_int_equal(call_err("bdev_error_inject_error",
				  "{\"name\":\"N\",\"io_type\":\"read\",\"error_type\":"
				  "\"failure\"}",
				  "No such device"),
			 -ENODEV);
	call_ok("bdev_get_bdevs", "{\"name\":\"N\"}", &res);
	assert_true(json_is_true(json_object_get(json_array_get(res, 0), "claimed")));
	json_decref(res);
	call_ok("bdev_error_delete", "{\"name\":\"EE_N\"}", NULL);
	call_ok("bdev_null_delete", "{\"name\":\"N\"}", NULL);
}

static void test_file_rpcs(void **state)
{
	char params[256], path[64];
	json_t *res;
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "/var/tmp/vhostd-rpc-test-%d", getpid());
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(ftruncate(fileno(f), 1 << 20), 0);
	fclose(f);
	snprintf(params, sizeof(params), "{\"name\":\"U\",\"filename\":\"%s\"}", path);
	call_ok("bdev_uring_create", params, &res);
	assert_string_equal(json_string_value(res), "U");
	json_decref(res);
	snprintf(params, sizeof(params), "{\"name\":\"A\",\"filename\":\"%s\",\"block_size\":4096}",
		 path);
	call_ok("bdev_aio_create", params, &res);
	assert_string_equal(json_string_value(res), "A");
	json_decref(res);
	assert_int_equal(bdev_get_by_name("A")->block_size, 4096);
	assert_int_equal(truncate(path, 2 << 20), 0);
	call_ok("bdev_uring_rescan", "{\"name\":\"U\"}", NULL);
	call_ok("bdev_aio_rescan", "{\"name\":\"A\"}", NULL);
	assert_int_equal(bdev_num_blocks(bdev_get_by_name("U")), 4096);
	assert_int_equal(bdev_num_blocks(bdev_get_by_name("A")), 512);
	assert_int_equal(call_err("bdev_uring_rescan", "{\"name\":\"A\"}", NULL), -ENODEV);
	call_ok("bdev_get_bdevs", "{\"name\":\"U\"}", &res);
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(json_object_get(json_array_get(res, 0),
								    "driver_specific"),
						    "uring"),
				    "filename")),
			    path);
	json_decref(res);
	assert_int_equal(call_err("bdev_aio_create",
				  "{\"name\":\"B\",\"filename\":\"/nonexistent/file\"}",
				  "No such file or directory"),
			 -ENOENT);
	call_ok("bdev_uring_delete", "{\"name\":\"U\"}", NULL);
	call_ok("bdev_aio_delete", "{\"name\":\"A\"}", NULL);
	unlink(path);
}

/* save_config: each bdev's create method, bases before the error bdevs stacked on them, and the
 * output replays into the same set of bdevs. */
static void test_save_config(void **state)
{
	json_t *config = json_array(), *entry;
	char uuid_m[37], uuid_again[37];
	size_t i;

	(void)state;
	call_ok("bdev_malloc_create", MALLOC_M, NULL);
	call_ok("bdev_error_create", "{\"base_name\":\"M\"}", NULL);
	call_ok("bdev_null_create", "{\"name\":\"N\",\"num_blocks\":8,\"block_size\":512}", NULL);
	bdev_config_write(config);
	assert_int_equal(json_array_size(config), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(config, 0), "method")),
			    "bdev_malloc_create");
	assert_string_equal(json_string_value(json_object_get(json_array_get(config, 1), "method")),
			    "bdev_error_create");
	assert_string_equal(json_string_value(json_object_get(json_array_get(config, 2), "method")),
			    "bdev_null_create");
	/* Replay after deleting everything: same names, same uuids. */
	bdev_uuid_format(bdev_get_by_name("M"), uuid_m);
	call_ok("bdev_error_delete", "{\"name\":\"EE_M\"}", NULL);
	call_ok("bdev_malloc_delete", "{\"name\":\"M\"}", NULL);
	call_ok("bdev_null_delete", "{\"name\":\"N\"}", NULL);
	json_array_foreach(config, i, entry) {
		json_t *params = json_object_get(entry, "params");
		char *text = json_dumps(params, 0);

		call_ok(json_string_value(json_object_get(entry, "method")), text, NULL);
		free(text);
	}
	assert_non_null(bdev_get_by_name("EE_M"));
	assert_non_null(bdev_get_by_name("N"));
	bdev_uuid_format(bdev_get_by_name("M"), uuid_again);
	assert_string_equal(uuid_m, uuid_again);
	json_decref(config);
	call_ok("bdev_error_delete", "{\"name\":\"EE_M\"}", NULL);
	call_ok("bdev_malloc_delete", "{\"name\":\"M\"}", NULL);
	call_ok("bdev_null_delete", "{\"name\":\"N\"}", NULL);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, bdev_test_setup, bdev_test_teardown)
	const struct CMUnitTest tests[] = {
		T(test_malloc_create_returns_name),
		T(test_get_bdevs_shape),
		T(test_get_iostat_shape),
		T(test_null_resize_and_error_rpcs),
		T(test_file_rpcs),
		T(test_save_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
