/* --config replay: good files in order, bad JSON, wrong shapes, first failure stops, async methods.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "rpc/rpc_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char path[] = "/tmp/vhostd-config-test.XXXXXX";
static json_t *calls;  /* the "tag" param of every test_record call, in order */
static int done_calls;
static int done_status;
static struct rpc_request *parked;

static void record_method(struct rpc_request *req, json_t *params)
{
	char *tag = NULL;
	const struct rpc_param spec[] = { { "tag", RPC_PARAM_STRING, &tag, false } };

	if (rpc_decode(req, params, spec, RPC_PARAMS_COUNT(spec)))
		return;
	json_array_append_new(calls, json_string(tag));
	free(tag);
	rpc_reply_bool(req, true);
}
RPC_REGISTER("test_record", record_method)

static void fail_method(struct rpc_request *req, json_t *params)
{
	(void)params;
	rpc_reply_errno(req, -ENOSPC, "no room for it");
}
RPC_REGISTER("test_fail", fail_method)

/* Answers later, when the test says so. */
static void park_method(struct rpc_request *req, json_t *params)
{
	(void)params;
	parked = req;
}
RPC_REGISTER("test_park", park_method)

static void on_done(int status, void *arg)
{
	assert_ptr_equal(arg, &done_calls);
	done_calls++;
	done_status = status;
}

static int setup(void **state)
{
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	calls = json_array();
	done_calls = 0;
	done_status = 1;
	parked = NULL;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	strcpy(path + strlen(path) - 6, "XXXXXX");
	json_decref(calls);
	return 0;
}

static void write_file(const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int load(const char *text)
{
	write_file(text);
	return rpc_config_load(path, on_done, &done_calls);
}

static void assert_calls(const char *expected_json)
{
	json_t *expected = json_loads(expected_json, 0, NULL);

	assert_non_null(expected);
	if (!json_equal(calls, expected)) {
		char *got = json_dumps(calls, JSON_COMPACT);

		fail_msg("calls %s, expected %s", got, expected_json);
	}
	json_decref(expected);
}

#define REC(tag) "{\"method\":\"test_record\",\"params\":{\"tag\":\"" tag "\"}}"
/* A document with one subsystem, bdev, whose config array holds entries. */
#define BDEV_CONFIG(entries) "{\"subsystems\":[{\"subsystem\":\"bdev\",\"config\":[" entries "]}]}"

static void test_good_file_replays_in_order(void **state)
{
	(void)state;
	assert_int_equal(load("{\"subsystems\":["
			      "{\"subsystem\":\"bdev\",\"config\":[" REC("a") "," REC("b") "]},"
			      "{\"subsystem\":\"empty\",\"config\":null},"
			      "{\"subsystem\":\"none\"},"
			      "{\"subsystem\":\"vhost_blk\",\"config\":[" REC("c") "]}]}"),
			 0);
	assert_int_equal(done_calls, 1);
	assert_int_equal(done_status, 0);
	assert_calls("[\"a\",\"b\",\"c\"]");
}

static void test_empty_subsystems(void **state)
{
	(void)state;
	assert_int_equal(load("{\"subsystems\":[]}"), 0);
	assert_int_equal(done_calls, 1);
	assert_int_equal(done_status, 0);
}

static void test_missing_file(void **state)
{
	(void)state;
	unlink(path);
	assert_int_equal(rpc_config_load(path, on_done, &done_calls), -ENOENT);
	assert_int_equal(done_calls, 0);
}

static void test_bad_json(void **state)
{
	(void)state;
	assert_int_equal(load("{\"subsystems\":[" REC("a") ","), -EINVAL);
	assert_int_equal(load(""), -EINVAL);
	assert_int_equal(done_calls, 0);
	assert_calls("[]");
}

static void test_wrong_shapes_apply_nothing(void **state)
{
	static const char *const bad[] = {
		"[]",
		"{}",
		"{\"subsystems\":{}}",
		"{\"subsystems\":[],\"extra\":1}",
		"{\"subsystems\":[5]}",
		"{\"subsystems\":[{\"config\":[]}]}",
		"{\"subsystems\":[{\"subsystem\":1,\"config\":[]}]}",
		"{\"subsystems\":[{\"subsystem\":\"bdev\",\"config\":{}}]}",
		"{\"subsystems\":[{\"subsystem\":\"bdev\",\"config\":[],\"x\":1}]}",
		/* a good entry first: the bad one after it must stop everything before replay */
		BDEV_CONFIG(REC("a") ",{\"params\":{}}"),
		BDEV_CONFIG(REC("a") ",{\"method\":\"test_record\",\"params\":[]}"),
		BDEV_CONFIG(REC("a") ",{\"method\":\"test_record\",\"param\":{}}"),
		"{\"subsystems\":[{\"subsystem\":\"bdev\",\"config\":[7]}]}",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (load(bad[i]) != -EINVAL)
			fail_msg("accepted: %s", bad[i]);
	}
	assert_int_equal(done_calls, 0);
	assert_calls("[]");
}

static void test_first_failure_stops(void **state)
{
	(void)state;
	assert_int_equal(load(BDEV_CONFIG(REC("a") ",{\"method\":\"test_fail\"}," REC("b"))), 0);
	assert_int_equal(done_calls, 1);
	assert_int_equal(done_status, -ENOSPC);
	assert_calls("[\"a\"]");
}

static void test_unknown_method_and_bad_params_fail(void **state)
{
	(void)state;
	assert_int_equal(load(BDEV_CONFIG("{\"method\":\"no_such_method\"}," REC("a"))), 0);
	assert_int_equal(done_status, -EINVAL);
	assert_int_equal(load(BDEV_CONFIG("{\"method\":\"test_record\",\"params\":{\"tag\":1}}")),
			 0);
	assert_int_equal(done_status, -EINVAL);
	assert_int_equal(done_calls, 2);
	assert_calls("[]");
}

static void test_async_method_waits(void **state)
{
	(void)state;
	assert_int_equal(load(BDEV_CONFIG(REC("a") ",{\"method\":\"test_park\"}," REC("b"))), 0);
	/* Parked: the next method must not run before the answer. */
	assert_non_null(parked);
	assert_int_equal(done_calls, 0);
	assert_calls("[\"a\"]");
	rpc_reply(parked, NULL);
	assert_int_equal(done_calls, 1);
	assert_int_equal(done_status, 0);
	assert_calls("[\"a\",\"b\"]");
}

static void test_async_failure_stops(void **state)
{
	(void)state;
	assert_int_equal(load(BDEV_CONFIG("{\"method\":\"test_park\"}," REC("b"))), 0);
	assert_non_null(parked);
	rpc_reply_errno(parked, EBUSY, NULL);
	assert_int_equal(done_calls, 1);
	assert_int_equal(done_status, -EBUSY);
	assert_calls("[]");
}

static json_t *wait_answer;

static void on_wait_answer(void *arg, json_t *result, json_t *error)
{
	(void)arg;
	wait_answer = json_incref(result ? result : error);
}

static void test_wait_init_follows_the_replay(void **state)
{
	(void)state;
	rpc_call("framework_wait_init", NULL, on_wait_answer, NULL);
	assert_true(json_is_true(wait_answer)); /* nothing replaying: at once */
	json_decref(wait_answer);
	wait_answer = NULL;

	assert_int_equal(load(BDEV_CONFIG("{\"method\":\"test_park\"}")), 0);
	rpc_call("framework_wait_init", NULL, on_wait_answer, NULL);
	assert_null(wait_answer);
	rpc_reply(parked, NULL);
	assert_int_equal(done_status, 0);
	assert_true(json_is_true(wait_answer));
	json_decref(wait_answer);
	wait_answer = NULL;

	assert_int_equal(load(BDEV_CONFIG("{\"method\":\"test_park\"}")), 0);
	rpc_call("framework_wait_init", NULL, on_wait_answer, NULL);
	rpc_reply_errno(parked, EIO, NULL);
	assert_int_equal(json_integer_value(json_object_get(wait_answer, "code")), -EIO);
	json_decref(wait_answer);
	wait_answer = NULL;
}

static void test_long_config_no_recursion(void **state)
{
	enum { N = 100000 };
	json_t *config = json_array(), *doc;
	char *text;

	(void)state;
	/* Synchronous answers must not nest one call per method (a deep stack would overflow). */
	for (int i = 0; i < N; i++)
		json_array_append_new(config, json_pack("{s:s, s:{s:s}}", "method", "test_record",
							"params", "tag", "t"));
	doc = json_pack("{s:[{s:s, s:o}]}", "subsystems", "subsystem", "bdev", "config", config);
	text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	assert_int_equal(load(text), 0);
	free(text);
	assert_int_equal(done_status, 0);
	assert_int_equal(json_array_size(calls), N);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_good_file_replays_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_subsystems, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_json, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_shapes_apply_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_first_failure_stops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_method_and_bad_params_fail, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_async_method_waits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_async_failure_stops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wait_init_follows_the_replay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_config_no_recursion, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
