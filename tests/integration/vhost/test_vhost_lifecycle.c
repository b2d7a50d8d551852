/*
 * Connections coming and going against a real vhostd: a front-end that hangs up at every step of
 * the handshake or with I/O in flight, a second front-end, sockets already taken, deleting a
 * controller in use, many connect/close cycles (no fd or mapping may leak), and resuming rings
 * from GET_VRING_BASE. An unrelated controller (the bystander, driven by the front-end library)
 * must keep working throughout.
 */
#include "vt.h"

#include "frontend/vu_wire.h"
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static struct test_daemon *dmn;
static struct vu_front *bystander;

/* Deletes the controller and, when bdev_method is given, its bdev with it. */
static void delete_ctrlr(const char *ctrlr, const char *bdev_method, const char *bdev)
{
	char params[128];

	snprintf(params, sizeof(params), "{\"ctrlr\":\"%s\"}", ctrlr);
	CHECK(vt_rpc_ok(dmn, "vhost_delete_controller", params));
	if (bdev_method) {
		snprintf(params, sizeof(params), "{\"name\":\"%s\"}", bdev);
		CHECK(vt_rpc_ok(dmn, bdev_method, params));
	}
}

/* The same for a controller made by vt_ctrlr_create(). */
static void delete_vt_ctrlr(const char *ctrlr)
{
	char bdev[128];

	snprintf(bdev, sizeof(bdev), "%s_bdev", ctrlr);
	delete_ctrlr(ctrlr, "bdev_malloc_delete", bdev);
}

/* A full connection with I/O on every queue, closed again. */
static void check_full_connection(const char *ctrlr, bool packed)
{
	struct vt_guest_opts o = { .packed = packed };
	struct vt_guest *g = vt_guest_connect(dmn, ctrlr, &o);

	CHECK(g);
	if (!g)
		return;
	CHECK(vt_guest_io_ok(g, 0));
	CHECK(vt_guest_io_ok(g, 1));
	vt_guest_close(g);
	CHECK(vt_wait_disconnected(dmn, ctrlr));
}

static bool controller_connected(const char *ctrlr)
{
	json_t *result = NULL, *error = NULL;
	char params[128];
	bool connected;

	snprintf(params, sizeof(params), "{\"name\":\"%s\"}", ctrlr);
	CHECK(test_daemon_rpc(dmn, "vhost_get_controllers", params, &result, &error) == 0);
	connected = json_is_true(json_object_get(json_array_get(result, 0), "connected"));
	json_decref(result);
	json_decref(error);
	return connected;
}

/* Hang up after each prefix of the handshake; each time the next connection must work. */
static void disconnect_at_every_step(const char *ctrlr, bool packed)
{
	struct vt_guest_opts o = { .packed = packed };
	int before = vt_fd_settle(dmn, -1), maps = vt_map_count(dmn), nsteps;
	struct vt_guest *g;

	REQUIRE(vt_ctrlr_create(dmn, ctrlr, packed));
	g = vt_guest_open(dmn, ctrlr, &o);
	REQUIRE(g);
	nsteps = vt_guest_nsteps(g);
	vt_guest_close(g);
	for (int k = 0; k <= nsteps; k++) {
		const char *last;

		g = vt_guest_open(dmn, ctrlr, &o);
		REQUIRE(g);
		last = k ? vt_guest_step_name(g, k - 1) : "-";
		CHECK(vt_guest_run(g, 0, k));
		vt_guest_close(g);
		CHECK_MSG(vt_wait_disconnected(dmn, ctrlr), "after %d steps", k);
		check_full_connection(ctrlr, packed);
		if (tap_current_failed()) {
			printf("# (hung up after %d steps, the last %s)\n", k, last);
			break;
		}
	}
	CHECK(test_daemon_alive(dmn));
	CHECK(vt_front_io_ok(bystander, 0, 64));
	delete_vt_ctrlr(ctrlr);
	CHECK_EQ(vt_fd_settle(dmn, before), before);
	CHECK_EQ(vt_map_count(dmn), maps);
}

static void test_disconnect_at_every_step_split(void)
{
	disconnect_at_every_step("l_steps_split", false);
}

static void test_disconnect_at_every_step_packed(void)
{
	disconnect_at_every_step("l_steps_packed", true);
}

/* A read the error bdev holds: the guest hangs up with it in flight. The session must wait for
 * it (the guest memory stays mapped while the bdev may still write into it), not wedge the
 * daemon, and let go once the I/O is released (release_method on the error bdev). */
static void disconnect_with_io_held(const char *release_method, const char *release_params,
				    bool bdev_stays)
{
	struct vt_guest_opts o = { 0 };
	struct vt_guest *g, *second;
	struct vt_blk b;
	struct vt_buf bufs[3];
	uint16_t id;
	uint32_t len;

	REQUIRE(vt_rpc_ok(dmn, "bdev_malloc_create",
			  "{\"name\":\"l_held_base\",\"num_blocks\":2048,\"block_size\":512}"));
	REQUIRE(vt_rpc_ok(dmn, "bdev_error_create", "{\"base_name\":\"l_held_base\"}"));
	REQUIRE(vt_rpc_ok(dmn, "vhost_create_blk_controller",
			  "{\"ctrlr\":\"l_held\",\"dev_name\":\"EE_l_held_base\"}"));
	g = vt_guest_connect(dmn, "l_held", &o);
	REQUIRE(g);
	CHECK(vt_guest_io_ok(g, 0));
	CHECK(vt_rpc_ok(dmn, "bdev_error_inject_error",
			"{\"name\":\"EE_l_held_base\",\"io_type\":\"all\",\"error_type\":"
			"\"pending\",\"num\":1}"));
	vt_blk_prepare(g, &b, VIRTIO_BLK_T_IN, 0, 4096);
	vt_put_chain(g, 0, bufs, vt_blk_bufs(&b, bufs), false);
	CHECK(vt_wait_used(g, 0, VT_QUIET_MS, &id, &len) == 0);
	vt_guest_close(g);
	/* Still held: the controller keeps its session, the daemon serves everything else. */
	CHECK(controller_connected("l_held"));
	CHECK(vt_front_io_ok(bystander, 0, 64));
	second = vt_guest_open(dmn, "l_held", &o);
	CHECK(second);
	if (second) {
		CHECK(vt_guest_step(second, 0) < 0); /* turned away */
		vt_guest_close(second);
	}
	CHECK(controller_connected("l_held"));
	/* Released: the session goes, the controller takes a new front-end. */
	CHECK(vt_rpc_ok(dmn, release_method, release_params));
	CHECK(vt_wait_disconnected(dmn, "l_held"));
	g = vt_guest_connect(dmn, "l_held", &o);
	REQUIRE(g);
	if (bdev_stays) {
		CHECK(vt_guest_io_ok(g, 0));
	} else {
		/* The bdev went away under the controller: requests fail, cleanly. */
		vt_blk_prepare(g, &b, VIRTIO_BLK_T_IN, 0, 4096);
		vt_put_chain(g, 0, bufs, vt_blk_bufs(&b, bufs), false);
		CHECK(vt_wait_used(g, 0, VT_WAIT_MS, &id, &len) == 1);
		CHECK_EQ(*b.status, VIRTIO_BLK_S_IOERR);
	}
	vt_guest_close(g);
	CHECK(vt_wait_disconnected(dmn, "l_held"));
	CHECK(test_daemon_alive(dmn));
	delete_ctrlr("l_held", bdev_stays ? "bdev_error_delete" : NULL, "EE_l_held_base");
	CHECK(vt_rpc_ok(dmn, "bdev_malloc_delete", "{\"name\":\"l_held_base\"}"));
}

static void test_disconnect_io_held_then_cleared(void)
{
	disconnect_with_io_held(
		"bdev_error_inject_error",
		"{\"name\":\"EE_l_held_base\",\"io_type\":\"clear\",\"error_type\":\"pending\"}",
		true);
}

static void test_disconnect_io_held_then_bdev_deleted(void)
{
	disconnect_with_io_held("bdev_error_delete", "{\"name\":\"EE_l_held_base\"}", false);
}

/* One front-end at a time: a second one is turned away and the first is undisturbed. */
static void test_second_frontend_refused(void)
{
	struct vt_guest_opts o = { 0 };
	struct vt_guest *g, *second;
	size_t mark;

	REQUIRE(vt_ctrlr_create(dmn, "l_second", false));
	g = vt_guest_connect(dmn, "l_second", &o);
	REQUIRE(g);
	mark = vt_log_mark(dmn);
	for (int i = 0; i < 3; i++) {
		second = vt_guest_open(dmn, "l_second", &o);
		CHECK(second);
		if (!second)
			break;
		CHECK(vt_guest_step(second, 0) < 0);
		vt_guest_close(second);
	}
	CHECK(vt_log_has(dmn, mark, "refusing a second front-end"));
	CHECK(vt_guest_io_ok(g, 0));
	CHECK(vt_guest_io_ok(g, 1));
	vt_guest_close(g);
	CHECK(vt_wait_disconnected(dmn, "l_second"));
	check_full_connection("l_second", false);
	delete_vt_ctrlr("l_second");
}

/* A front-end that shrinks the guest memory file it shared must not crash the daemon: the fault
 * is absorbed, that connection is dropped, and everyone else carries on. */
static void test_memory_shrunk_under_the_daemon(void)
{
	struct vt_guest_opts o = { 0 };
	struct vu_front *other;
	struct vt_guest *g;
	size_t mark;

	REQUIRE(vt_ctrlr_create(dmn, "l_shrink", false));
	REQUIRE(vt_ctrlr_create(dmn, "l_bystander", false));
	other = vt_front_connect(dmn, "l_bystander", 1, false);
	REQUIRE(other);
	g = vt_guest_connect(dmn, "l_shrink", &o);
	REQUIRE(g);
	CHECK(vt_guest_io_ok(g, 0));
	mark = vt_log_mark(dmn);
	CHECK(ftruncate(vt_mem_fd(g), 0) == 0);
	CHECK(vt_kick(g, 0) == 0);
	CHECK(vt_log_wait(dmn, mark, "shrank shared memory"));
	CHECK(vt_guest_wait_eof(g));
	CHECK(test_daemon_alive(dmn));
	CHECK(vt_front_io_ok(other, 0, 8));
	vt_guest_close(g);
	vu_front_close(other);
	CHECK(vt_wait_disconnected(dmn, "l_shrink"));
	check_full_connection("l_shrink", false);
	delete_vt_ctrlr("l_shrink");
	CHECK(vt_wait_disconnected(dmn, "l_bystander"));
	delete_vt_ctrlr("l_bystander");
}

static int listen_at(const char *path, bool listening)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    (listening && listen(fd, 1) < 0)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Controller sockets: one a live process listens on is refused, a stale one replaced. */
static void test_socket_path_taken(void)
{
	char path[256], msg[512];
	int fd, code;

	REQUIRE(vt_rpc_ok(dmn, "bdev_malloc_create",
			  "{\"name\":\"l_sock_bdev\",\"num_blocks\":2048,\"block_size\":512}"));
	/* In use. */
	vt_socket_path(dmn, "l_busy", path, sizeof(path));
	fd = listen_at(path, true);
	REQUIRE(fd >= 0);
	code = vt_rpc_error(dmn, "vhost_create_blk_controller",
			    "{\"ctrlr\":\"l_busy\",\"dev_name\":\"l_sock_bdev\"}", msg,
			    sizeof(msg));
	CHECK_EQ(code, -EADDRINUSE);
	CHECK_MSG(strstr(msg, "in use by another process"), "message: %s", msg);
	CHECK(access(path, F_OK) == 0); /* left alone */
	close(fd);
	unlink(path);
	/* Not a socket. */
	vt_socket_path(dmn, "l_file", path, sizeof(path));
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	REQUIRE(fd >= 0);
	close(fd);
	code = vt_rpc_error(dmn, "vhost_create_blk_controller",
			    "{\"ctrlr\":\"l_file\",\"dev_name\":\"l_sock_bdev\"}", msg,
			    sizeof(msg));
	CHECK_EQ(code, -EEXIST);
	CHECK_MSG(strstr(msg, "not a socket"), "message: %s", msg);
	unlink(path);
	/* Stale: bound by a process that is gone (or at least not listening). */
	vt_socket_path(dmn, "l_stale", path, sizeof(path));
	fd = listen_at(path, false);
	REQUIRE(fd >= 0);
	close(fd);
	CHECK(vt_rpc_ok(dmn, "vhost_create_blk_controller",
			"{\"ctrlr\":\"l_stale\",\"dev_name\":\"l_sock_bdev\"}"));
	check_full_connection("l_stale", false);
	delete_ctrlr("l_stale", "bdev_malloc_delete", "l_sock_bdev");
}

/* 50 connect/handshake/I/O/close cycles, split and packed: no fd or mapping left behind. */
static void test_connect_cycles_leak_nothing(void)
{
	int before, maps;

	REQUIRE(vt_ctrlr_create(dmn, "l_cycles", true));
	check_full_connection("l_cycles", false); /* first-use allocations out of the way */
	before = vt_fd_settle(dmn, -1);
	maps = vt_map_count(dmn);
	for (int i = 0; i < 50 && !tap_current_failed(); i++)
		check_full_connection("l_cycles", i % 2);
	CHECK_EQ(vt_fd_settle(dmn, before), before);
	CHECK_EQ(vt_map_count(dmn), maps);
	delete_vt_ctrlr("l_cycles");
}

static void test_delete_controller_while_connected(void)
{
	struct vt_guest_opts o = { 0 };
	struct vt_guest *g;
	char path[256], msg[512];

	REQUIRE(vt_ctrlr_create(dmn, "l_delete", false));
	g = vt_guest_connect(dmn, "l_delete", &o);
	REQUIRE(g);
	CHECK_EQ(vt_rpc_error(dmn, "vhost_delete_controller", "{\"ctrlr\":\"l_delete\"}", msg,
			      sizeof(msg)),
		 -EBUSY);
	CHECK_MSG(strstr(msg, "connected"), "message: %s", msg);
	CHECK(vt_guest_io_ok(g, 0));
	vt_guest_close(g);
	CHECK(vt_wait_disconnected(dmn, "l_delete"));
	CHECK(vt_rpc_ok(dmn, "vhost_delete_controller", "{\"ctrlr\":\"l_delete\"}"));
	vt_socket_path(dmn, "l_delete", path, sizeof(path));
	CHECK(access(path, F_OK) != 0);
	CHECK(vt_rpc_ok(dmn, "bdev_malloc_delete", "{\"name\":\"l_delete_bdev\"}"));
}

/* The front-end replaces the memory table under running queues (as QEMU does on memory hotplug),
 * empties it, then resets the device and sets everything up again, all on one connection. */
static void test_memory_and_reset_while_running(void)
{
	struct vt_guest_opts o = { 0 };
	struct vt_guest *g;
	struct vu_wire_mem_table empty = { .nregions = 0 };
	int mem_step;

	REQUIRE(vt_ctrlr_create(dmn, "l_remap", false));
	g = vt_guest_connect(dmn, "l_remap", &o);
	REQUIRE(g);
	mem_step = vt_guest_step_index(g, "SET_MEM_TABLE", 0);
	CHECK(vt_guest_io_ok(g, 0));
	CHECK_EQ(vt_guest_step(g, mem_step), 0);
	CHECK(vt_guest_io_ok(g, 0));
	CHECK(vt_guest_io_ok(g, 1));
	/* No memory: the queues stop; the table back: they start again where they were. */
	CHECK_EQ(vt_guest_call(g, VU_REQ_SET_MEM_TABLE, &empty, 8, NULL, 0), 0);
	CHECK_EQ(vt_guest_get_base(g, 1), 1);
	CHECK_EQ(vt_guest_step(g, mem_step), 0);
	CHECK_EQ(vt_guest_step(g, vt_guest_step_index(g, "SET_VRING_KICK", 1)), 0);
	CHECK(vt_guest_io_ok(g, 0));
	CHECK(vt_guest_io_ok(g, 1));
	/* RESET_DEVICE, then the handshake again from SET_FEATURES: rings start from 0. */
	CHECK_EQ(vt_guest_call(g, VU_REQ_RESET_DEVICE, NULL, 0, NULL, 0), 0);
	vt_guest_set_start(g, 0, 0);
	vt_guest_set_start(g, 1, 0);
	CHECK(vt_guest_run(g, vt_guest_step_index(g, "SET_FEATURES", 0), vt_guest_nsteps(g)));
	CHECK(vt_guest_io_ok(g, 0));
	CHECK(vt_guest_io_ok(g, 1));
	CHECK_EQ(vt_guest_get_base(g, 0), 1);
	vt_guest_close(g);
	CHECK(vt_wait_disconnected(dmn, "l_remap"));
	delete_vt_ctrlr("l_remap");
}

/* GET_VRING_BASE on a queue with a request held waits for it; the messages sent behind it
 * wait too and are answered in order once it is released. */
static void test_messages_behind_a_stopping_queue(void)
{
	struct vt_guest_opts o = { 0 };
	struct vt_guest *g;
	struct vu_wire_vring_state s = { 0, 0 };
	struct vt_blk b;
	struct vt_buf bufs[3];
	uint64_t features;
	uint32_t req;
	uint16_t id;
	uint32_t len;

	REQUIRE(vt_rpc_ok(dmn, "bdev_malloc_create",
			  "{\"name\":\"l_order_base\",\"num_blocks\":2048,\"block_size\":512}"));
	REQUIRE(vt_rpc_ok(dmn, "bdev_error_create", "{\"base_name\":\"l_order_base\"}"));
	REQUIRE(vt_rpc_ok(dmn, "vhost_create_blk_controller",
			  "{\"ctrlr\":\"l_order\",\"dev_name\":\"EE_l_order_base\"}"));
	g = vt_guest_connect(dmn, "l_order", &o);
	REQUIRE(g);
	CHECK(vt_rpc_ok(dmn, "bdev_error_inject_error",
			"{\"name\":\"EE_l_order_base\",\"io_type\":\"all\",\"error_type\":"
			"\"pending\",\"num\":1}"));
	vt_blk_prepare(g, &b, VIRTIO_BLK_T_IN, 0, 4096);
	vt_put_chain(g, 0, bufs, vt_blk_bufs(&b, bufs), false);
	CHECK(vt_wait_used(g, 0, VT_QUIET_MS, &id, &len) == 0);
	/* Both in one go: the second must not overtake the first. */
	CHECK(vt_guest_send(g, VU_REQ_GET_VRING_BASE, VU_FLAG_VERSION, &s, sizeof(s), NULL, 0) ==
	      0);
	CHECK(vt_guest_send(g, VU_REQ_GET_FEATURES, VU_FLAG_VERSION, NULL, 0, NULL, 0) == 0);
	CHECK_EQ(vt_guest_recv(g, &req, &s, sizeof(s), NULL, VT_QUIET_MS), -ETIMEDOUT);
	CHECK(vt_front_io_ok(bystander, 0, 64));
	CHECK(vt_guest_io_ok(g, 1));
	CHECK(vt_rpc_ok(
		dmn, "bdev_error_inject_error",
		"{\"name\":\"EE_l_order_base\",\"io_type\":\"clear\",\"error_type\":\"pending\"}"));
	CHECK_EQ(vt_guest_recv(g, &req, &s, sizeof(s), NULL, VT_WAIT_MS), 8);
	CHECK_EQ(req, VU_REQ_GET_VRING_BASE);
	CHECK_EQ(s.num, 1);
	CHECK_EQ(vt_guest_recv(g, &req, &features, sizeof(features), NULL, VT_WAIT_MS), 8);
	CHECK_EQ(req, VU_REQ_GET_FEATURES);
	/* The held request completed before the queue stopped. */
	CHECK(vt_wait_used(g, 0, VT_WAIT_MS, &id, &len) == 1);
	CHECK_EQ(*b.status, VIRTIO_BLK_S_OK);
	vt_guest_close(g);
	CHECK(vt_wait_disconnected(dmn, "l_order"));
	delete_ctrlr("l_order", "bdev_error_delete", "EE_l_order_base");
	CHECK(vt_rpc_ok(dmn, "bdev_malloc_delete", "{\"name\":\"l_order_base\"}"));
}

static void do_io(struct vt_guest *g, int q, int n)
{
	for (int i = 0; i < n; i++)
		CHECK(vt_guest_io_ok(g, q));
}

/* The SET/GET_VRING_BASE value after n requests of 3 descriptors from a fresh ring: the request
 * count (split), or the ring position with its wrap counter in bit 15 (packed). */
static uint32_t base_after(bool packed, uint16_t qsize, int n)
{
	int slots = 3 * n;

	if (!packed)
		return (uint16_t)n;
	return (uint32_t)(slots % qsize) | ((slots / qsize) % 2 ? 0 : 0x8000);
}

/* GET_VRING_BASE tells where a queue stopped; a new connection resumes there. */
static void resume_from_base(const char *ctrlr, bool packed, uint16_t qsize, int n)
{
	struct vt_guest_opts o = { .packed = packed, .qsize = qsize };
	struct vt_guest *g;

	REQUIRE(vt_ctrlr_create(dmn, ctrlr, packed));
	g = vt_guest_connect(dmn, ctrlr, &o);
	REQUIRE(g);
	do_io(g, 0, n);
	do_io(g, 1, 2);
	CHECK_EQ(vt_guest_get_base(g, 0), base_after(packed, qsize, n));
	CHECK_EQ(vt_guest_get_base(g, 1), base_after(packed, qsize, 2));
	vt_guest_close(g);
	CHECK(vt_wait_disconnected(dmn, ctrlr));
	/* The next front-end starts both rings where the last one stopped. */
	g = vt_guest_open(dmn, ctrlr, &o);
	REQUIRE(g);
	vt_guest_set_start(g, 0, base_after(packed, qsize, n));
	vt_guest_set_start(g, 1, base_after(packed, qsize, 2));
	CHECK(vt_guest_run(g, 0, vt_guest_nsteps(g)));
	do_io(g, 0, 3);
	do_io(g, 1, 1);
	CHECK_EQ(vt_guest_get_base(g, 0), base_after(packed, qsize, n + 3));
	CHECK_EQ(vt_guest_get_base(g, 1), base_after(packed, qsize, 3));
	vt_guest_close(g);
	CHECK(vt_wait_disconnected(dmn, ctrlr));
	delete_vt_ctrlr(ctrlr);
}

static void test_vring_base_resume_split(void)
{
	/* More requests than ring entries: the index runs on past the ring size. */
	resume_from_base("l_base_split", false, 64, 70);
}

static void test_vring_base_resume_packed(void)
{
	/* 60 descriptors on a 16-slot ring: three laps and a bit, wrap counter flipped. */
	resume_from_base("l_base_packed", true, 16, 20);
}

int main(int argc, char **argv)
{
	static const struct tap_test tests[] = {
		TAP_TEST(test_disconnect_at_every_step_split),
		TAP_TEST(test_disconnect_at_every_step_packed),
		TAP_TEST(test_disconnect_io_held_then_cleared),
		TAP_TEST(test_disconnect_io_held_then_bdev_deleted),
		TAP_TEST(test_second_frontend_refused),
		TAP_TEST(test_memory_shrunk_under_the_daemon),
		TAP_TEST(test_socket_path_taken),
		TAP_TEST(test_connect_cycles_leak_nothing),
		TAP_TEST(test_delete_controller_while_connected),
		TAP_TEST(test_vring_base_resume_split),
		TAP_TEST(test_vring_base_resume_packed),
		TAP_TEST(test_memory_and_reset_while_running),
		TAP_TEST(test_messages_behind_a_stopping_queue),
	};

	return vt_main(tests, TAP_COUNT(tests), argc, argv, &dmn, &bystander);
}
