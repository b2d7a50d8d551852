/*
 * A hostile guest's rings against a real vhostd: descriptors outside guest memory, loops, bad
 * indexes, bad indirect tables, too many segments, wrong directions, on split and packed rings.
 * A malformed chain must come back used with length 0 and the queue go on; a corrupt ring must stop
 * its queue. Either way the daemon lives, logs the problem, its other queues and an unrelated
 * controller (the bystander, driven by the front-end library) keep working, and nothing outside
 * the guest's buffers is written.
 */
#include "vt.h"

#include "tap.h"
#include "vhost/vhost.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct test_daemon *dmn;
static struct vu_front *bystander;

static struct vt_guest *setup(const char *ctrlr, const struct vt_guest_opts *o)
{
	if (!vt_ctrlr_create(dmn, ctrlr, o->packed))
		return NULL;
	return vt_guest_connect(dmn, ctrlr, o);
}

/* The daemon lives, the bystander works, and the controller goes away cleanly. */
static void finish(struct vt_guest *g, const char *ctrlr)
{
	char params[128];

	CHECK(test_daemon_alive(dmn));
	CHECK(vt_front_io_ok(bystander, 0, 64));
	vt_guest_close(g);
	CHECK(vt_wait_disconnected(dmn, ctrlr));
	snprintf(params, sizeof(params), "{\"ctrlr\":\"%s\"}", ctrlr);
	CHECK(vt_rpc_ok(dmn, "vhost_delete_controller", params));
	snprintf(params, sizeof(params), "{\"name\":\"%s_bdev\"}", ctrlr);
	CHECK(vt_rpc_ok(dmn, "bdev_malloc_delete", params));
}

/* The chain at head comes back unused (length 0) and the log says why. */
static void expect_rejected(struct vt_guest *g, int q, int head, size_t mark, const char *why)
{
	uint16_t id = 0xffff;
	uint32_t len = 0xffffffff;

	CHECK_MSG(vt_wait_used(g, q, VT_WAIT_MS, &id, &len) == 1, "bad chain at %d not returned",
		  head);
	CHECK_EQ(id, head);
	CHECK_EQ(len, 0);
	CHECK(vt_log_wait(dmn, mark, why));
}

static void expect_no_answer(struct vt_guest *g, int q)
{
	uint16_t id;
	uint32_t len;

	CHECK_MSG(vt_wait_used(g, q, VT_QUIET_MS, &id, &len) == 0,
		  "queue %d answered (id %u len %u)", q, id, len);
}

static bool all_bytes(const uint8_t *p, size_t len, uint8_t value)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != value)
			return false;
	return true;
}

/* A 4 KiB read whose data buffer is [gpa, gpa+len): returns the head. */
static int put_read(struct vt_guest *g, int q, struct vt_blk *b, uint64_t data_gpa, uint32_t len)
{
	struct vt_buf bufs[3];

	vt_blk_prepare(g, b, VIRTIO_BLK_T_IN, 0, 0);
	bufs[0] = (struct vt_buf){ b->hdr_gpa, sizeof(*b->hdr), false };
	bufs[1] = (struct vt_buf){ data_gpa, len, true };
	bufs[2] = (struct vt_buf){ b->status_gpa, 1, true };
	return vt_put_chain(g, q, bufs, 3, false);
}

/* A well-formed 4 KiB read, for a queue that must not answer it. */
static void put_good(struct vt_guest *g, int q)
{
	struct vt_buf bufs[3];
	struct vt_blk b;

	vt_blk_prepare(g, &b, VIRTIO_BLK_T_IN, 0, 4096);
	vt_put_chain(g, q, bufs, vt_blk_bufs(&b, bufs), false);
}

/* --- split rings --- */

static void test_split_desc_outside_memory(void)
{
	struct vt_guest_opts o = { 0 };
	struct vt_guest *g = setup("s_outside", &o);
	struct vt_blk b;
	size_t mark;
	int head;

	REQUIRE(g);
	mark = vt_log_mark(dmn);
	head = put_read(g, 0, &b, vt_mem_size(g) + 4096, 4096);
	expect_rejected(g, 0, head, mark, "outside guest memory");
	CHECK_EQ(*b.status, 0xff);
	/* An address whose end wraps around 2^64. */
	head = put_read(g, 0, &b, UINT64_MAX - 100, 4096);
	expect_rejected(g, 0, head, mark, "outside guest memory");
	/* The queue goes on. */
	CHECK(vt_guest_io_ok(g, 0));
	CHECK(vt_guest_io_ok(g, 1));
	finish(g, "s_outside");
}

static void test_split_range_at_end_of_memory(void)
{
	struct vt_guest_opts o = { 0 };
	struct vt_guest *g = setup("s_end", &o);
	uint8_t *mem;
	size_t size, mark;
	struct vt_blk b;
	struct vt_buf bufs[3];
	uint16_t id;
	uint32_t len;
	int head;

	REQUIRE(g);
	mem = vt_mem(g);
	size = vt_mem_size(g);
	mark = vt_log_mark(dmn);
	/* Data ending exactly at the end of guest memory: valid. */
	memset(mem + size - 4096, 0xee, 4096);
	head = put_read(g, 0, &b, size - 4096, 4096);
	CHECK(vt_wait_used(g, 0, VT_WAIT_MS, &id, &len) == 1);
	CHECK_EQ(id, head);
	CHECK_EQ(len, 4096 + 1);
	CHECK_EQ(*b.status, VIRTIO_BLK_S_OK);
	CHECK(all_bytes(mem + size - 4096, 4096, 0)); /* the bdev's zeroes */
	/* One byte further: invalid, and nothing of it written. */
	memset(mem + size - 4095, 0xee, 4095);
	head = put_read(g, 0, &b, size - 4095, 4096);
	expect_rejected(g, 0, head, mark, "outside guest memory");
	CHECK(all_bytes(mem + size - 4095, 4095, 0xee));
	CHECK_EQ(*b.status, 0xff);
	/* The status byte as the very last byte of memory, then one byte longer. */
	vt_blk_prepare(g, &b, VIRTIO_BLK_T_GET_ID, 0, 0);
	mem[size - 1] = 0xff;
	bufs[0] = (struct vt_buf){ b.hdr_gpa, sizeof(*b.hdr), false };
	bufs[1] = (struct vt_buf){ size - 1, 1, true };
	head = vt_put_chain(g, 0, bufs, 2, false);
	CHECK(vt_wait_used(g, 0, VT_WAIT_MS, &id, &len) == 1);
	CHECK_EQ(id, head);
	CHECK_EQ(len, 1);
	CHECK_EQ(mem[size - 1], VIRTIO_BLK_S_OK);
	mem[size - 1] = 0xff;
	bufs[1].len = 2;
	head = vt_put_chain(g, 0, bufs, 2, false);
	expect_rejected(g, 0, head, mark, "outside guest memory");
	CHECK_EQ(mem[size - 1], 0xff);
	CHECK(vt_guest_io_ok(g, 0));
	finish(g, "s_end");
}

/* Memory in two regions with a hole between: buffers reaching into the hole are refused and
 * the memory next to it (the end of region 0, the start of region 1) stays untouched. */
static void test_split_region_hole(void)
{
	struct vt_guest_opts o = { .two_regions = true };
	struct vt_guest *g = setup("s_hole", &o);
	uint8_t *mem;
	size_t half, size, mark;
	struct vt_blk b;
	uint16_t id;
	uint32_t len;
	int head;

	REQUIRE(g);
	mem = vt_mem(g);
	size = vt_mem_size(g);
	half = size / 2;
	mark = vt_log_mark(dmn);
	memset(mem + half - 8192, 0xee, 16384);
	head = put_read(g, 0, &b, half - 2048, 4096); /* into the hole */
	expect_rejected(g, 0, head, mark, "outside guest memory");
	head = put_read(g, 0, &b, half + 4096, 4096); /* inside it */
	expect_rejected(g, 0, head, mark, "outside guest memory");
	head = put_read(g, 0, &b, size + half - 2048, 4096); /* past the end of region 1 */
	expect_rejected(g, 0, head, mark, "outside guest memory");
	CHECK(all_bytes(mem + half - 8192, 16384, 0xee));
	/* The last 4 KiB of region 1 (gpa M + M/2 - 4096) are the last 4 KiB of the memfd. */
	memset(mem + size - 4096, 0xee, 4096);
	head = put_read(g, 0, &b, size + half - 4096, 4096);
	CHECK(vt_wait_used(g, 0, VT_WAIT_MS, &id, &len) == 1);
	CHECK_EQ(id, head);
	CHECK_EQ(len, 4097);
	CHECK(all_bytes(mem + size - 4096, 4096, 0));
	CHECK(all_bytes(mem + half - 8192, 16384, 0xee));
	finish(g, "s_hole");
}

static void test_split_desc_loop(void)
{
	struct vt_guest_opts o = { 0 };
	struct vt_guest *g = setup("s_loop", &o);
	struct vring_desc *desc;
	struct vt_blk b;
	size_t mark;
	uint16_t i;

	REQUIRE(g);
	desc = vt_split_desc(g, 0);
	mark = vt_log_mark(dmn);
	vt_blk_prepare(g, &b, VIRTIO_BLK_T_IN, 0, 4096);
	/* header -> data -> status -> data -> ... */
	i = vt_split_next_desc(g, 0, 3);
	desc[i] = (struct vring_desc){ b.hdr_gpa, 16, VRING_DESC_F_NEXT, (uint16_t)(i + 1) };
	desc[i + 1] = (struct vring_desc){ b.data_gpa, 512, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE,
					   (uint16_t)(i + 2) };
	desc[i + 2] = (struct vring_desc){ b.status_gpa, 1, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE,
					   (uint16_t)(i + 1) };
	vt_split_publish(g, 0, i);
	expect_rejected(g, 0, i, mark, "descriptor loop");
	/* A descriptor that chains to itself, with zero length so that no segment limit stops it
	 * first. */
	i = vt_split_next_desc(g, 0, 1);
	desc[i] = (struct vring_desc){ b.status_gpa, 0, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, i };
	vt_split_publish(g, 0, i);
	expect_rejected(g, 0, i, mark, "descriptor loop");
	CHECK(all_bytes(b.data, 4096, 0xee));
	CHECK(vt_guest_io_ok(g, 0));
	finish(g, "s_loop");
}

static void test_split_next_out_of_range(void)
{
	struct vt_guest_opts o = { 0 };
	struct vt_guest *g = setup("s_next", &o);
	static const uint16_t bad_next[] = { 64, 65, 0xffff };
	struct vring_desc *desc;
	struct vt_blk b;
	size_t mark;

	REQUIRE(g);
	desc = vt_split_desc(g, 0);
	mark = vt_log_mark(dmn);
	vt_blk_prepare(g, &b, VIRTIO_BLK_T_IN, 0, 4096);
	for (size_t k = 0; k < sizeof(bad_next) / sizeof(bad_next[0]); k++) {
		uint16_t i = vt_split_next_desc(g, 0, 1);

		desc[i] = (struct vring_desc){ b.hdr_gpa, 16, VRING_DESC_F_NEXT, bad_next[k] };
		vt_split_publish(g, 0, i);
		expect_rejected(g, 0, i, mark, "next index out of range");
	}
	CHECK(vt_guest_io_ok(g, 0));
	finish(g, "s_next");
}

/* A head index beyond the ring: the ring is corrupt and its queue stops for good; the next
 * queue, and GET_VRING_BASE on the stopped one, still work. */
static void test_split_head_out_of_range(void)
{
	struct vt_guest_opts o = { 0 };
	struct vt_guest *g = setup("s_head", &o);
	size_t mark;

	REQUIRE(g);
	CHECK(vt_guest_io_ok(g, 0));
	mark = vt_log_mark(dmn);
	vt_split_publish(g, 0, 64);
	CHECK(vt_log_wait(dmn, mark, "head 64 out of range"));
	CHECK(vt_log_has(dmn, mark, "ring corrupt"));
	put_good(g, 0);
	expect_no_answer(g, 0);
	CHECK(vt_guest_io_ok(g, 1));
	CHECK(test_daemon_alive(dmn));
	/* The position stays at the bad entry: one request was consumed before it. */
	CHECK_EQ(vt_guest_get_base(g, 0), 1);
	CHECK(vt_guest_io_ok(g, 1));
	finish(g, "s_head");
}

static void test_split_avail_idx_jump(void)
{
	struct vt_guest_opts o = { 0 };
	struct vt_guest *g = setup("s_jump", &o);
	size_t mark;

	REQUIRE(g);
	mark = vt_log_mark(dmn);
	vt_split_set_avail_idx(g, 0, 64 + 1);
	CHECK(vt_log_wait(dmn, mark, "avail index jumped by 65"));
	put_good(g, 0);
	expect_no_answer(g, 0);
	CHECK(vt_guest_io_ok(g, 1));
	CHECK_EQ(vt_guest_get_base(g, 0), 0);
	finish(g, "s_jump");
}

static void test_split_indirect_nested(void)
{
	struct vt_guest_opts o = { 0 };
	struct vt_guest *g = setup("s_nest", &o);
	struct vring_desc *desc, *inner, *outer;
	struct vt_blk b;
	size_t mark;
	uint16_t i;

	REQUIRE(g);
	desc = vt_split_desc(g, 0);
	mark = vt_log_mark(dmn);
	vt_blk_prepare(g, &b, VIRTIO_BLK_T_IN, 0, 4096);
	inner = vt_alloc(g, 3 * 16, 16);
	inner[0] = (struct vring_desc){ b.hdr_gpa, 16, VRING_DESC_F_NEXT, 1 };
	inner[1] =
		(struct vring_desc){ b.data_gpa, 4096, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2 };
	inner[2] = (struct vring_desc){ b.status_gpa, 1, VRING_DESC_F_WRITE, 0 };
	outer = vt_alloc(g, 16, 16);
	outer[0] = (struct vring_desc){ vt_gpa(g, inner), 3 * 16, VRING_DESC_F_INDIRECT, 0 };
	i = vt_split_next_desc(g, 0, 1);
	desc[i] = (struct vring_desc){ vt_gpa(g, outer), 16, VRING_DESC_F_INDIRECT, 0 };
	vt_split_publish(g, 0, i);
	expect_rejected(g, 0, i, mark, "nested indirect table");
	/* An indirect descriptor that also says NEXT. */
	i = vt_split_next_desc(g, 0, 2);
	desc[i] =
		(struct vring_desc){ vt_gpa(g, inner), 3 * 16,
				     VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, (uint16_t)(i + 1) };
	desc[i + 1] = (struct vring_desc){ b.status_gpa, 1, VRING_DESC_F_WRITE, 0 };
	vt_split_publish(g, 0, i);
	expect_rejected(g, 0, i, mark, "indirect descriptor with NEXT");
	CHECK_EQ(*b.status, 0xff);
	CHECK(all_bytes(b.data, 4096, 0xee));
	CHECK(vt_guest_io_ok(g, 0));
	finish(g, "s_nest");
}

static void test_split_indirect_bad_table(void)
{
	struct vt_guest_opts o = { 0 };
	struct vt_guest *g = setup("s_itab", &o);
	struct vring_desc *desc, *table;
	struct vt_blk b;
	size_t mark, size;
	struct {
		uint64_t addr;
		uint32_t len;
	} bad[4];
	uint64_t table_gpa;

	REQUIRE(g);
	desc = vt_split_desc(g, 0);
	size = vt_mem_size(g);
	mark = vt_log_mark(dmn);
	vt_blk_prepare(g, &b, VIRTIO_BLK_T_IN, 0, 4096);
	table = vt_alloc(g, 3 * 16, 16);
	table[0] = (struct vring_desc){ b.hdr_gpa, 16, VRING_DESC_F_NEXT, 1 };
	table[1] =
		(struct vring_desc){ b.data_gpa, 4096, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2 };
	table[2] = (struct vring_desc){ b.status_gpa, 1, VRING_DESC_F_WRITE, 0 };
	table_gpa = vt_gpa(g, table);
	/* Not a multiple of 16; empty; running past the end of memory; outside it. */
	bad[0].addr = table_gpa;
	bad[0].len = 40;
	bad[1].addr = table_gpa;
	bad[1].len = 0;
	bad[2].addr = size - 32;
	bad[2].len = 48;
	bad[3].addr = size + (1 << 20);
	bad[3].len = 48;
	for (int k = 0; k < 4; k++) {
		uint16_t i = vt_split_next_desc(g, 0, 1);

		desc[i] = (struct vring_desc){ bad[k].addr, bad[k].len, VRING_DESC_F_INDIRECT, 0 };
		vt_split_publish(g, 0, i);
		expect_rejected(g, 0, i, mark, "indirect table malformed or outside guest memory");
	}
	CHECK_EQ(*b.status, 0xff);
	/* The same table with its right length works. */
	{
		uint16_t i = vt_split_next_desc(g, 0, 1), id;
		uint32_t len;

		desc[i] = (struct vring_desc){ vt_gpa(g, table), 48, VRING_DESC_F_INDIRECT, 0 };
		vt_split_publish(g, 0, i);
		CHECK(vt_wait_used(g, 0, VT_WAIT_MS, &id, &len) == 1);
		CHECK_EQ(len, 4097);
		CHECK_EQ(*b.status, VIRTIO_BLK_S_OK);
	}
	finish(g, "s_itab");
}

/* VHOST_REQ_MAX_IOV segments are the most a request may have: one more is refused. */
static void check_segment_limit(struct vt_guest *g, bool indirect, size_t mark)
{
	struct vt_buf bufs[VHOST_REQ_MAX_IOV + 1];
	struct vt_blk b;
	uint16_t id;
	uint32_t len;
	int data_segs = VHOST_REQ_MAX_IOV - 2, head;

	for (int extra = 0; extra <= 1; extra++) {
		int n = data_segs + extra;

		vt_blk_prepare(g, &b, VIRTIO_BLK_T_IN, 0, 512u * n);
		bufs[0] = (struct vt_buf){ b.hdr_gpa, 16, false };
		for (int i = 0; i < n; i++)
			bufs[1 + i] = (struct vt_buf){ b.data_gpa + 512u * i, 512, true };
		bufs[n + 1] = (struct vt_buf){ b.status_gpa, 1, true };
		head = vt_put_chain(g, 0, bufs, n + 2, indirect);
		if (extra) {
			expect_rejected(g, 0, head, mark, "too many segments");
			CHECK_EQ(*b.status, 0xff);
			CHECK(all_bytes(b.data, 512u * n, 0xee));
		} else {
			CHECK(vt_wait_used(g, 0, VT_WAIT_MS, &id, &len) == 1);
			CHECK_EQ(id, head);
			CHECK_EQ(len, 512u * n + 1);
			CHECK_EQ(*b.status, VIRTIO_BLK_S_OK);
		}
	}
}

static void test_split_too_many_segments(void)
{
	struct vt_guest_opts o = { .qsize = 256 };
	struct vt_guest *g = setup("s_segs", &o);
	size_t mark;

	REQUIRE(g);
	mark = vt_log_mark(dmn);
	check_segment_limit(g, false, mark);
	check_segment_limit(g, true, mark);
	CHECK(vt_guest_io_ok(g, 0));
	finish(g, "s_segs");
}

/* Device-readable after device-writable is an ordering violation: a read-only status byte. */
static void test_split_status_read_only(void)
{
	struct vt_guest_opts o = { 0 };
	struct vt_guest *g = setup("s_ro", &o);
	struct vt_buf bufs[3];
	struct vt_blk b;
	size_t mark;
	int head;

	REQUIRE(g);
	mark = vt_log_mark(dmn);
	for (int indirect = 0; indirect <= 1; indirect++) {
		vt_blk_prepare(g, &b, VIRTIO_BLK_T_IN, 0, 4096);
		vt_blk_bufs(&b, bufs);
		bufs[2].write = false;
		head = vt_put_chain(g, 0, bufs, 3, indirect);
		expect_rejected(g, 0, head, mark, "out of order");
		CHECK_EQ(*b.status, 0xff);
		CHECK(all_bytes(b.data, 4096, 0xee));
	}
	CHECK(vt_guest_io_ok(g, 0));
	finish(g, "s_ro");
}

/* A write with nothing device-writable (no status byte, or an empty one) must not be done. */
static void test_split_no_writable_part(void)
{
	struct vt_guest_opts o = { 0 };
	struct vt_guest *g = setup("s_nostat", &o);
	struct vt_buf bufs[3];
	struct vt_blk b, rd;
	uint16_t id;
	uint32_t len;
	int head;

	REQUIRE(g);
	for (int empty_status = 0; empty_status <= 1; empty_status++) {
		vt_blk_prepare(g, &b, VIRTIO_BLK_T_OUT, 100, 4096);
		memset(b.data, 0x5a, 4096);
		vt_blk_bufs(&b, bufs);
		bufs[2].len = 0;
		head = vt_put_chain(g, 0, bufs, empty_status ? 3 : 2, false);
		CHECK(vt_wait_used(g, 0, VT_WAIT_MS, &id, &len) == 1);
		CHECK_EQ(id, head);
		CHECK_EQ(len, 0);
	}
	/* The sector still holds the bdev's zeroes. */
	vt_blk_prepare(g, &rd, VIRTIO_BLK_T_IN, 100, 4096);
	vt_blk_bufs(&rd, bufs);
	head = vt_put_chain(g, 0, bufs, 3, false);
	CHECK(vt_wait_used(g, 0, VT_WAIT_MS, &id, &len) == 1);
	CHECK_EQ(*rd.status, VIRTIO_BLK_S_OK);
	CHECK(all_bytes(rd.data, 4096, 0));
	finish(g, "s_nostat");
}

/* The largest split ring: requests work, a head index of 32768 is corrupt. */
static void test_split_max_queue_size(void)
{
	struct vt_guest_opts o = { .qsize = 32768, .mem_size = 8 << 20 };
	struct vt_guest *g = setup("s_max", &o);
	size_t mark;

	REQUIRE(g);
	CHECK(vt_guest_io_ok(g, 0));
	CHECK(vt_guest_io_ok(g, 1));
	mark = vt_log_mark(dmn);
	vt_split_publish(g, 0, 32768);
	CHECK(vt_log_wait(dmn, mark, "head 32768 out of range (queue size 32768)"));
	CHECK(vt_guest_io_ok(g, 1));
	finish(g, "s_max");
}

/* A Linux-like guest (EVENT_IDX, kicks only when the device asks) doing one request at a time
 * with pauses around the daemon's idle time: the daemon goes to sleep between requests again
 * and again and must never miss the next one. */
static void test_split_event_idx_no_lost_wakeup(void)
{
	struct vt_guest_opts o = { .event_idx = true, .qsize = 256 };
	struct vt_guest *g = setup("s_wakeup", &o);
	struct vt_blk b;
	struct vt_buf bufs[3];
	long long end;
	unsigned seed = 1;
	int n = 0;

	REQUIRE(g);
	vt_blk_prepare(g, &b, VIRTIO_BLK_T_IN, 0, 512);
	vt_blk_bufs(&b, bufs);
	end = test_now_ms() + 3000;
	while (test_now_ms() < end && !tap_current_failed()) {
		struct timespec pause = { 0, 1000 * (long)(rand_r(&seed) % 250) };
		uint16_t id;
		uint32_t len;

		vt_put_chain(g, 0, bufs, 3, false);
		CHECK_MSG(vt_wait_used(g, 0, 2000, &id, &len) == 1, "request %d lost", n);
		n++;
		nanosleep(&pause, NULL);
	}
	printf("# %d requests\n", n);
	finish(g, "s_wakeup");
}

/* --- packed rings --- */

static void test_packed_desc_outside_memory(void)
{
	struct vt_guest_opts o = { .packed = true };
	struct vt_guest *g = setup("p_outside", &o);
	struct vt_blk b;
	size_t mark;
	int head;

	REQUIRE(g);
	mark = vt_log_mark(dmn);
	CHECK(vt_guest_io_ok(g, 0));
	head = put_read(g, 0, &b, vt_mem_size(g) - 2048, 4096);
	expect_rejected(g, 0, head, mark, "outside guest memory");
	head = put_read(g, 0, &b, UINT64_MAX - 100, 4096);
	expect_rejected(g, 0, head, mark, "outside guest memory");
	CHECK_EQ(*b.status, 0xff);
	/* Enough requests afterwards to wrap the ring: the rejected slots were handed back
	 * right. */
	for (int i = 0; i < 70; i++)
		CHECK(vt_guest_io_ok(g, 0));
	CHECK(vt_guest_io_ok(g, 1));
	finish(g, "p_outside");
}

static void test_packed_indirect_bad(void)
{
	struct vt_guest_opts o = { .packed = true };
	struct vt_guest *g = setup("p_ind", &o);
	struct vring_packed_desc *inner, *outer, d[2];
	struct vt_blk b;
	size_t mark;
	int head;

	REQUIRE(g);
	mark = vt_log_mark(dmn);
	vt_blk_prepare(g, &b, VIRTIO_BLK_T_IN, 0, 4096);
	inner = vt_alloc(g, 3 * 16, 16);
	inner[0] = (struct vring_packed_desc){ b.hdr_gpa, 16, 0, 0 };
	inner[1] = (struct vring_packed_desc){ b.data_gpa, 4096, 0, VRING_DESC_F_WRITE };
	inner[2] = (struct vring_packed_desc){ b.status_gpa, 1, 0, VRING_DESC_F_WRITE };
	outer = vt_alloc(g, 16, 16);
	outer[0] = (struct vring_packed_desc){ vt_gpa(g, inner), 48, 0, VRING_DESC_F_INDIRECT };
	/* Nested. */
	d[0] = (struct vring_packed_desc){ vt_gpa(g, outer), 16, 0, VRING_DESC_F_INDIRECT };
	head = vt_packed_put(g, 0, d, 1);
	expect_rejected(g, 0, head, mark, "nested indirect table");
	/* Length not a multiple of 16. */
	d[0] = (struct vring_packed_desc){ vt_gpa(g, inner), 40, 0, VRING_DESC_F_INDIRECT };
	head = vt_packed_put(g, 0, d, 1);
	expect_rejected(g, 0, head, mark, "indirect table malformed");
	/* An indirect descriptor as the second of a chain. */
	d[0] = (struct vring_packed_desc){ b.hdr_gpa, 16, 0, VRING_DESC_F_NEXT };
	d[1] = (struct vring_packed_desc){ vt_gpa(g, inner), 48, 0, VRING_DESC_F_INDIRECT };
	head = vt_packed_put(g, 0, d, 2);
	expect_rejected(g, 0, head, mark, "indirect descriptor inside a chain");
	CHECK_EQ(*b.status, 0xff);
	CHECK(all_bytes(b.data, 4096, 0xee));
	/* The inner table on its own is fine. */
	d[0] = (struct vring_packed_desc){ vt_gpa(g, inner), 48, 0, VRING_DESC_F_INDIRECT };
	head = vt_packed_put(g, 0, d, 1);
	{
		uint16_t id;
		uint32_t len;

		CHECK(vt_wait_used(g, 0, VT_WAIT_MS, &id, &len) == 1);
		CHECK_EQ(id, head);
		CHECK_EQ(len, 4097);
		CHECK_EQ(*b.status, VIRTIO_BLK_S_OK);
	}
	CHECK(vt_guest_io_ok(g, 0));
	finish(g, "p_ind");
}

static void test_packed_status_read_only(void)
{
	struct vt_guest_opts o = { .packed = true };
	struct vt_guest *g = setup("p_ro", &o);
	struct vt_buf bufs[3];
	struct vt_blk b;
	size_t mark;
	int head;

	REQUIRE(g);
	mark = vt_log_mark(dmn);
	for (int indirect = 0; indirect <= 1; indirect++) {
		vt_blk_prepare(g, &b, VIRTIO_BLK_T_IN, 0, 4096);
		vt_blk_bufs(&b, bufs);
		bufs[2].write = false;
		head = vt_put_chain(g, 0, bufs, 3, indirect);
		expect_rejected(g, 0, head, mark, "out of order");
		CHECK_EQ(*b.status, 0xff);
	}
	CHECK(vt_guest_io_ok(g, 0));
	finish(g, "p_ro");
}

static void test_packed_too_many_segments(void)
{
	struct vt_guest_opts o = { .packed = true, .qsize = 256 };
	struct vt_guest *g = setup("p_segs", &o);
	size_t mark;

	REQUIRE(g);
	mark = vt_log_mark(dmn);
	check_segment_limit(g, false, mark);
	check_segment_limit(g, true, mark);
	CHECK(vt_guest_io_ok(g, 0));
	finish(g, "p_segs");
}

/* A chain whose NEXT leads to a descriptor the driver has not made available: corrupt. */
static void test_packed_chain_into_unavailable(void)
{
	struct vt_guest_opts o = { .packed = true };
	struct vt_guest *g = setup("p_unavail", &o);
	struct vring_packed_desc d;
	struct vt_blk b;
	size_t mark;

	REQUIRE(g);
	mark = vt_log_mark(dmn);
	vt_blk_prepare(g, &b, VIRTIO_BLK_T_IN, 0, 0);
	d = (struct vring_packed_desc){ b.hdr_gpa, 16, 0, VRING_DESC_F_NEXT };
	vt_packed_put(g, 0, &d, 1);
	CHECK(vt_log_wait(dmn, mark, "not available: ring corrupt"));
	put_good(g, 0);
	expect_no_answer(g, 0);
	CHECK(vt_guest_io_ok(g, 1));
	finish(g, "p_unavail");
}

/* A chain of NEXT descriptors all the way round the ring: corrupt. */
static void test_packed_chain_longer_than_ring(void)
{
	struct vt_guest_opts o = { .packed = true, .qsize = 16 };
	struct vt_guest *g = setup("p_long", &o);
	struct vring_packed_desc d[16];
	struct vt_blk b;
	size_t mark;

	REQUIRE(g);
	mark = vt_log_mark(dmn);
	vt_blk_prepare(g, &b, VIRTIO_BLK_T_IN, 0, 0);
	for (int i = 0; i < 16; i++)
		d[i] = (struct vring_packed_desc){ b.hdr_gpa, 16, 0, VRING_DESC_F_NEXT };
	vt_packed_put(g, 0, d, 16);
	CHECK(vt_log_wait(dmn, mark, "chain longer than the queue"));
	put_good(g, 0);
	expect_no_answer(g, 0);
	CHECK(vt_guest_io_ok(g, 1));
	finish(g, "p_long");
}

int main(int argc, char **argv)
{
	static const struct tap_test tests[] = {
		TAP_TEST(test_split_desc_outside_memory),
		TAP_TEST(test_split_range_at_end_of_memory),
		TAP_TEST(test_split_region_hole),
		TAP_TEST(test_split_desc_loop),
		TAP_TEST(test_split_next_out_of_range),
		TAP_TEST(test_split_head_out_of_range),
		TAP_TEST(test_split_avail_idx_jump),
		TAP_TEST(test_split_indirect_nested),
		TAP_TEST(test_split_indirect_bad_table),
		TAP_TEST(test_split_too_many_segments),
		TAP_TEST(test_split_status_read_only),
		TAP_TEST(test_split_no_writable_part),
		TAP_TEST(test_split_max_queue_size),
		TAP_TEST(test_split_event_idx_no_lost_wakeup),
		TAP_TEST(test_packed_desc_outside_memory),
		TAP_TEST(test_packed_indirect_bad),
		TAP_TEST(test_packed_status_read_only),
		TAP_TEST(test_packed_too_many_segments),
		TAP_TEST(test_packed_chain_into_unavailable),
		TAP_TEST(test_packed_chain_longer_than_ring),
	};

	return vt_main(tests, TAP_COUNT(tests), argc, argv, &dmn, &bystander);
}
