#include "test_clock.h"
#include "daemon.h"
#include "tap.h"

#include "rpc/rpc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DAEMON_MAX_ARGS 64
/* Generous: sanitizer builds start and stop slowly on a loaded 2-CPU machine. */
#define DAEMON_READY_MS 20000
#define DAEMON_STOP_MS 20000
#define DAEMON_RPC_TIMEOUT_MS 30000

struct test_daemon {
	pid_t pid;
	bool reaped;
	int wait_status;
	char dir[64];
	char rpc_path[128];
	char log_path[128];
};

const char *test_daemon_rpc_path(const struct test_daemon *d)
{
	return d->rpc_path;
}

const char *test_daemon_dir(const struct test_daemon *d)
{
	return d->dir;
}

void test_daemon_dump_log(const struct test_daemon *d, int lines)
{
	char *ring[256] = { 0 };
	char line[1024];
	FILE *f = fopen(d->log_path, "r");
	int n = 0;

	if (lines > 256)
		lines = 256;
	if (!f) {
		printf("# (no vhostd log at %s)\n", d->log_path);
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		free(ring[n % lines]);
		ring[n % lines] = strdup(line);
		n++;
	}
	fclose(f);
	printf("# --- last %d lines of %s ---\n", n < lines ? n : lines, d->log_path);
	for (int i = n < lines ? 0 : n - lines; i < n; i++) {
		printf("# %s", ring[i % lines] ? ring[i % lines] : "\n");
		free(ring[i % lines]);
		ring[i % lines] = NULL;
	}
	fflush(stdout);
}

/* Splits copy (modified in place) at blanks into argv[*argc...]. */
static int args_split(char *copy, char **argv, int *argc)
{
	for (char *tok = strtok(copy, " \t\n"); tok; tok = strtok(NULL, " \t\n")) {
		if (*argc >= DAEMON_MAX_ARGS - 1)
			return -E2BIG;
		argv[(*argc)++] = tok;
	}
	return 0;
}

static void child_exec(struct test_daemon *d, char **argv)
{
	int log = open(d->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	/* Never outlive a test that crashed. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (log >= 0) {
		dup2(log, STDOUT_FILENO);
		dup2(log, STDERR_FILENO);
	}
	execv(argv[0], argv);
	fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

static bool reap(struct test_daemon *d, bool block)
{
	pid_t r;

	if (d->reaped)
		return true;
	do {
		r = waitpid(d->pid, &d->wait_status, block ? 0 : WNOHANG);
	} while (r < 0 && errno == EINTR);
	if (r == d->pid)
		d->reaped = true;
	return d->reaped;
}

bool test_daemon_alive(struct test_daemon *d)
{
	return !reap(d, false);
}

static void dir_remove(const char *dir)
{
	DIR *dp = opendir(dir);
	struct dirent *e;
	char path[PATH_MAX];

	if (!dp)
		return;
	while ((e = readdir(dp))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(dp);
	rmdir(dir);
}

static bool wait_ready(struct test_daemon *d)
{
	long long deadline = test_now_ms() + DAEMON_READY_MS;

	while (test_now_ms() < deadline) {
		json_t *result = NULL, *error = NULL;

		if (!test_daemon_alive(d)) {
			printf("# vhostd exited during start-up\n");
			return false;
		}
		if (access(d->rpc_path, F_OK) == 0 &&
		    test_daemon_rpc(d, "spdk_get_version", NULL, &result, &error) == 0) {
			json_decref(result);
			return true;
		}
		json_decref(error);
		test_sleep_ms(20);
	}
	printf("# vhostd did not answer spdk_get_version within %d ms\n", DAEMON_READY_MS);
	return false;
}

static void exit_describe(struct test_daemon *d, struct test_daemon_exit *e, bool killed)
{
	int st = d->wait_status;

	memset(e, 0, sizeof(*e));
	e->timed_out = killed;
	if (WIFEXITED(st)) {
		e->exited = true;
		e->status = WEXITSTATUS(st);
	} else if (WIFSIGNALED(st)) {
		e->signal = WTERMSIG(st);
		e->crashed = e->signal != SIGTERM && e->signal != SIGKILL;
	}
}

/* Creates d's dir and starts vhostd in it; NULL (printed) on failure. */
static struct test_daemon *daemon_spawn(const struct test_daemon_opts *opts)
{
	const char *build = getenv("VHOSTD_BUILD");
	struct test_daemon *d = calloc(1, sizeof(*d));
	char binary[PATH_MAX], *argv[DAEMON_MAX_ARGS], *copy = NULL;
	int argc = 0;

	if (!d)
		return NULL;
	snprintf(binary, sizeof(binary), "%s/app/vhostd", build && *build ? build : "./build");
	snprintf(d->dir, sizeof(d->dir), "/tmp/vhostd-it.XXXXXX");
	if (access(binary, X_OK) != 0) {
		printf("# no vhostd binary at %s (set VHOSTD_BUILD)\n", binary);
		free(d);
		return NULL;
	}
	if (!mkdtemp(d->dir)) {
		printf("# mkdtemp: %s\n", strerror(errno));
		free(d);
		return NULL;
	}
	if (opts->rpc_path)
		snprintf(d->rpc_path, sizeof(d->rpc_path), "%s", opts->rpc_path);
	else
		snprintf(d->rpc_path, sizeof(d->rpc_path), "%s/rpc.sock", d->dir);
	snprintf(d->log_path, sizeof(d->log_path), "%s/vhostd.log", d->dir);
	argv[argc++] = binary;
	argv[argc++] = "-S";
	argv[argc++] = d->dir;
	argv[argc++] = "-r";
	argv[argc++] = d->rpc_path;
	copy = opts->extra_args ? strdup(opts->extra_args) : NULL;
	if (opts->extra_args && (!copy || args_split(copy, argv, &argc))) {
		printf("# bad extra arguments: %s\n", opts->extra_args);
		free(copy);
		dir_remove(d->dir);
		free(d);
		return NULL;
	}
	argv[argc] = NULL;
	fflush(stdout);
	d->pid = fork();
	if (d->pid == 0)
		child_exec(d, argv);
	free(copy);
	if (d->pid < 0) {
		printf("# fork: %s\n", strerror(errno));
		dir_remove(d->dir);
		free(d);
		return NULL;
	}
	return d;
}

struct test_daemon *test_daemon_start_opts(const struct test_daemon_opts *opts)
{
	struct test_daemon *d = daemon_spawn(opts);

	if (d && !wait_ready(d)) {
		test_daemon_dump_log(d, 40);
		test_daemon_stop(d, NULL);
		return NULL;
	}
	return d;
}

struct test_daemon *test_daemon_start(const char *extra_args)
{
	const struct test_daemon_opts opts = { .extra_args = extra_args };

	return test_daemon_start_opts(&opts);
}

int test_daemon_pid(const struct test_daemon *d)
{
	return d->pid;
}

static char *file_read(const char *path)
{
	FILE *f = fopen(path, "r");
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	char buf[4096];
	size_t n;

	if (f && mem) {
		while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
			fwrite(buf, 1, n, mem);
	}
	if (f)
		fclose(f);
	if (mem)
		fclose(mem);
	return text;
}

int test_daemon_run_to_exit(const struct test_daemon_opts *opts, int timeout_ms,
			    struct test_daemon_exit *out, char **log)
{
	struct test_daemon *d = daemon_spawn(opts);
	long long deadline = test_now_ms() + timeout_ms;
	bool killed = false;

	if (log)
		*log = NULL;
	if (!d)
		return -ECHILD;
	while (!reap(d, false) && test_now_ms() < deadline)
		test_sleep_ms(10);
	if (!d->reaped) {
		kill(d->pid, SIGKILL);
		reap(d, true);
		killed = true;
	}
	exit_describe(d, out, killed);
	if (log)
		*log = file_read(d->log_path);
	dir_remove(d->dir);
	free(d);
	return killed ? -ETIMEDOUT : 0;
}

int test_daemon_rpc_json(struct test_daemon *d, const char *method, json_t *params,
			 json_t **result, json_t **error)
{
	struct rpc_client *c = rpc_client_connect(d->rpc_path, DAEMON_RPC_TIMEOUT_MS);
	int rc;

	*result = NULL;
	*error = NULL;
	if (!c) {
		rc = -errno;
		json_decref(params);
		return rc;
	}
	rc = rpc_client_call(c, method, params, result, error);
	rpc_client_close(c);
	return rc;
}

int test_daemon_rpc_text(struct test_daemon *d, const char *method, const char *params,
			 json_t **result, json_t **error)
{
	json_error_t jerr;
	json_t *p = NULL;

	if (params) {
		p = json_loads(params, 0, &jerr);
		if (!p) {
			printf("# test bug: params of %s are not JSON: %s\n", method, jerr.text);
			*result = *error = NULL;
			return -EINVAL;
		}
	}
	return test_daemon_rpc_json(d, method, p, result, error);
}

int test_daemon_stop(struct test_daemon *d, struct test_daemon_exit *out)
{
	struct test_daemon_exit e;
	long long deadline = test_now_ms() + DAEMON_STOP_MS;
	bool killed = false;
	int rc = 0;

	if (!d->reaped)
		kill(d->pid, SIGTERM);
	while (!reap(d, false) && test_now_ms() < deadline)
		test_sleep_ms(10);
	if (!d->reaped) {
		kill(d->pid, SIGKILL);
		reap(d, true);
		killed = true;
	}
	exit_describe(d, &e, killed);
	if (e.timed_out) {
		printf("# vhostd did not exit within %d ms of SIGTERM; killed\n", DAEMON_STOP_MS);
		rc = -1;
	} else if (e.crashed) {
		printf("# vhostd crashed: signal %d (%s)\n", e.signal, strsignal(e.signal));
		rc = -1;
	} else if (!e.exited) {
		printf("# vhostd died of signal %d instead of exiting\n", e.signal);
		rc = -1;
	} else if (e.status != 0) {
		printf("# vhostd exited with status %d\n", e.status);
		rc = -1;
	}
	if (rc)
		test_daemon_dump_log(d, 60);
	if (out)
		*out = e;
	dir_remove(d->dir);
	free(d);
	return rc;
}

void test_daemon_kill(struct test_daemon *d)
{
	kill(d->pid, SIGKILL);
	reap(d, true);
	dir_remove(d->dir);
	free(d);
}

int test_daemon_tap_run(const char *extra_args, struct test_daemon **dut,
			const struct tap_test *tests, int count, int argc, char **argv)
{
	int rc;

	*dut = test_daemon_start(extra_args);
	if (!*dut) {
		printf("Bail out! vhostd did not start\n");
		return 1;
	}
	rc = tap_run(tests, count, argc, argv);
	if (*dut) /* a run of selected tests */
		test_daemon_stop(*dut, NULL);
	return rc;
}
