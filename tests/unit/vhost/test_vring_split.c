/* The split-ring parser against well-formed and hostile chains. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <linux/virtio_ring.h>

#include "ring_fixture.h"

#define QSIZE 8
/* Buffers live at 256 KiB into the region. */
#define BUF_OFF 0x40000

struct split {
	struct ring_fixture fx;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	struct vhost_req req;
};

static int setup(void **state)
{
	struct split *t = calloc(1, sizeof(*t));

	if (!t || fx_init(&t->fx, QSIZE, 1ULL << VIRTIO_RING_F_EVENT_IDX))
		return -1;
	t->desc = (void *)t->fx.guest;
	t->avail = (void *)(t->fx.guest + 0x10000);
	t->used = (void *)(t->fx.guest + 0x20000);
	t->fx.vq->ring = &vring_split_ops;
	vring_split_ops.set_base(t->fx.vq, 0);
	if (vring_split_ops.attach(t->fx.vq))
		return -1;
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct split *t = *state;

	fx_fini(&t->fx);
	free(t);
	return 0;
}

static void set_desc(struct split *t, int i, uint64_t gpa, uint32_t len, uint16_t flags, uint16_t next)
{
	t->desc[i] = (struct vring_desc){ .addr = gpa, .len = len, .flags = flags, .next = next };
}

static void publish(struct split *t, uint16_t head)
{
	t->avail->ring[t->avail->idx % QSIZE] = head;
	t->avail->idx++;
}

static uint64_t buf(int n)
{
	return GUEST_GPA + BUF_OFF + (uint64_t)n * 4096;
}

static void pops_a_blk_style_chain(void **state)
{
	struct split *t = *state;

	t->fx.guest[BUF_OFF + 4096] = 0xa5; /* seen through the back-end's own mapping below */
	set_desc(t, 0, buf(0), 16, VRING_DESC_F_NEXT, 1);
	set_desc(t, 1, buf(1), 4096, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
	set_desc(t, 2, buf(2), 1, VRING_DESC_F_WRITE, 0);
	publish(t, 0);
	assert_int_equal(vring_split_ops.pop(t->fx.vq, &t->req), 1);
	assert_int_equal(t->req.id, 0);
	assert_int_equal(t->req.iovcnt, 3);
	assert_int_equal(t->req.out_cnt, 1);
	assert_int_equal(t->req.out_len, 16);
	assert_int_equal(t->req.in_len, 4097);
	assert_int_equal(*(uint8_t *)t->req.iov[1].iov_base, 0xa5);
	assert_int_equal(vring_split_ops.pop(t->fx.vq, &t->req), 0);
	vring_split_ops.push(t->fx.vq, &t->req, 4097);
	assert_int_equal(t->used->idx, 0); /* the index moves for a batch, in publish */
	vring_split_ops.publish(t->fx.vq);
	assert_int_equal(t->used->idx, 1);
	assert_int_equal(t->used->ring[0].id, 0);
	assert_int_equal(t->used->ring[0].len, 4097);
}

static void pops_an_indirect_chain(void **state)
{
	struct split *t = *state;
	struct vring_desc *table = (void *)(t->fx.guest + BUF_OFF + 8 * 4096);

	table[0] = (struct vring_desc){ buf(0), 16, VRING_DESC_F_NEXT, 1 };
	table[1] = (struct vring_desc){ buf(1), 512, VRING_DESC_F_NEXT, 2 };
	table[2] = (struct vring_desc){ buf(2), 1, VRING_DESC_F_WRITE, 0 };
	set_desc(t, 3, fx_gpa(&t->fx, table), 3 * 16, VRING_DESC_F_INDIRECT, 0);
	publish(t, 3);
	assert_int_equal(vring_split_ops.pop(t->fx.vq, &t->req), 1);
	assert_int_equal(t->req.id, 3);
	assert_int_equal(t->req.out_len, 528);
	assert_int_equal(t->req.in_len, 1);
}

/* A rejected chain is returned used with length 0 and the parser moves on. */
static void expect_rejected(struct split *t, uint16_t head)
{
	uint16_t before = t->used->idx;

	publish(t, head);
	assert_int_equal(vring_split_ops.pop(t->fx.vq, &t->req), 0);
	vring_split_ops.publish(t->fx.vq);
	assert_int_equal(t->used->idx, (uint16_t)(before + 1));
	assert_int_equal(t->used->ring[before % QSIZE].id, head);
	assert_int_equal(t->used->ring[before % QSIZE].len, 0);
	assert_true(t->fx.vq->bad_requests > 0);
}

static void rejects_buffer_outside_memory(void **state)
{
	struct split *t = *state;

	set_desc(t, 0, GUEST_GPA + GUEST_SIZE - 8, 16, 0, 0); /* crosses the end of the region */
	expect_rejected(t, 0);
	set_desc(t, 0, 0x1000, 16, 0, 0); /* below the region */
	expect_rejected(t, 0);
	set_desc(t, 0, UINT64_MAX - 4, 16, 0, 0); /* wraps around */
	expect_rejected(t, 0);
}

static void rejects_descriptor_loop(void **state)
{
	struct split *t = *state;

	set_desc(t, 0, buf(0), 16, VRING_DESC_F_NEXT, 1);
	set_desc(t, 1, buf(1), 16, VRING_DESC_F_NEXT, 0);
	expect_rejected(t, 0);
}

static void rejects_next_out_of_range(void **state)
{
	struct split *t = *state;

	set_desc(t, 0, buf(0), 16, VRING_DESC_F_NEXT, QSIZE);
	expect_rejected(t, 0);
}

static void rejects_readable_after_writable(void **state)
{
	struct split *t = *state;

	set_desc(t, 0, buf(0), 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	set_desc(t, 1, buf(1), 16, 0, 0);
	expect_rejected(t, 0);
}

static void rejects_nested_and_malformed_indirect(void **state)
{
	struct split *t = *state;
	struct vring_desc *table = (void *)(t->fx.guest + BUF_OFF + 8 * 4096);

	table[0] = (struct vring_desc){ fx_gpa(&t->fx, table), 16, VRING_DESC_F_INDIRECT, 0 };
	set_desc(t, 0, fx_gpa(&t->fx, table), 16, VRING_DESC_F_INDIRECT, 0);
	expect_rejected(t, 0); /* nested */
	set_desc(t, 0, fx_gpa(&t->fx, table), 24, VRING_DESC_F_INDIRECT, 0);
	expect_rejected(t, 0); /* length not a multiple of 16 */
	set_desc(t, 0, fx_gpa(&t->fx, table), 0, VRING_DESC_F_INDIRECT, 0);
	expect_rejected(t, 0); /* empty */
	set_desc(t, 0, 0x10, 32, VRING_DESC_F_INDIRECT, 0);
	expect_rejected(t, 0); /* outside memory */
	set_desc(t, 0, fx_gpa(&t->fx, table), 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
	expect_rejected(t, 0); /* INDIRECT with NEXT */
}

static void rejects_chain_with_too_many_segments(void **state)
{
	struct split *t = *state;
	struct vring_desc *table = (void *)(t->fx.guest + BUF_OFF + 8 * 4096);
	int n = VHOST_REQ_MAX_IOV + 1;

	for (int i = 0; i < n; i++)
		table[i] = (struct vring_desc){ buf(0), 1, i + 1 < n ? VRING_DESC_F_NEXT : 0, (uint16_t)(i + 1) };
	set_desc(t, 0, fx_gpa(&t->fx, table), n * 16, VRING_DESC_F_INDIRECT, 0);
	expect_rejected(t, 0);
}

static void corrupt_ring_stops_the_queue(void **state)
{
	struct split *t = *state;

	publish(t, QSIZE); /* head index == queue size */
	assert_int_equal(vring_split_ops.pop(t->fx.vq, &t->req), -EIO);
	t->avail->idx += QSIZE + 5; /* more entries than the ring holds */
	assert_int_equal(vring_split_ops.pop(t->fx.vq, &t->req), -EIO);
}

static void event_idx_decides_interrupts(void **state)
{
	struct split *t = *state;
	uint16_t *used_event = &t->avail->ring[QSIZE];

	set_desc(t, 0, buf(0), 1, VRING_DESC_F_WRITE, 0);
	for (int i = 0; i < 3; i++) {
		publish(t, 0);
		assert_int_equal(vring_split_ops.pop(t->fx.vq, &t->req), 1);
		vring_split_ops.push(t->fx.vq, &t->req, 1);
	}
	*used_event = 0; /* the guest wants an interrupt once entry 0 is used */
	assert_true(vring_split_ops.need_call(t->fx.vq));
	publish(t, 0);
	assert_int_equal(vring_split_ops.pop(t->fx.vq, &t->req), 1);
	vring_split_ops.push(t->fx.vq, &t->req, 1);
	assert_false(vring_split_ops.need_call(t->fx.vq)); /* entry 3 used; event 0 already passed */
	*used_event = 4;
	publish(t, 0);
	assert_int_equal(vring_split_ops.pop(t->fx.vq, &t->req), 1);
	vring_split_ops.push(t->fx.vq, &t->req, 1);
	assert_true(vring_split_ops.need_call(t->fx.vq));
	/* avail_event follows what we consumed when notifications go back on */
	vring_split_ops.set_notify(t->fx.vq, true);
	{
		uint16_t avail_event;

		memcpy(&avail_event, (uint8_t *)t->used + 4 + 8 * QSIZE, sizeof(avail_event));
		assert_int_equal(avail_event, t->fx.vq->last_avail_idx);
	}
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(pops_a_blk_style_chain),
		T(pops_an_indirect_chain),
		T(rejects_buffer_outside_memory),
		T(rejects_descriptor_loop),
		T(rejects_next_out_of_range),
		T(rejects_readable_after_writable),
		T(rejects_nested_and_malformed_indirect),
		T(rejects_chain_with_too_many_segments),
		T(corrupt_ring_stops_the_queue),
		T(event_idx_decides_interrupts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
