/*
 * Adaptive polling costs nothing when the guest is idle: after I/O stops, a connected controller's
 * workers sleep in epoll, and the next request still wakes them (no lost kick).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/virtio_blk.h>

#include "daemon.h"
#include "frontend/frontend.h"
#include "tap.h"

/* utime + stime of the process, in clock ticks. */
static long cpu_ticks(int pid)
{
	char path[64], buf[1024], *p;
	unsigned long utime, stime;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	if (!p || !(p = strrchr(buf, ')')))
		return -1;
	/* fields after the command: state(3) ... utime(14) stime(15) */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2)
		return -1;
	return (long)(utime + stime);
}

/* 0 when the call succeeded. */
static int rpc_call_ok(struct test_daemon *d, const char *method, const char *params)
{
	json_t *result = NULL, *error = NULL;
	int rc = test_daemon_rpc(d, method, params, &result, &error);

	json_decref(result);
	json_decref(error);
	return rc;
}

static void run_idle_check(const char *poll_mode, bool expect_idle)
{
	char args[64], *buf;
	struct test_daemon *d;
	struct vu_front *f;
	struct vu_front_opts opts = { 0 };
	char sock[512];
	long before, after;

	snprintf(args, sizeof(args), "--poll %s", poll_mode);
	d = test_daemon_start(args);
	REQUIRE(d);
	CHECK_EQ(rpc_call_ok(d, "bdev_malloc_create", "{\"name\":\"M0\",\"num_blocks\":2048,\"block_size\":512}"),
		 0);
	CHECK_EQ(rpc_call_ok(d, "vhost_create_blk_controller", "{\"ctrlr\":\"idle\",\"dev_name\":\"M0\"}"), 0);
	snprintf(sock, sizeof(sock), "%s/idle", test_daemon_dir(d));
	opts.path = sock;
	opts.num_queues = 2;
	f = vu_front_connect(&opts, NULL);
	REQUIRE(f);
	buf = calloc(1, 4096);
	for (int i = 0; i < 100; i++)
		CHECK_EQ(vu_blk_request(f, i % 2, VIRTIO_BLK_T_IN, 0, buf, 4096), VIRTIO_BLK_S_OK);
	usleep(200 * 1000); /* past the idle period */
	before = cpu_ticks(test_daemon_pid(d));
	sleep(1);
	after = cpu_ticks(test_daemon_pid(d));
	if (expect_idle)
		CHECK_MSG(after - before <= 1, "idle vhostd used %ld ticks in 1 s", after - before);
	else
		CHECK_MSG(after - before >= 50, "--poll always used only %ld ticks in 1 s", after - before);
	/* After sleeping, a new request on each queue must wake the worker. */
	for (int q = 0; q < 2; q++)
		CHECK_EQ(vu_blk_request(f, q, VIRTIO_BLK_T_IN, 8, buf, 4096), VIRTIO_BLK_S_OK);
	free(buf);
	vu_front_close(f);
	CHECK_EQ(test_daemon_stop(d, NULL), 0);
}

static void idle_guest_costs_no_cpu_in_adaptive_mode(void)
{
	run_idle_check("adaptive", true);
}

static void idle_guest_costs_no_cpu_in_never_mode(void)
{
	run_idle_check("never", true);
}

/* The control case: proves the measurement can see a busy worker. */
static void always_mode_spins(void)
{
	run_idle_check("always", false);
}

int main(int argc, char **argv)
{
	const struct tap_test tests[] = {
		TAP_TEST(idle_guest_costs_no_cpu_in_adaptive_mode),
		TAP_TEST(idle_guest_costs_no_cpu_in_never_mode),
		TAP_TEST(always_mode_spins),
	};

	return tap_run(tests, TAP_COUNT(tests), argc, argv);
}
