/* vhostctl against a real vhostd: output, --json, error lines and exit statuses. */
#include "daemon.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static struct test_daemon *daemon_under_test;
static char vhostctl[512];

/* Runs a shell command; returns its exit status and stdout+stderr in *out (caller frees). */
static int run_cmd(const char *cmd, char **out)
{
	size_t len = 0;
	FILE *p = popen(cmd, "r"), *mem = open_memstream(out, &len);
	char buf[4096];
	size_t n;
	int status;

	if (!p || !mem) {
		if (p)
			pclose(p);
		if (mem)
			fclose(mem);
		return -1;
	}
	while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
		fwrite(buf, 1, n, mem);
	status = pclose(p);
	fclose(mem);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* vhostctl -s SOCK ARGS */
static int run(const char *args, char **out)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "%s -s %s %s 2>&1", vhostctl,
		 test_daemon_rpc_path(daemon_under_test), args);
	return run_cmd(cmd, out);
}

/* Runs args and checks the exit status and that the output contains expected (or is exactly
 * it, when exact). */
static void expect(const char *args, int status, const char *expected, bool exact)
{
	char *out = NULL;
	int rc = run(args, &out);

	CHECK_MSG(rc == status, "vhostctl %s: status %d, expected %d; output:\n%s", args, rc,
		  status, out ? out : "");
	if (expected)
		CHECK_MSG(out && (exact ? !strcmp(out, expected) : strstr(out, expected) != NULL),
			  "vhostctl %s: output\n%s\nexpected %s'%s'", args, out ? out : "",
			  exact ? "exactly " : "", expected);
	free(out);
}

static void test_version(void)
{
	expect("spdk_get_version", 0, "vhostd ", false);
}

static void test_malloc_create_prints_name(void)
{
	expect("bdev_malloc_create -b Malloc0 8 512", 0, "Malloc0\n", true);
	/* rpc.py semantics: TOTAL_SIZE in MiB -> num_blocks = 4 MiB / 4096 = 1024 */
	expect("bdev_null_create Null0 4 4096", 0, "Null0\n", true);
	expect("--json bdev_get_bdevs -b Null0", 0, "\"num_blocks\": 1024", false);
}

static void test_table_output(void)
{
	expect("bdev_get_bdevs", 0, "NAME", false);
	expect("bdev_get_bdevs", 0, "Malloc0  Malloc disk", false);
	expect("bdev_get_bdevs -b Malloc0", 0, "8.0 MiB", false);
}

static void test_error_line(void)
{
	expect("bdev_malloc_delete Malloc9", 1, "vhostctl: bdev_malloc_delete: No such device",
	       false);
	expect("bdev_malloc_create -b Malloc0 8 512", 1,
	       "vhostctl: bdev_malloc_create: File exists", false);
	expect("call no_such_method", 1, "vhostctl: no_such_method: Method not found\n", true);
	expect("call bdev_malloc_create '{\"num_blocks\":\"x\",\"block_size\":512}'", 1,
	       "vhostctl: bdev_malloc_create: Parameter 'num_blocks' must be an unsigned integer\n",
	       true);
}

static void test_usage_errors(void)
{
	expect("bdev_malloc_create 8", 2, "missing BLOCK_SIZE", false);
	expect("bdev_malloc_create 8 512 extra", 2, "unexpected argument 'extra'", false);
	expect("bdev_malloc_create -z 8 512", 2, "unknown option -z", false);
	expect("bdev_malloc_create abc 512", 2, "TOTAL_SIZE_MB must be", false);
	expect("bdev_null_resize Null0 -3", 2, "NEW_SIZE_MB must be an unsigned integer", false);
	expect("no_such_command", 2, "unknown command 'no_such_command'", false);
	expect("call bdev_get_bdevs '[1]'", 2, "JSON_PARAMS must be a JSON object", false);
}

static void test_generic_call_and_delete(void)
{
	expect("call bdev_get_bdevs '{\"name\":\"Malloc0\"}'", 0, "\"block_size\": 512", false);
	expect("bdev_malloc_delete Malloc0", 0, "", true);
	expect("bdev_get_bdevs -b Malloc0", 1, "No such device", false);
}

static void test_no_daemon(void)
{
	char cmd[700], *out = NULL;
	int status;

	snprintf(cmd, sizeof(cmd), "%s -s /nonexistent/vhostd.sock spdk_get_version 2>&1",
		 vhostctl);
	status = run_cmd(cmd, &out);
	CHECK_EQ(status, 1);
	CHECK_MSG(out && strstr(out, "cannot connect to /nonexistent/vhostd.sock"), "%s",
		  out ? out : "");
	free(out);
}

static void test_stops_cleanly(void)
{
	CHECK(test_daemon_stop(daemon_under_test, NULL) == 0);
	daemon_under_test = NULL;
}

int main(int argc, char **argv)
{
	static const struct tap_test tests[] = {
		TAP_TEST(test_version),
		TAP_TEST(test_malloc_create_prints_name),
		TAP_TEST(test_table_output),
		TAP_TEST(test_error_line),
		TAP_TEST(test_usage_errors),
		TAP_TEST(test_generic_call_and_delete),
		TAP_TEST(test_no_daemon),
		TAP_TEST(test_stops_cleanly),
	};
	const char *build = getenv("VHOSTD_BUILD");
	int rc;

	snprintf(vhostctl, sizeof(vhostctl), "%s/app/vhostctl",
		 build && *build ? build : "./build");
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
