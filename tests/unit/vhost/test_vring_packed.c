/* The packed-ring parser: availability by wrap counters, chains, used write-back, hostile input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <linux/virtio_ring.h>

#include "ring_fixture.h"

#define QSIZE 4
#define BUF_OFF 0x40000
#define F_AVAIL (1u << VRING_PACKED_DESC_F_AVAIL)
#define F_USED (1u << VRING_PACKED_DESC_F_USED)

struct packed {
	struct ring_fixture fx;
	struct vring_packed_desc *desc;
	struct vring_packed_desc_event *driver, *device;
	uint16_t next;  /* driver's next slot */
	bool wrap;      /* driver's wrap counter */
	struct vhost_req req;
};

static int setup(void **state)
{
	struct packed *t = calloc(1, sizeof(*t));

	if (!t || fx_init(&t->fx, QSIZE, 1ULL << VIRTIO_RING_F_EVENT_IDX))
		return -1;
	t->desc = (void *)t->fx.guest;
	t->driver = (void *)(t->fx.guest + 0x10000);
	t->device = (void *)(t->fx.guest + 0x20000);
	t->wrap = true;
	vring_packed_ops.set_base(t->fx.vq, 1u << 15); /* index 0, wrap counter 1 */
	if (vring_packed_ops.attach(t->fx.vq))
		return -1;
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct packed *t = *state;

	fx_fini(&t->fx);
	free(t);
	return 0;
}

/* Makes descriptors available the way a driver does: flags last. */
static void add(struct packed *t, uint64_t off, uint32_t len, uint16_t flags, uint16_t id)
{
	struct vring_packed_desc *d = &t->desc[t->next];

	d->addr = GUEST_GPA + BUF_OFF + off;
	d->len = len;
	d->id = id;
	d->flags = flags | (t->wrap ? F_AVAIL : F_USED);
	if (++t->next == QSIZE) {
		t->next = 0;
		t->wrap = !t->wrap;
	}
}

static void pops_chains_across_the_wrap(void **state)
{
	struct packed *t = *state;

	for (int round = 0; round < 3; round++) {
		add(t, 0, 16, VRING_DESC_F_NEXT, 7);
		add(t, 4096, 1, VRING_DESC_F_WRITE, 7);
		assert_int_equal(vring_packed_ops.pop(t->fx.vq, &t->req), 1);
		assert_int_equal(t->req.id, 7);
		assert_int_equal(t->req.slots, 2);
		assert_int_equal(t->req.out_len, 16);
		assert_int_equal(t->req.in_len, 1);
		assert_int_equal(vring_packed_ops.pop(t->fx.vq, &t->req), 0);
		vring_packed_ops.push(t->fx.vq, &t->req, 1);
	}
	/* The third chain went into slots 0-1 in the second lap: used flags carry wrap counter 0. */
	assert_int_equal(t->desc[0].id, 7);
	assert_int_equal(t->desc[0].flags & (F_AVAIL | F_USED), 0);
	assert_int_equal(t->desc[2].flags & (F_AVAIL | F_USED), F_AVAIL | F_USED);
}

static void unavailable_descriptor_is_not_popped(void **state)
{
	struct packed *t = *state;

	t->desc[0] = (struct vring_packed_desc){ GUEST_GPA + BUF_OFF, 16, 1, F_USED }; /* wrong wrap */
	assert_int_equal(vring_packed_ops.pop(t->fx.vq, &t->req), 0);
}

static void bad_buffer_is_returned_empty(void **state)
{
	struct packed *t = *state;

	t->desc[0] = (struct vring_packed_desc){ 0x10, 16, 3, F_AVAIL }; /* outside guest memory */
	t->next = 1;
	assert_int_equal(vring_packed_ops.pop(t->fx.vq, &t->req), 0);
	assert_int_equal(t->desc[0].id, 3);
	assert_int_equal(t->desc[0].len, 0);
	assert_int_equal(t->desc[0].flags & (F_AVAIL | F_USED), F_AVAIL | F_USED);
}

static void chain_longer_than_ring_is_corrupt(void **state)
{
	struct packed *t = *state;

	for (int i = 0; i < QSIZE; i++)
		add(t, 0, 16, VRING_DESC_F_NEXT, 1);
	assert_int_equal(vring_packed_ops.pop(t->fx.vq, &t->req), -EIO);
}

static void base_encodes_index_and_wrap(void **state)
{
	struct packed *t = *state;

	vring_packed_ops.set_base(t->fx.vq, 2);
	assert_int_equal(t->fx.vq->last_avail_idx, 2);
	assert_false(t->fx.vq->avail_wrap);
	assert_int_equal(vring_packed_ops.get_base(t->fx.vq), 2);
	vring_packed_ops.set_base(t->fx.vq, 0x7fff);
	assert_int_equal(vring_packed_ops.attach(t->fx.vq), -EINVAL); /* index past the ring */
}

static void driver_event_flags_gate_interrupts(void **state)
{
	struct packed *t = *state;

	add(t, 0, 1, VRING_DESC_F_WRITE, 1);
	assert_int_equal(vring_packed_ops.pop(t->fx.vq, &t->req), 1);
	vring_packed_ops.push(t->fx.vq, &t->req, 1);
	t->driver->flags = VRING_PACKED_EVENT_FLAG_DISABLE;
	assert_false(vring_packed_ops.need_call(t->fx.vq));
	t->driver->flags = VRING_PACKED_EVENT_FLAG_ENABLE;
	assert_true(vring_packed_ops.need_call(t->fx.vq));
	vring_packed_ops.set_notify(t->fx.vq, false);
	assert_int_equal(t->device->flags, VRING_PACKED_EVENT_FLAG_DISABLE);
	vring_packed_ops.set_notify(t->fx.vq, true);
	assert_int_equal(t->device->flags, VRING_PACKED_EVENT_FLAG_ENABLE);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(pops_chains_across_the_wrap),
		T(unavailable_descriptor_is_not_popped),
		T(bad_buffer_is_returned_empty),
		T(chain_longer_than_ring_is_corrupt),
		T(base_encodes_index_and_wrap),
		T(driver_event_flags_gate_interrupts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
