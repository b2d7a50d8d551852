/*
 * Malformed vhost-user messages against a real vhostd: bad versions and sizes, unknown requests,
 * bad memory tables, bad ring parameters, queue indexes out of range, stray fds, messages in
 * pieces and cut short. A protocol violation drops the connection; a bad value in a well-formed
 * message fails that message (error ack, or an empty reply for GET_CONFIG). Either way the daemon
 * lives, leaks no fd, the controller takes the next connection, and an unrelated controller (the
 * bystander, driven by the front-end library) keeps working.
 */
#include "vt.h"

#include "frontend/vu_wire.h"
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#define NEED_REPLY (VU_FLAG_VERSION | VU_FLAG_NEED_REPLY)

static struct test_daemon *dmn;
static struct vu_front *bystander;

/* A controller of its own and a guest connected to it, with the handshake run up to (not
 * including) the step called upto (NULL: connected only). */
static struct vt_guest *setup(const char *ctrlr, const char *upto)
{
	struct vt_guest_opts o = { 0 };
	struct vt_guest *g;

	if (!vt_ctrlr_create(dmn, ctrlr, false))
		return NULL;
	g = vt_guest_open(dmn, ctrlr, &o);
	if (g && upto && !vt_guest_run(g, 0, vt_guest_step_index(g, upto, 0))) {
		vt_guest_close(g);
		return NULL;
	}
	return g;
}

/* Runs the rest of the handshake from step `from` and checks I/O on both queues. */
static void finish_handshake(struct vt_guest *g, const char *from)
{
	if (vt_guest_run(g, vt_guest_step_index(g, from, 0), vt_guest_nsteps(g))) {
		CHECK(vt_guest_io_ok(g, 0));
		CHECK(vt_guest_io_ok(g, 1));
	}
}

/* A new guest on the controller does the whole handshake and I/O. */
static void check_next_connection(const char *ctrlr)
{
	struct vt_guest_opts o = { 0 };
	struct vt_guest *g;

	CHECK(vt_wait_disconnected(dmn, ctrlr));
	g = vt_guest_connect(dmn, ctrlr, &o);
	CHECK(g);
	if (g) {
		CHECK(vt_guest_io_ok(g, 0));
		vt_guest_close(g);
	}
}

/* The daemon lives, the bystander works, the controller takes a new connection and goes away. */
static void finish(struct vt_guest *g, const char *ctrlr)
{
	char params[128];

	CHECK(test_daemon_alive(dmn));
	CHECK(vt_front_io_ok(bystander, 0, 64));
	vt_guest_close(g);
	check_next_connection(ctrlr);
	CHECK(vt_wait_disconnected(dmn, ctrlr));
	snprintf(params, sizeof(params), "{\"ctrlr\":\"%s\"}", ctrlr);
	CHECK(vt_rpc_ok(dmn, "vhost_delete_controller", params));
	snprintf(params, sizeof(params), "{\"name\":\"%s_bdev\"}", ctrlr);
	CHECK(vt_rpc_ok(dmn, "bdev_malloc_delete", params));
}

/* Sends one message on a fresh connection and expects the daemon to hang up, logging why. */
static void expect_dropped(const char *ctrlr, uint32_t req, uint32_t flags, const void *payload,
			   uint32_t size, const int *fds, int nfds, const char *why)
{
	struct vt_guest_opts o = { 0 };
	size_t mark = vt_log_mark(dmn);
	struct vt_guest *g = vt_guest_open(dmn, ctrlr, &o);

	if (!g)
		return;
	CHECK(vt_guest_send(g, req, flags, payload, size, fds, nfds) == 0);
	CHECK_MSG(vt_guest_wait_eof(g), "request %u size %u: connection not dropped", req, size);
	CHECK(vt_log_wait(dmn, mark, why));
	vt_guest_close(g);
	CHECK(vt_wait_disconnected(dmn, ctrlr));
}

static int new_eventfd(void)
{
	return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}

static void close_all(int *fds, int n)
{
	for (int i = 0; i < n; i++)
		close(fds[i]);
}

static void test_msg_bad_version(void)
{
	/* Version 0, 2, 3, and 0 with the reply flag. */
	static const uint32_t flags[] = { 0x0, 0x2, 0x3, VU_FLAG_REPLY };

	REQUIRE(vt_ctrlr_create(dmn, "m_version", false));
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		expect_dropped("m_version", VU_REQ_GET_FEATURES, flags[i], NULL, 0, NULL, 0,
			       "bad protocol version");
	finish(NULL, "m_version");
}

static void test_msg_payload_too_small(void)
{
	uint8_t zero[64] = { 0 };
	struct vu_wire_mem_table t = { .nregions = 2 };
	int fds[2], before;

	REQUIRE(vt_ctrlr_create(dmn, "m_small", false));
	before = vt_fd_settle(dmn, -1);
	expect_dropped("m_small", VU_REQ_SET_FEATURES, VU_FLAG_VERSION, zero, 7, NULL, 0,
		       "payload of 7 bytes");
	expect_dropped("m_small", VU_REQ_SET_VRING_NUM, VU_FLAG_VERSION, zero, 4, NULL, 0,
		       "payload of 4 bytes");
	expect_dropped("m_small", VU_REQ_GET_VRING_BASE, VU_FLAG_VERSION, zero, 0, NULL, 0,
		       "payload of 0 bytes");
	expect_dropped("m_small", VU_REQ_SET_VRING_ADDR, VU_FLAG_VERSION, zero, 20, NULL, 0,
		       "payload of 20 bytes");
	expect_dropped("m_small", VU_REQ_GET_CONFIG, VU_FLAG_VERSION, zero, 8, NULL, 0,
		       "payload of 8 bytes");
	expect_dropped("m_small", VU_REQ_SET_INFLIGHT_FD, VU_FLAG_VERSION, zero, 16, NULL, 0,
		       "payload of 16 bytes");
	expect_dropped("m_small", VU_REQ_ADD_MEM_REG, VU_FLAG_VERSION, zero, 32, NULL, 0,
		       "payload of 32 bytes");
	/* Two regions announced, one sent. */
	fds[0] = fds[1] = new_eventfd();
	expect_dropped("m_small", VU_REQ_SET_MEM_TABLE, VU_FLAG_VERSION, &t, 8 + 32, fds, 2,
		       "2 regions in 40 bytes");
	close(fds[0]);
	CHECK_EQ(vt_fd_settle(dmn, before), before);
	finish(NULL, "m_small");
}

/* A size beyond any payload: dropped at the header, the bytes after it never taken as messages. */
static void test_msg_payload_too_large(void)
{
	static const uint32_t sizes[] = { 269, 4096, 0x7fffffff, 0xffffffff };
	uint8_t junk[4096];
	struct vu_msg_hdr inner = { VU_REQ_GET_FEATURES, VU_FLAG_VERSION, 0 };

	/* The "payload" holds well-formed GET_FEATURES requests: none may be answered. */
	for (size_t i = 0; i + sizeof(inner) <= sizeof(junk); i += sizeof(inner))
		memcpy(junk + i, &inner, sizeof(inner));
	REQUIRE(vt_ctrlr_create(dmn, "m_large", false));
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct vt_guest_opts o = { 0 };
		size_t mark = vt_log_mark(dmn);
		struct vt_guest *g = vt_guest_open(dmn, "m_large", &o);
		struct vu_msg_hdr hdr = { VU_REQ_GET_CONFIG, VU_FLAG_VERSION, sizes[i] };

		REQUIRE(g);
		CHECK(send(vt_guest_sock(g), &hdr, sizeof(hdr), MSG_NOSIGNAL) == sizeof(hdr));
		/* The daemon may hang up while we write: that is fine. */
		(void)!send(vt_guest_sock(g), junk, sizeof(junk), MSG_NOSIGNAL);
		CHECK_MSG(vt_guest_wait_eof(g), "size %u: not dropped, or answered", sizes[i]);
		CHECK(vt_log_wait(dmn, mark, "too large"));
		vt_guest_close(g);
		CHECK(vt_wait_disconnected(dmn, "m_large"));
	}
	finish(NULL, "m_large");
}

static void test_msg_unknown_request(void)
{
	static const uint32_t unknown[] = { 0, 19, 26, 99, 1000, 0xffffffff };
	struct vt_guest *g = setup("m_unknown", "GET_QUEUE_NUM");
	uint64_t value = 0, features;
	size_t mark;

	REQUIRE(g);
	mark = vt_log_mark(dmn);
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		/* With NEED_REPLY: a non-zero ack. */
		CHECK_EQ(vt_guest_call(g, unknown[i], &value, sizeof(value), NULL, 0), 1);
		/* Without: nothing, and the next request is answered as usual. */
		CHECK(vt_guest_send(g, unknown[i], VU_FLAG_VERSION, &value, sizeof(value), NULL,
				    0) == 0);
		CHECK_EQ(vt_guest_get(g, VU_REQ_GET_FEATURES, NULL, 0, &features, sizeof(features)),
			 8);
	}
	/* Known but not supported (no LOG_SHMFD offered). */
	CHECK_EQ(vt_guest_call(g, VU_REQ_SET_LOG_BASE, &value, sizeof(value), NULL, 0), 1);
	CHECK(vt_log_has(dmn, mark, "UNKNOWN (99) not supported"));
	finish_handshake(g, "GET_QUEUE_NUM");
	finish(g, "m_unknown");
}

static void test_msg_mem_table_bad_counts(void)
{
	struct vu_wire_mem_table t = { .nregions = 1 };
	int fds[9], before;

	for (int i = 0; i < 9; i++)
		fds[i] = new_eventfd();
	REQUIRE(vt_ctrlr_create(dmn, "m_nregions", false));
	before = vt_fd_settle(dmn, -1);
	t.regions[0] = (struct vu_wire_mem_region){ 0, 1 << 20, 0x10000000, 0 };
	/* More regions than the table holds. */
	t.nregions = 9;
	expect_dropped("m_nregions", VU_REQ_SET_MEM_TABLE, VU_FLAG_VERSION, &t, sizeof(t), fds, 8,
		       "SET_MEM_TABLE: 9 regions");
	t.nregions = 0xffffffff;
	expect_dropped("m_nregions", VU_REQ_SET_MEM_TABLE, VU_FLAG_VERSION, &t, sizeof(t), fds, 8,
		       "SET_MEM_TABLE: 4294967295 regions");
	/* fds that do not match the regions. */
	t.nregions = 1;
	expect_dropped("m_nregions", VU_REQ_SET_MEM_TABLE, VU_FLAG_VERSION, &t, 8 + 32, NULL, 0,
		       "carries 0 fds, expected 1");
	expect_dropped("m_nregions", VU_REQ_SET_MEM_TABLE, VU_FLAG_VERSION, &t, 8 + 32, fds, 2,
		       "carries 2 fds, expected 1");
	t.nregions = 2;
	t.regions[1] = (struct vu_wire_mem_region){ 2 << 20, 1 << 20, 0x20000000, 0 };
	expect_dropped("m_nregions", VU_REQ_SET_MEM_TABLE, VU_FLAG_VERSION, &t, 8 + 64, fds, 1,
		       "carries 1 fds, expected 2");
	/* More fds than any message may carry. */
	expect_dropped("m_nregions", VU_REQ_SET_MEM_TABLE, VU_FLAG_VERSION, &t, 8 + 64, fds, 9,
		       "receive failed");
	CHECK_EQ(vt_fd_settle(dmn, before), before);
	close_all(fds, 9);
	finish(NULL, "m_nregions");
}

/* SET_MEM_TABLE (or ADD_MEM_REG) with one region on fd; returns the ack. */
static int send_region(struct vt_guest *g, bool add, uint64_t gpa, uint64_t size, uint64_t offset,
		       int fd)
{
	struct vu_wire_mem_table t = { .nregions = 1 };
	struct vu_wire_mem_single one = { 0 };
	struct vu_wire_mem_region r = { gpa, size, (uintptr_t)vt_mem(g) + offset, offset };

	t.regions[0] = r;
	one.region = r;
	if (add)
		return vt_guest_call(g, VU_REQ_ADD_MEM_REG, &one, sizeof(one), &fd, 1);
	return vt_guest_call(g, VU_REQ_SET_MEM_TABLE, &t, 8 + sizeof(r), &fd, 1);
}

/* Regions the fd cannot back are refused at once (not a SIGBUS on first touch later). */
static void test_msg_mem_region_bad_fd(void)
{
	struct vt_guest *g = setup("m_shortfd", "SET_MEM_TABLE");
	int small = memfd_create("vt-small", MFD_CLOEXEC), efd = new_eventfd(),
	    pipefd[2] = { -1, -1 };
	int before = vt_fd_settle(dmn, -1), maps = vt_map_count(dmn);
	size_t mark;

	REQUIRE(g);
	REQUIRE(small >= 0 && ftruncate(small, 64 << 10) == 0 && pipe2(pipefd, O_CLOEXEC) == 0);
	mark = vt_log_mark(dmn);
	for (int add = 0; add <= 1; add++) {
		CHECK_EQ(send_region(g, add, 0, 1 << 20, 0, small), 1); /* file smaller */
		CHECK_EQ(send_region(g, add, 0, 8 << 10, 60 << 10, small),
			 1); /* offset + size past it */
		CHECK_EQ(send_region(g, add, 0, 0, 0, small), 1); /* empty */
		CHECK_EQ(send_region(g, add, UINT64_MAX - 4095, 8192, 0, small), 1); /* gpa wraps */
		CHECK_EQ(send_region(g, add, 0, 4096, UINT64_MAX - 100, small),
			 1); /* offset wraps */
		CHECK_EQ(send_region(g, add, 0, 4096, 0, efd), 1); /* not mappable */
		CHECK_EQ(send_region(g, add, 0, 4096, 0, pipefd[0]), 1);
	}
	CHECK(vt_log_has(dmn, mark, "SET_MEM_TABLE: region 0 rejected"));
	CHECK(vt_log_has(dmn, mark, "ADD_MEM_REG rejected"));
	CHECK_EQ(vt_fd_settle(dmn, before), before);
	CHECK_EQ(vt_map_count(dmn), maps);
	/* The file with the right size works on the same connection. */
	CHECK_EQ(send_region(g, false, 0, 64 << 10, 0, small), 0);
	close(small);
	close(efd);
	close_all(pipefd, 2);
	finish_handshake(g, "SET_MEM_TABLE");
	finish(g, "m_shortfd");
}

static void test_msg_mem_regions_overlap(void)
{
	struct vt_guest *g = setup("m_overlap", "SET_MEM_TABLE");
	struct vu_wire_mem_table t = { .nregions = 2 };
	int fd, fds[2];
	uint64_t base;

	REQUIRE(g);
	fd = vt_mem_fd(g);
	fds[0] = fds[1] = fd;
	base = (uintptr_t)vt_mem(g);
	t.regions[0] = (struct vu_wire_mem_region){ 0, 1 << 20, base, 0 };
	t.regions[1] = (struct vu_wire_mem_region){ 512 << 10, 1 << 20, base + (1 << 20), 1 << 20 };
	CHECK_EQ(vt_guest_call(g, VU_REQ_SET_MEM_TABLE, &t, 8 + 64, fds, 2), 1);
	t.regions[1].gpa = 0; /* the very same range */
	CHECK_EQ(vt_guest_call(g, VU_REQ_SET_MEM_TABLE, &t, 8 + 64, fds, 2), 1);
	/* ADD_MEM_REG over a region already there; REM_MEM_REG of one that is not. */
	CHECK_EQ(send_region(g, false, 0, 1 << 20, 0, fd), 0);
	CHECK_EQ(send_region(g, true, 1 << 19, 1 << 20, 1 << 20, fd), 1);
	{
		struct vu_wire_mem_single one = { .region = { 8 << 20, 4096, base, 0 } };

		CHECK_EQ(vt_guest_call(g, VU_REQ_REM_MEM_REG, &one, sizeof(one), NULL, 0), 1);
	}
	finish_handshake(g, "SET_MEM_TABLE");
	finish(g, "m_overlap");
}

/* ADD_MEM_REG until the slots run out; REM_MEM_REG unmaps each again. */
static void test_msg_mem_slots_exhausted(void)
{
	struct vt_guest *g = setup("m_slots", "SET_MEM_TABLE");
	int maps, fd, n;
	size_t mark;

	REQUIRE(g);
	fd = vt_mem_fd(g);
	maps = vt_map_count(dmn);
	mark = vt_log_mark(dmn);
	for (n = 0; n < 64; n++)
		if (send_region(g, true, (uint64_t)n << 17, 64 << 10, (uint64_t)n << 16, fd) != 0)
			break;
	CHECK_EQ(n, 32);
	CHECK(vt_log_has(dmn, mark, "ADD_MEM_REG rejected: No space left on device"));
	CHECK_EQ(vt_map_count(dmn), maps + 32);
	for (int i = 0; i < n; i++) {
		struct vu_wire_mem_single one = { .region = { (uint64_t)i << 17, 64 << 10, 0, 0 } };

		CHECK_EQ(vt_guest_call(g, VU_REQ_REM_MEM_REG, &one, sizeof(one), NULL, 0), 0);
	}
	CHECK_EQ(vt_map_count(dmn), maps);
	finish_handshake(g, "SET_MEM_TABLE");
	finish(g, "m_slots");
}

static void test_msg_vring_num_invalid(void)
{
	static const uint32_t bad[] = { 0, 3, 100, 32769, 65536, 0xffffffff };
	struct vt_guest *g = setup("m_num", "SET_VRING_NUM");
	struct vu_wire_vring_state s = { 0, 0 };
	size_t mark;

	REQUIRE(g);
	mark = vt_log_mark(dmn);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s.num = bad[i];
		CHECK_MSG(vt_guest_call(g, VU_REQ_SET_VRING_NUM, &s, sizeof(s), NULL, 0) == 1,
			  "size %u taken", bad[i]);
	}
	CHECK(vt_log_has(dmn, mark, "SET_VRING_NUM: bad size 3"));
	s.num = 32768;
	CHECK_EQ(vt_guest_call(g, VU_REQ_SET_VRING_NUM, &s, sizeof(s), NULL, 0), 0);
	finish_handshake(g, "SET_VRING_NUM");
	finish(g, "m_num");
}

/* Every per-queue message with an index past the device's queues fails, and keeps no fd. */
static void test_msg_queue_index_out_of_range(void)
{
	static const uint32_t bad[] = { 32, 63, 64, 255, 256, 0xffffffff };
	static const uint32_t state_reqs[] = { VU_REQ_SET_VRING_NUM, VU_REQ_SET_VRING_BASE,
					       VU_REQ_SET_VRING_ENABLE };
	static const uint32_t fd_reqs[] = { VU_REQ_SET_VRING_KICK, VU_REQ_SET_VRING_CALL,
					    VU_REQ_SET_VRING_ERR };
	struct vt_guest *g = setup("m_index", "SET_VRING_NUM");
	int before, efd = new_eventfd();
	size_t mark;

	REQUIRE(g);
	before = vt_fd_settle(dmn, -1);
	mark = vt_log_mark(dmn);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct vu_wire_vring_state s = { bad[i], 64 };
		struct vu_wire_vring_addr a = { .index = bad[i] };
		uint64_t u = bad[i] & 0xff; /* the u64 messages carry the index in 8 bits */

		for (size_t k = 0; k < sizeof(state_reqs) / sizeof(state_reqs[0]); k++)
			CHECK_MSG(vt_guest_call(g, state_reqs[k], &s, sizeof(s), NULL, 0) == 1,
				  "req %u index %u", state_reqs[k], bad[i]);
		CHECK_EQ(vt_guest_call(g, VU_REQ_SET_VRING_ADDR, &a, sizeof(a), NULL, 0), 1);
		if (u >= 32)
			for (size_t k = 0; k < sizeof(fd_reqs) / sizeof(fd_reqs[0]); k++)
				CHECK_MSG(vt_guest_call(g, fd_reqs[k], &u, sizeof(u), &efd, 1) == 1,
					  "req %u index %llu", fd_reqs[k], (unsigned long long)u);
		/* GET_VRING_BASE has a reply of its own: it still comes. */
		CHECK_EQ(vt_guest_get(g, VU_REQ_GET_VRING_BASE, &s, sizeof(s), &s, sizeof(s)), 8);
	}
	CHECK(vt_log_has(dmn, mark, "SET_VRING_ENABLE: queue 64 out of range (32 queues)"));
	CHECK(vt_log_has(dmn, mark, "SET_VRING_KICK: queue 255 out of range"));
	CHECK_EQ(vt_fd_settle(dmn, before), before);
	close(efd);
	finish_handshake(g, "SET_VRING_NUM");
	finish(g, "m_index");
}

/* Ring addresses outside guest memory (or misaligned): the queue does not start, says so, and
 * starts once the front-end gives good ones. */
static void test_msg_vring_addr_outside(void)
{
	struct vt_guest_opts o = { 0 };
	struct vt_guest *g;
	uint64_t good[3], bad[3];
	size_t mark;
	int64_t shifts[3][3];
	uint64_t one = 0;
	int kick = new_eventfd();

	REQUIRE(vt_ctrlr_create(dmn, "m_addr", false));
	g = vt_guest_connect(dmn, "m_addr", &o);
	REQUIRE(g);
	vt_guest_ring_addrs(g, 0, good);
	/* The whole table outside; the used ring straddling the end; a misaligned descriptor
	 * table. */
	memset(shifts, 0, sizeof(shifts));
	shifts[0][0] = (int64_t)vt_mem_size(g);
	shifts[1][2] = (int64_t)(vt_mem_size(g) - (good[2] - (uintptr_t)vt_mem(g))) - 8;
	shifts[2][0] = 2;
	for (int k = 0; k < 3; k++) {
		mark = vt_log_mark(dmn);
		CHECK(vt_guest_get_base(g, 0) >= 0);
		for (int j = 0; j < 3; j++)
			bad[j] = good[j] + shifts[k][j];
		CHECK_EQ(vt_guest_set_ring_addrs(g, 0, bad), 0);
		CHECK_EQ(vt_guest_call(g, VU_REQ_SET_VRING_KICK, &one, sizeof(one), &kick, 1), 0);
		CHECK(vt_log_wait(dmn, mark,
				  "queue 0: cannot start: ring addresses or position invalid"));
		CHECK(vt_guest_io_ok(g, 1));
	}
	/* Good addresses again: the queue starts. */
	CHECK(vt_guest_get_base(g, 0) >= 0);
	CHECK_EQ(vt_guest_set_ring_addrs(g, 0, good), 0);
	CHECK_EQ(vt_guest_step(g, vt_guest_step_index(g, "SET_VRING_KICK", 0)), 0);
	CHECK(vt_guest_io_ok(g, 0));
	close(kick);
	finish(g, "m_addr");
}

static void test_msg_get_config_bounds(void)
{
	struct vt_guest *g = setup("m_config", "SET_BACKEND_REQ_FD");
	struct vu_wire_config c;
	static const struct {
		uint32_t offset, size;
	} bad[] = {
		{ 0, 257 }, { 200, 100 }, { 256, 1 }, { 257, 0 },
		{ 0xffffffff, 2 }, { 1, 0xffffffff }, { 0xffffff00, 0x100 },
	};
	size_t mark;
	int rc;

	REQUIRE(g);
	mark = vt_log_mark(dmn);
	/* Every size libblkio or cloud-hypervisor may ask for. */
	for (uint32_t size = 1; size <= 256; size++) {
		memset(&c, 0xaa, sizeof(c));
		c.offset = 0;
		c.size = size;
		c.flags = 0;
		rc = vt_guest_get(g, VU_REQ_GET_CONFIG, &c, VU_WIRE_CONFIG_HDR + size, &c,
				  sizeof(c));
		CHECK_MSG(rc == (int)(VU_WIRE_CONFIG_HDR + size), "size %u: reply %d", size, rc);
		if (size >= 8) {
			uint64_t capacity;

			memcpy(&capacity, c.payload, sizeof(capacity));
			CHECK_EQ(capacity, VT_BLOCKS * VT_BLOCK_SIZE / 512);
		}
	}
	c = (struct vu_wire_config){ .offset = 255, .size = 1 };
	CHECK_EQ(vt_guest_get(g, VU_REQ_GET_CONFIG, &c, VU_WIRE_CONFIG_HDR + 1, &c, sizeof(c)), 13);
	/* Out of bounds: an empty reply. */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&c, 0, sizeof(c));
		c.offset = bad[i].offset;
		c.size = bad[i].size;
		rc = vt_guest_get(g, VU_REQ_GET_CONFIG, &c, sizeof(c), &c, sizeof(c));
		CHECK_MSG(rc == 0, "offset %u size %u: reply of %d bytes", bad[i].offset,
			  bad[i].size, rc);
	}
	/* A size larger than the payload that came with it. */
	c = (struct vu_wire_config){ .offset = 0, .size = 60 };
	CHECK_EQ(vt_guest_get(g, VU_REQ_GET_CONFIG, &c, VU_WIRE_CONFIG_HDR + 8, &c, sizeof(c)), 0);
	CHECK(vt_log_has(dmn, mark, "GET_CONFIG offset 200 size 100 refused"));
	finish_handshake(g, "SET_BACKEND_REQ_FD");
	finish(g, "m_config");
}

static void test_msg_features_not_offered(void)
{
	struct vt_guest *g = setup("m_features", "GET_QUEUE_NUM");
	uint64_t offered, f;
	size_t mark;

	REQUIRE(g);
	mark = vt_log_mark(dmn);
	REQUIRE(vt_guest_get(g, VU_REQ_GET_FEATURES, NULL, 0, &offered, sizeof(offered)) == 8);
	for (int bit = 0; bit < 64; bit++) {
		if (offered & (1ULL << bit))
			continue;
		f = offered | (1ULL << bit);
		CHECK_MSG(vt_guest_call(g, VU_REQ_SET_FEATURES, &f, sizeof(f), NULL, 0) == 1,
			  "bit %d taken", bit);
	}
	CHECK(vt_log_has(dmn, mark, "asks for features not offered"));
	f = 1ULL << 40;
	CHECK_EQ(vt_guest_call(g, VU_REQ_SET_PROTOCOL_FEATURES, &f, sizeof(f), NULL, 0), 1);
	finish_handshake(g, "GET_QUEUE_NUM");
	finish(g, "m_features");
}

/* fds on messages that take none: the connection goes, the fds with it. */
static void test_msg_stray_fds(void)
{
	uint64_t u = 0;
	struct vu_wire_vring_state s = { 0, 64 };
	int fds[8], before;

	for (int i = 0; i < 8; i++)
		fds[i] = new_eventfd();
	REQUIRE(vt_ctrlr_create(dmn, "m_fds", false));
	before = vt_fd_settle(dmn, -1);
	for (int round = 0; round < 10; round++) {
		expect_dropped("m_fds", VU_REQ_GET_FEATURES, VU_FLAG_VERSION, NULL, 0, fds, 3,
			       "carries 3 fds, expected 0");
		expect_dropped("m_fds", VU_REQ_SET_OWNER, VU_FLAG_VERSION, NULL, 0, fds, 1,
			       "carries 1 fds");
		expect_dropped("m_fds", VU_REQ_SET_VRING_NUM, VU_FLAG_VERSION, &s, sizeof(s), fds,
			       8, "carries 8 fds");
		u = VU_VRING_NOFD;
		expect_dropped("m_fds", VU_REQ_SET_VRING_CALL, VU_FLAG_VERSION, &u, sizeof(u), fds,
			       1, "carries 1 fds");
	}
	CHECK_EQ(vt_fd_settle(dmn, before), before);
	close_all(fds, 8);
	finish(NULL, "m_fds");
}

/* Every message of the handshake in one-byte writes, fds on the first. */
static void test_msg_one_byte_writes(void)
{
	struct vt_guest_opts o = { .dribble = true };
	struct vt_guest *g;

	REQUIRE(vt_ctrlr_create(dmn, "m_dribble", false));
	g = vt_guest_connect(dmn, "m_dribble", &o);
	REQUIRE(g);
	CHECK(vt_guest_io_ok(g, 0));
	CHECK(vt_guest_io_ok(g, 1));
	CHECK_EQ(vt_guest_get_base(g, 0), 1);
	finish(g, "m_dribble");
}

/* A front-end that stops in the middle of a message and goes away. */
static void test_msg_cut_short(void)
{
	struct vu_msg_hdr hdr = { VU_REQ_SET_MEM_TABLE, VU_FLAG_VERSION, 8 + 32 };
	struct vu_wire_mem_table t = { .nregions = 1 };
	struct vt_guest_opts o = { 0 };
	int before, fd = new_eventfd();

	REQUIRE(vt_ctrlr_create(dmn, "m_cut", false));
	before = vt_fd_settle(dmn, -1);
	for (int cut = 0; cut < 3; cut++) {
		struct vt_guest *g = vt_guest_open(dmn, "m_cut", &o);
		struct msghdr mh = { 0 };
		union {
			char buf[CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} ctl;
		struct iovec iov = { &hdr, cut == 0 ? 5 : sizeof(hdr) };
		struct cmsghdr *cm;

		REQUIRE(g);
		/* 5 bytes of the header; the header; the header and half the payload; each with
		 * the fd. */
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
		CHECK(sendmsg(vt_guest_sock(g), &mh, MSG_NOSIGNAL) == (ssize_t)iov.iov_len);
		if (cut == 2)
			CHECK(send(vt_guest_sock(g), &t, 20, MSG_NOSIGNAL) == 20);
		vt_guest_close(g);
		CHECK(vt_wait_disconnected(dmn, "m_cut"));
		CHECK_EQ(vt_fd_settle(dmn, before), before);
	}
	close(fd);
	finish(NULL, "m_cut");
}

/* A call fd that blocks (a full pipe) must not stall the worker that serves every controller. */
static void test_msg_blocking_call_fd(void)
{
	struct vt_guest *g = setup("m_callfd", "SET_VRING_CALL");
	int p[2], call_idx;
	uint64_t q0 = 0;
	char junk[4096] = { 0 };

	REQUIRE(g);
	REQUIRE(pipe2(p, O_CLOEXEC) == 0);
	/* Fill the pipe, then hand its (blocking) write end over as queue 0's call fd. */
	fcntl(p[1], F_SETFL, O_NONBLOCK);
	while (write(p[1], junk, sizeof(junk)) > 0)
		;
	fcntl(p[1], F_SETFL, 0);
	call_idx = vt_guest_step_index(g, "SET_VRING_CALL", 0);
	CHECK_EQ(vt_guest_call(g, VU_REQ_SET_VRING_CALL, &q0, sizeof(q0), &p[1], 1), 0);
	CHECK(vt_guest_run(g, call_idx + 1, vt_guest_nsteps(g)));
	/* Queue 0 completes (we poll the used ring) and the bystander is still served. */
	CHECK(vt_guest_io_ok(g, 0));
	CHECK(vt_guest_io_ok(g, 0));
	CHECK(vt_front_io_ok(bystander, 0, 64));
	close_all(p, 2);
	finish(g, "m_callfd");
}

/* GET_INFLIGHT_FD asks the back-end for shared memory sized by the front-end's numbers: absurd
 * ones get no area (mmap_size 0); SET_INFLIGHT_FD with an area its fd cannot back is refused. */
static void test_msg_inflight_bad(void)
{
	static const struct {
		uint16_t num_queues, queue_size;
	} bad[] = { { 0, 64 }, { 2, 0 }, { 2, 40000 }, { 33, 64 }, { 65535, 32768 } };
	struct vt_guest *g = setup("m_inflight", "GET_INFLIGHT_FD");
	struct vu_wire_inflight in;
	int small = memfd_create("vt-small", MFD_CLOEXEC), efd = new_eventfd(), maps;

	REQUIRE(g);
	REQUIRE(small >= 0 && ftruncate(small, 4096) == 0);
	maps = vt_map_count(dmn);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint32_t req;
		int fd, rc;

		in = (struct vu_wire_inflight){ .num_queues = bad[i].num_queues,
						.queue_size = bad[i].queue_size };
		CHECK(vt_guest_send(g, VU_REQ_GET_INFLIGHT_FD, VU_FLAG_VERSION, &in, sizeof(in),
				    NULL, 0) == 0);
		rc = vt_guest_recv(g, &req, &in, sizeof(in), &fd, VT_WAIT_MS);
		CHECK_EQ(rc, 24);
		CHECK_MSG(in.mmap_size == 0, "%u queues of %u: an area of %llu bytes",
			  bad[i].num_queues, bad[i].queue_size, (unsigned long long)in.mmap_size);
		if (fd >= 0)
			close(fd);
	}
	CHECK_EQ(vt_map_count(dmn), maps);
	in = (struct vu_wire_inflight){ .mmap_size = 1 << 20, .num_queues = 2, .queue_size = 64 };
	CHECK_EQ(vt_guest_call(g, VU_REQ_SET_INFLIGHT_FD, &in, sizeof(in), &small, 1), 1);
	CHECK_EQ(vt_guest_call(g, VU_REQ_SET_INFLIGHT_FD, &in, sizeof(in), &efd, 1), 1);
	in = (struct vu_wire_inflight){
		.mmap_size = 4096, .mmap_offset = UINT64_MAX - 100, .num_queues = 1, .queue_size = 8
	};
	CHECK_EQ(vt_guest_call(g, VU_REQ_SET_INFLIGHT_FD, &in, sizeof(in), &small, 1), 1);
	close(small);
	close(efd);
	finish_handshake(g, "GET_INFLIGHT_FD");
	finish(g, "m_inflight");
}

/* A packed ring position (SET_VRING_BASE) beyond the ring: the queue does not start. */
static void test_msg_packed_base_beyond_ring(void)
{
	struct vt_guest_opts o = { .packed = true };
	struct vt_guest *g;
	size_t mark;

	REQUIRE(vt_ctrlr_create(dmn, "m_pbase", true));
	g = vt_guest_open(dmn, "m_pbase", &o);
	REQUIRE(g);
	vt_guest_set_start(g, 0, 0x8000 | 64);
	mark = vt_log_mark(dmn);
	CHECK(vt_guest_run(g, 0, vt_guest_nsteps(g)));
	CHECK(vt_log_wait(dmn, mark, "queue 0: cannot start"));
	CHECK(vt_guest_io_ok(g, 1));
	/* A ring nothing was ever set up for answers GET_VRING_BASE too. */
	CHECK_EQ(vt_guest_get_base(g, 5), 0);
	finish(g, "m_pbase");
}

/* A back-end channel the front-end never reads (its buffer full before it is even handed over)
 * must not block the daemon when a config change is to be announced. */
static void test_msg_backend_channel_full(void)
{
	struct vt_guest_opts o = { 0 };
	struct vt_guest *g;
	char junk[4096] = { 0 };
	uint8_t buf[64];
	int sv[2], owner;
	size_t mark;

	REQUIRE(vt_rpc_ok(dmn, "bdev_null_create",
			  "{\"name\":\"m_chan_bdev\",\"num_blocks\":2048,\"block_size\":512}"));
	REQUIRE(vt_rpc_ok(dmn, "vhost_create_blk_controller",
			  "{\"ctrlr\":\"m_chan\",\"dev_name\":\"m_chan_bdev\"}"));
	g = vt_guest_open(dmn, "m_chan", &o);
	REQUIRE(g);
	REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) == 0);
	while (send(sv[1], junk, sizeof(junk), MSG_NOSIGNAL) > 0)
		;
	fcntl(sv[1], F_SETFL, 0); /* blocking again, and full */
	owner = vt_guest_step_index(g, "SET_BACKEND_REQ_FD", 0);
	CHECK(vt_guest_run(g, 0, owner));
	CHECK_EQ(vt_guest_call(g, VU_REQ_SET_BACKEND_REQ_FD, NULL, 0, &sv[1], 1), 0);
	close(sv[1]);
	CHECK(vt_guest_run(g, owner + 1, vt_guest_nsteps(g)));
	mark = vt_log_mark(dmn);
	CHECK(vt_rpc_ok(dmn, "bdev_null_resize", "{\"name\":\"m_chan_bdev\",\"new_size\":2}"));
	CHECK(vt_log_wait(dmn, mark, "guest NOT notified"));
	CHECK(vt_guest_io_ok(g, 0));
	CHECK(vt_front_io_ok(bystander, 0, 64));
	/* Once the front-end reads its channel, the next change gets through. */
	while (recv(sv[0], junk, sizeof(junk), MSG_DONTWAIT) > 0)
		;
	mark = vt_log_mark(dmn);
	CHECK(vt_rpc_ok(dmn, "bdev_null_resize", "{\"name\":\"m_chan_bdev\",\"new_size\":3}"));
	CHECK(vt_log_wait(dmn, mark, "guest notified"));
	CHECK_EQ(recv(sv[0], buf, sizeof(buf), 0), 12);
	CHECK_EQ(*(uint32_t *)buf, VU_BACKEND_CONFIG_CHANGE_MSG);
	close(sv[0]);
	vt_guest_close(g);
	CHECK(vt_wait_disconnected(dmn, "m_chan"));
	CHECK(vt_rpc_ok(dmn, "vhost_delete_controller", "{\"ctrlr\":\"m_chan\"}"));
	CHECK(vt_rpc_ok(dmn, "bdev_null_delete", "{\"name\":\"m_chan_bdev\"}"));
}

/* Call fds swapped again and again under a running queue: the old ones are closed. */
static void test_msg_call_fd_swapped_while_running(void)
{
	struct vt_guest_opts o = { 0 };
	struct vt_guest *g;
	int before;

	REQUIRE(vt_ctrlr_create(dmn, "m_swap", false));
	g = vt_guest_connect(dmn, "m_swap", &o);
	REQUIRE(g);
	CHECK(vt_guest_io_ok(g, 0));
	before = vt_fd_settle(dmn, -1);
	for (int i = 0; i < 100; i++) {
		int efd = new_eventfd();
		uint64_t q = (uint64_t)(i % 2);

		CHECK_EQ(vt_guest_call(g, VU_REQ_SET_VRING_CALL, &q, sizeof(q), &efd, 1), 0);
		close(efd);
		if (i % 10 == 0)
			CHECK(vt_guest_io_ok(g, i % 2));
	}
	/* Back to our own call fds, and no fd left behind. */
	CHECK_EQ(vt_guest_step(g, vt_guest_step_index(g, "SET_VRING_CALL", 0)), 0);
	CHECK_EQ(vt_guest_step(g, vt_guest_step_index(g, "SET_VRING_CALL", 1)), 0);
	CHECK_EQ(vt_fd_settle(dmn, before), before);
	CHECK(vt_guest_io_ok(g, 0));
	finish(g, "m_swap");
}

int main(int argc, char **argv)
{
	static const struct tap_test tests[] = {
		TAP_TEST(test_msg_bad_version),
		TAP_TEST(test_msg_payload_too_small),
		TAP_TEST(test_msg_payload_too_large),
		TAP_TEST(test_msg_unknown_request),
		TAP_TEST(test_msg_mem_table_bad_counts),
		TAP_TEST(test_msg_mem_region_bad_fd),
		TAP_TEST(test_msg_mem_regions_overlap),
		TAP_TEST(test_msg_mem_slots_exhausted),
		TAP_TEST(test_msg_vring_num_invalid),
		TAP_TEST(test_msg_queue_index_out_of_range),
		TAP_TEST(test_msg_vring_addr_outside),
		TAP_TEST(test_msg_get_config_bounds),
		TAP_TEST(test_msg_features_not_offered),
		TAP_TEST(test_msg_stray_fds),
		TAP_TEST(test_msg_one_byte_writes),
		TAP_TEST(test_msg_cut_short),
		TAP_TEST(test_msg_blocking_call_fd),
		TAP_TEST(test_msg_inflight_bad),
		TAP_TEST(test_msg_packed_base_beyond_ring),
		TAP_TEST(test_msg_backend_channel_full),
		TAP_TEST(test_msg_call_fd_swapped_while_running),
	};

	return vt_main(tests, TAP_COUNT(tests), argc, argv, &dmn, &bystander);
}
