/*
 * A real vhostd for integration tests: started in its own temp dir (-S DIR -r DIR/rpc.sock) with
 * its log in DIR/vhostd.log, ready once spdk_get_version answers. The binary is
 * $VHOSTD_BUILD/app/vhostd (VHOSTD_BUILD defaults to ./build).
 *
 *   struct test_daemon *d = test_daemon_start("--poll never");
 *   test_daemon_rpc(d, "bdev_malloc_create", "{\"name\":\"M0\",...}", &result, &error);
 *   test_daemon_stop(d, NULL);
 *
 * Failures print "# ..." lines (TAP comments) with the tail of the daemon's log.
 */
#ifndef VHOSTD_TESTS_DAEMON_H
#define VHOSTD_TESTS_DAEMON_H

#include <stdbool.h>
#include <jansson.h>

struct test_daemon;

struct test_daemon_exit {
	bool exited;    /* by exit(); status is its code */
	int status;
	bool crashed;   /* killed by a signal other than the SIGTERM/SIGKILL we sent */
	int signal;
	bool timed_out; /* did not stop within the grace period and was killed */
};

/* extra_args: more vhostd arguments separated by blanks (NULL for none). NULL on failure. */
struct test_daemon *test_daemon_start(const char *extra_args);

struct test_daemon_opts {
	const char *extra_args;
	const char *rpc_path; /* NULL: DIR/rpc.sock */
};
struct test_daemon *test_daemon_start_opts(const struct test_daemon_opts *opts);

/* Runs a vhostd that is expected to stop by itself (bad config, bad options, socket in use) and
 * waits up to timeout_ms. Returns 0 once it exited (described in *out), -ETIMEDOUT after killing
 * it. *log (optional) receives its output (caller frees). */
int test_daemon_run_to_exit(const struct test_daemon_opts *opts, int timeout_ms,
			    struct test_daemon_exit *out, char **log);

/* Where it listens and keeps its sockets. */
const char *test_daemon_rpc_path(const struct test_daemon *d);
const char *test_daemon_dir(const struct test_daemon *d);

/* One call on a fresh connection, like rpc_client_call(): 0 and *result, 1 and *error, or -errno.
 * params: a JSON text (const char *) or a json_t * (stolen), or NULL. Caller decrefs. */
int test_daemon_rpc_json(struct test_daemon *d, const char *method, json_t *params,
			 json_t **result, json_t **error);
int test_daemon_rpc_text(struct test_daemon *d, const char *method, const char *params,
			 json_t **result, json_t **error);
#define test_daemon_rpc(d, method, params, result, error)                                \
	_Generic((params),                                                               \
		char *: test_daemon_rpc_text,                                            \
		const char *: test_daemon_rpc_text,                                      \
		default: test_daemon_rpc_json)(d, method, params, result, error)

/* True while the process runs. */
bool test_daemon_alive(struct test_daemon *d);
int test_daemon_pid(const struct test_daemon *d);

/* Runs tests that share one vhostd (extra_args as test_daemon_start): *dut is it while they run.
 * The last test may stop it itself (and set *dut to NULL); one a selected run leaves is stopped
 * here. Returns tap_run's status, or 1 with a "Bail out!" when vhostd does not start. */
struct tap_test;
int test_daemon_tap_run(const char *extra_args, struct test_daemon **dut,
			const struct tap_test *tests, int count, int argc, char **argv);

/* SIGTERM, waits (bounded; then SIGKILL), frees d and removes its dir. Returns 0 for a clean exit
 * (status 0), else -1 with the reason printed and the log tail dumped. out may be NULL. */
int test_daemon_stop(struct test_daemon *d, struct test_daemon_exit *out);

/* SIGKILL, as a crash would: the daemon leaves its sockets behind. Frees d and its dir (but not
 * an rpc_path given in opts). */
void test_daemon_kill(struct test_daemon *d);

/* Prints the last lines of the daemon's log as TAP comments. */
void test_daemon_dump_log(const struct test_daemon *d, int lines);

#endif
