/*
 * A real vhostd over its real RPC socket: the built-in methods, malformed traffic, many clients
 * at once. Each test uses the daemon started by main() and checks it is still alive afterwards.
 */
#include "daemon.h"
#include "rpc/rpc.h"
#include "rpc_util.h"
#include "tap.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define WAIT_MS 10000

static struct test_daemon *daemon_under_test;

/* Calls method and returns its result (NULL after recording a failure). Caller decrefs. */
static json_t *call_ok(const char *method, const char *params)
{
	json_t *result, *error;
	int rc = test_daemon_rpc(daemon_under_test, method, params, &result, &error);

	if (rc != 0) {
		char *text = error ? json_dumps(error, JSON_COMPACT) : NULL;

		tap_fail(__FILE__, __LINE__, "%s: rc %d error %s", method, rc, text ? text : "-");
		free(text);
		json_decref(error);
		return NULL;
	}
	return result;
}

static bool array_has_string(json_t *array, const char *s)
{
	json_t *v;
	size_t i;

	json_array_foreach(array, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
			return true;
	return false;
}

static void test_rpc_get_methods(void)
{
	static const char *const expected[] = {
		"rpc_get_methods", "spdk_get_version", "save_config", "framework_wait_init",
		"bdev_malloc_create", "bdev_get_bdevs", "vhost_create_blk_controller",
	};
	json_t *methods = call_ok("rpc_get_methods", NULL);

	REQUIRE(json_is_array(methods));
	for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++)
		CHECK_MSG(array_has_string(methods, expected[i]), "%s not listed", expected[i]);
	json_decref(methods);
}

static void test_spdk_get_version(void)
{
	json_t *v = call_ok("spdk_get_version", NULL), *fields;

	REQUIRE(v);
	CHECK(strncmp(json_string_value(json_object_get(v, "version")), "vhostd ", 7) == 0);
	fields = json_object_get(v, "fields");
	CHECK(json_is_integer(json_object_get(fields, "major")));
	CHECK(json_is_integer(json_object_get(fields, "minor")));
	CHECK(json_is_integer(json_object_get(fields, "patch")));
	CHECK(json_is_string(json_object_get(fields, "suffix")));
	json_decref(v);
}

static void test_framework_wait_init(void)
{
	json_t *v = call_ok("framework_wait_init", NULL);

	CHECK(json_is_true(v));
	json_decref(v);
}

static void test_save_config_shape(void)
{
	json_t *cfg = call_ok("save_config", NULL), *subsystems, *sub;
	const char *prev = NULL;
	size_t i;

	REQUIRE(cfg);
	subsystems = json_object_get(cfg, "subsystems");
	CHECK(json_object_size(cfg) == 1);
	REQUIRE(json_is_array(subsystems));
	json_array_foreach(subsystems, i, sub) {
		const char *name = json_string_value(json_object_get(sub, "subsystem"));

		REQUIRE(name);
		CHECK(json_is_array(json_object_get(sub, "config")));
		/* bdev comes before the controllers that use them */
		if (prev && strcmp(name, "bdev") == 0)
			tap_fail(__FILE__, __LINE__, "bdev after %s", prev);
		prev = name;
	}
	json_decref(cfg);
}

static void test_builtin_param_errors(void)
{
	json_t *result, *error;
	const char *problem;

	CHECK_EQ(test_daemon_rpc(daemon_under_test, "spdk_get_version", "{\"verbose\":true}",
				 &result, &error),
		 1);
	problem = rpc_error_object_mismatch(error, -32602, "Unknown parameter 'verbose'");
	CHECK_MSG(!problem, "%s", problem);
	json_decref(error);
	CHECK_EQ(test_daemon_rpc(daemon_under_test, "no_such_method", NULL, &result, &error), 1);
	problem = rpc_error_object_mismatch(error, -32601, "Method not found");
	CHECK_MSG(!problem, "%s", problem);
	json_decref(error);
}

static void test_socket_mode(void)
{
	struct stat st;

	REQUIRE(stat(test_daemon_rpc_path(daemon_under_test), &st) == 0);
	CHECK(S_ISSOCK(st.st_mode));
	CHECK_EQ(st.st_mode & 0777, 0600);
}

static struct raw_client *raw_connect(void)
{
	return raw_client_connect(test_daemon_rpc_path(daemon_under_test));
}

static void check_error(struct raw_client *c, const char *id, int code, const char *message)
{
	json_t *resp = raw_client_recv(c, WAIT_MS);
	const char *problem = rpc_error_mismatch(resp, id, code, message);

	CHECK_MSG(!problem, "%s", problem ? problem : "");
	json_decref(resp);
}

static void test_malformed_json(void)
{
	struct raw_client *c = raw_connect();

	REQUIRE(c);
	CHECK_EQ(raw_client_send_str(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":}"), 0);
	check_error(c, "null", -32700, "Parse error");
	CHECK(raw_client_wait_eof(c, WAIT_MS));
	raw_client_close(c);
}

static void test_invalid_requests(void)
{
	struct raw_client *c = raw_connect();

	REQUIRE(c);
	CHECK_EQ(raw_client_send_str(c, "{\"jsonrpc\":\"2.0\",\"id\":1}"
					"{\"id\":2,\"method\":\"spdk_get_version\"}"
					"[1]"
					"[]"),
		 0);
	check_error(c, "1", -32600, "Invalid request");
	check_error(c, "2", -32600, "Invalid request");
	{
		json_t *batch = raw_client_recv(c, WAIT_MS);
		const char *problem = rpc_error_mismatch(json_array_get(batch, 0), "null", -32600,
							 "Invalid request");

		CHECK(json_array_size(batch) == 1);
		CHECK_MSG(!problem, "%s", problem ? problem : "");
		json_decref(batch);
	}
	check_error(c, "null", -32600, "Invalid request");
	raw_client_close(c);
}

static void test_pipelined_halves_and_notifications(void)
{
	struct raw_client *c = raw_connect();
	json_t *resp, *result;
	const char *problem;

	REQUIRE(c);
	/* A notification, then a request cut in two, then a batch: answers for ids only. */
	CHECK_EQ(raw_client_send_str(c, "{\"jsonrpc\":\"2.0\",\"method\":\"spdk_get_version\"}"
					"{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"meth"),
		 0);
	CHECK(raw_client_quiet(c, 100));
	CHECK_EQ(raw_client_send_str(c, "od\":\"framework_wait_init\"}"
					"[{\"jsonrpc\":\"2.0\",\"id\":5,"
					"\"method\":\"spdk_get_version\"},"
					"{\"jsonrpc\":\"2.0\",\"method\":\"spdk_get_version\"}]"),
		 0);
	resp = raw_client_recv(c, WAIT_MS);
	problem = rpc_result_mismatch(resp, "\"a\"", &result);
	CHECK_MSG(!problem, "%s", problem ? problem : "");
	CHECK(json_is_true(result));
	json_decref(resp);
	resp = raw_client_recv(c, WAIT_MS);
	CHECK(json_is_array(resp) && json_array_size(resp) == 1);
	CHECK_EQ(json_integer_value(json_object_get(json_array_get(resp, 0), "id")), 5);
	json_decref(resp);
	raw_client_close(c);
}

static void test_disconnect_mid_request(void)
{
	struct raw_client *c = raw_connect();

	REQUIRE(c);
	CHECK_EQ(raw_client_send_str(c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"bdev_get_"), 0);
	raw_client_close(c);
	c = raw_connect();
	REQUIRE(c);
	CHECK_EQ(raw_client_send_str(c, "{\"jsonrpc\":\"2.0\",\"id\":1,"
					"\"method\":\"save_config\"}"),
		 0);
	raw_client_close(c); /* gone before the answer */
	json_decref(call_ok("spdk_get_version", NULL));
}

struct worker {
	pthread_t thread;
	int failures;
};

static void *client_worker(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < 50; i++) {
		json_t *result, *error;

		if (test_daemon_rpc(daemon_under_test, "bdev_get_bdevs", NULL, &result, &error))
			w->failures++;
		json_decref(result);
		json_decref(error);
	}
	return NULL;
}

static void test_many_clients_at_once(void)
{
	struct worker w[8] = { 0 };

	for (int i = 0; i < 8; i++)
		REQUIRE(pthread_create(&w[i].thread, NULL, client_worker, &w[i]) == 0);
	for (int i = 0; i < 8; i++) {
		pthread_join(w[i].thread, NULL);
		CHECK_EQ(w[i].failures, 0);
	}
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
		TAP_TEST(test_rpc_get_methods),
		TAP_TEST(test_spdk_get_version),
		TAP_TEST(test_framework_wait_init),
		TAP_TEST(test_save_config_shape),
		TAP_TEST(test_builtin_param_errors),
		TAP_TEST(test_socket_mode),
		TAP_TEST(test_malformed_json),
		TAP_TEST(test_invalid_requests),
		TAP_TEST(test_pipelined_halves_and_notifications),
		TAP_TEST(test_disconnect_mid_request),
		TAP_TEST(test_many_clients_at_once),
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
