/*
 * Config round trip and start-up paths of a real vhostd: save_config, restart with --config, the
 * same bdevs and controllers come back; a bad config stops the daemon naming the failing method;
 * a stale RPC socket is replaced and a live one refused.
 */
#include "daemon.h"
#include "rpc_util.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define EXIT_WAIT_MS 20000

static char work_dir[] = "/tmp/vhostd-config-it.XXXXXX";

static json_t *call_ok(struct test_daemon *d, const char *method, const char *params)
{
	json_t *result = NULL, *error = NULL;
	int rc = test_daemon_rpc(d, method, params, &result, &error);

	if (rc != 0) {
		char *text = error ? json_dumps(error, JSON_COMPACT) : NULL;

		tap_fail(__FILE__, __LINE__, "%s %s: rc %d %s", method, params ? params : "", rc,
			 text ? text : "");
		free(text);
	}
	json_decref(error);
	return result;
}

static void file_write(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		tap_fail(__FILE__, __LINE__, "cannot write %s", path);
		return;
	}
	fputs(text, f);
	fclose(f);
}

/* bdev_get_bdevs reduced to what a restart must preserve, keyed by name. */
static json_t *bdev_identity(struct test_daemon *d)
{
	json_t *bdevs = call_ok(d, "bdev_get_bdevs", NULL), *out = json_object(), *b;
	size_t i;

	json_array_foreach(bdevs, i, b)
		json_object_set_new(out, json_string_value(json_object_get(b, "name")),
				    json_pack("{s:O, s:O, s:O, s:O}", "block_size",
					      json_object_get(b, "block_size"), "num_blocks",
					      json_object_get(b, "num_blocks"), "uuid",
					      json_object_get(b, "uuid"), "product_name",
					      json_object_get(b, "product_name")));
	json_decref(bdevs);
	return out;
}

static void check_same(json_t *before, json_t *after, const char *what)
{
	if (!json_equal(before, after)) {
		char *a = json_dumps(before, JSON_COMPACT), *b = json_dumps(after, JSON_COMPACT);

		tap_fail(__FILE__, __LINE__, "%s differ after restart:\n#  before %s\n#  after  %s",
			 what, a, b);
		free(a);
		free(b);
	}
}

static void test_save_config_restart_same_bdevs(void)
{
	struct test_daemon *d = test_daemon_start("--poll never");
	json_t *config, *bdevs_before, *bdevs_after, *config_after;
	char path[256], args[320];
	char *text;

	REQUIRE(d);
	json_decref(call_ok(d, "bdev_malloc_create",
			    "{\"name\":\"Malloc0\",\"num_blocks\":4096,\"block_size\":512}"));
	json_decref(call_ok(d, "bdev_malloc_create",
			    "{\"name\":\"Malloc1\",\"num_blocks\":256,\"block_size\":4096,"
			    "\"uuid\":\"0a1b2c3d-0000-4000-8000-00000000abcd\"}"));
	json_decref(call_ok(d, "bdev_null_create",
			    "{\"name\":\"Null0\",\"num_blocks\":1024,\"block_size\":512}"));
	json_decref(call_ok(d, "bdev_null_resize", "{\"name\":\"Null0\",\"new_size\":2}"));
	json_decref(call_ok(d, "vhost_create_blk_controller",
			    "{\"ctrlr\":\"vhost.0\",\"dev_name\":\"Malloc1\"}"));
	bdevs_before = bdev_identity(d);
	config = call_ok(d, "save_config", NULL);
	CHECK(test_daemon_stop(d, NULL) == 0);
	REQUIRE(config);

	snprintf(path, sizeof(path), "%s/saved.json", work_dir);
	text = json_dumps(config, JSON_INDENT(2));
	file_write(path, text);
	free(text);
	snprintf(args, sizeof(args), "--poll never --config %s", path);
	d = test_daemon_start(args);
	REQUIRE(d);
	json_decref(call_ok(d, "framework_wait_init", NULL));
	bdevs_after = bdev_identity(d);
	check_same(bdevs_before, bdevs_after, "bdevs");
	CHECK_EQ(json_object_size(bdevs_after), 3);
	/* Saving again gives the very same bdev config. */
	config_after = call_ok(d, "save_config", NULL);
	check_same(json_object_get(json_array_get(json_object_get(config, "subsystems"), 0),
				   "config"),
		   json_object_get(json_array_get(json_object_get(config_after, "subsystems"), 0),
				   "config"),
		   "bdev configs");
	CHECK(test_daemon_stop(d, NULL) == 0);
	json_decref(config);
	json_decref(config_after);
	json_decref(bdevs_before);
	json_decref(bdevs_after);
	unlink(path);
}

/* Runs vhostd with args (the config at path holds text) and expects exit status 1 and a log line
 * containing every string of expected[]. */
static void expect_config_refused(const char *text, const char *const *expected, int nexpected)
{
	char path[256], args[320];
	struct test_daemon_opts opts = { .extra_args = args };
	struct test_daemon_exit e;
	char *log = NULL;

	snprintf(path, sizeof(path), "%s/bad.json", work_dir);
	file_write(path, text);
	snprintf(args, sizeof(args), "--poll never --config %s", path);
	REQUIRE(test_daemon_run_to_exit(&opts, EXIT_WAIT_MS, &e, &log) == 0);
	CHECK_MSG(e.exited && e.status != 0 && !e.crashed, "exited %d status %d signal %d",
		  e.exited, e.status, e.signal);
	for (int i = 0; i < nexpected; i++)
		CHECK_MSG(log && strstr(log, expected[i]), "log lacks '%s':\n%s", expected[i],
			  log ? log : "(none)");
	free(log);
	unlink(path);
}

static void test_failing_method_stops_startup(void)
{
	static const char *const expected[] = { "subsystems[1]", "vhost_blk",
						"vhost_create_blk_controller", "No such device" };

	expect_config_refused("{\"subsystems\":["
			      "{\"subsystem\":\"bdev\",\"config\":["
			      "{\"method\":\"bdev_malloc_create\",\"params\":"
			      "{\"name\":\"M0\",\"num_blocks\":64,\"block_size\":512}}]},"
			      "{\"subsystem\":\"vhost_blk\",\"config\":["
			      "{\"method\":\"vhost_create_blk_controller\","
			      "\"params\":{\"ctrlr\":\"c0\",\"dev_name\":\"Missing0\"}}]}]}",
			      expected, 4);
}

static void test_unknown_method_stops_startup(void)
{
	static const char *const expected[] = { "no_such_method", "Method not found" };

	expect_config_refused("{\"subsystems\":[{\"subsystem\":\"bdev\",\"config\":["
			      "{\"method\":\"no_such_method\"}]}]}",
			      expected, 2);
}

static void test_bad_json_config(void)
{
	static const char *const expected[] = { "line 1" };

	expect_config_refused("{\"subsystems\":[", expected, 1);
}

static void test_wrong_shape_config(void)
{
	static const char *const expected[] = { "subsystems[0]", "config[0]" };

	expect_config_refused("{\"subsystems\":[{\"subsystem\":\"bdev\","
			      "\"config\":[{\"params\":{}}]}]}",
			      expected, 2);
}

static void test_stale_socket_replaced_live_refused(void)
{
	char shared[200];
	struct test_daemon_opts opts = { .extra_args = "--poll never", .rpc_path = shared };
	struct test_daemon *a, *b;
	struct test_daemon_exit e;
	char *log = NULL;

	snprintf(shared, sizeof(shared), "%s/shared.sock", work_dir);
	a = test_daemon_start_opts(&opts);
	REQUIRE(a);
	/* Dies without cleaning up: its socket file stays behind, stale. */
	test_daemon_kill(a);
	CHECK(access(shared, F_OK) == 0);

	b = test_daemon_start_opts(&opts);
	REQUIRE(b);
	json_decref(call_ok(b, "spdk_get_version", NULL));

	/* b is alive: a third daemon on the same path must refuse, leaving b's socket alone. */
	REQUIRE(test_daemon_run_to_exit(&opts, EXIT_WAIT_MS, &e, &log) == 0);
	CHECK_MSG(e.exited && e.status != 0, "exited %d status %d", e.exited, e.status);
	CHECK_MSG(log && strstr(log, "in use"), "log: %s", log ? log : "(none)");
	free(log);
	json_decref(call_ok(b, "spdk_get_version", NULL));
	CHECK(test_daemon_stop(b, NULL) == 0);
	CHECK(access(shared, F_OK) != 0); /* a clean stop removes its socket */
}

int main(int argc, char **argv)
{
	static const struct tap_test tests[] = {
		TAP_TEST(test_save_config_restart_same_bdevs),
		TAP_TEST(test_failing_method_stops_startup),
		TAP_TEST(test_unknown_method_stops_startup),
		TAP_TEST(test_bad_json_config),
		TAP_TEST(test_wrong_shape_config),
		TAP_TEST(test_stale_socket_replaced_live_refused),
	};
	int rc;

	if (!mkdtemp(work_dir)) {
		printf("not ok 1 - mkdtemp\n1..1\n");
		return 1;
	}
	rc = tap_run(tests, TAP_COUNT(tests), argc, argv);
	rmdir(work_dir);
	return rc;
}
