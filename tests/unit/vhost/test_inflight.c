/* The inflight area: what a restarted back-end finds still in flight, and what it refuses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <unistd.h>

#include "vhost/inflight.h"

#define QSIZE 8

/* The guest's used ring as a restarted back-end finds it: room for QSIZE elements. */
struct used_ring {
	struct vring_used used;
	struct vring_used_elem ring[QSIZE];
};

static void recovers_heads_oldest_first(void **state)
{
	struct vhost_inflight *inf, *again;
	struct vhost_inflight_queue *iq;
	struct used_ring u = { 0 };
	uint16_t heads[QSIZE], batch[2] = { 4, 2 };
	uint64_t size, counter;
	int fd, dup_fd;

	(void)state;
	assert_int_equal(vhost_inflight_create(2, QSIZE, &inf, &fd, &size), 0);
	iq = vhost_inflight_queue(inf, 1, QSIZE);
	assert_non_null(iq);
	assert_null(vhost_inflight_queue(inf, 2, QSIZE)); /* past the area */
	assert_null(vhost_inflight_queue(inf, 0, QSIZE * 2)); /* another queue size */
	vhost_inflight_get(iq, 3, 5);
	vhost_inflight_get(iq, 1, 2);
	vhost_inflight_get(iq, 6, 9);
	vhost_inflight_get(iq, 4, 7);
	vhost_inflight_get(iq, 2, 8);
	vhost_inflight_get(iq, 7, 10);
	/* 4 and 2 went back as one batch, cleanly: used index 2. */
	u.ring[0].id = 4;
	u.ring[1].id = 2;
	u.used.idx = 2;
	vhost_inflight_put_batch(iq, batch, 2, 2);
	/* 6 and 7 went back to the guest (used index 4)... */
	u.ring[2].id = 6;
	u.ring[3].id = 7;
	u.used.idx = 4;
	/* ...and the back-end died before telling the area. A new one maps the same area: */
	dup_fd = dup(fd);
	assert_int_equal(vhost_inflight_attach(dup_fd, size, 0, 2, QSIZE, &again), 0);
	iq = vhost_inflight_queue(again, 1, QSIZE);
	assert_int_equal(vhost_inflight_recover(iq, QSIZE, &u.used, heads, &counter), 2);
	assert_int_equal(heads[0], 1);
	assert_int_equal(heads[1], 3);
	assert_int_equal(counter, 5);
	/* Nothing in flight on the other queue. */
	u.used.idx = 0;
	assert_int_equal(vhost_inflight_recover(vhost_inflight_queue(again, 0, QSIZE), QSIZE, &u.used,
						heads, &counter), 0);
	vhost_inflight_free(again);
	vhost_inflight_free(inf);
	close(fd);
}

/* A used index further ahead of the area than a ring holds cannot come from a cut-off return:
 * the ring's contents are not believed, and nothing in flight is dropped. */
static void ignores_an_impossible_gap(void **state)
{
	struct vhost_inflight *inf;
	struct vhost_inflight_queue *iq;
	struct used_ring u = { 0 };
	uint16_t heads[QSIZE];
	uint64_t size, counter;
	int fd;

	(void)state;
	assert_int_equal(vhost_inflight_create(1, QSIZE, &inf, &fd, &size), 0);
	iq = vhost_inflight_queue(inf, 0, QSIZE);
	vhost_inflight_get(iq, 0, 1);
	vhost_inflight_get(iq, 5, 2);
	u.ring[0].id = 5;
	u.ring[1].id = 0;
	u.used.idx = QSIZE + 1;
	assert_int_equal(vhost_inflight_recover(iq, QSIZE, &u.used, heads, &counter), 2);
	vhost_inflight_free(inf);
	close(fd);
}

static void refuses_bad_areas(void **state)
{
	struct vhost_inflight *inf, *other = NULL;
	uint64_t size;
	int fd;

	(void)state;
	assert_int_equal(vhost_inflight_create(0, QSIZE, &inf, &fd, &size), -EINVAL);
	assert_int_equal(vhost_inflight_create(1, 0, &inf, &fd, &size), -EINVAL);
	assert_int_equal(vhost_inflight_create(1, QSIZE, &inf, &fd, &size), 0);
	/* Too small for what it claims, an offset past the file: refused (and the fd taken). */
	assert_int_equal(vhost_inflight_attach(dup(fd), size, 0, 4, QSIZE, &other), -EINVAL);
	assert_int_equal(vhost_inflight_attach(dup(fd), size, size, 1, QSIZE, &other), -EINVAL);
	assert_int_equal(vhost_inflight_attach(dup(fd), size, 0, 1, 0, &other), -EINVAL);
	assert_null(other);
	vhost_inflight_free(inf);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(recovers_heads_oldest_first),
		cmocka_unit_test(ignores_an_impossible_gap),
		cmocka_unit_test(refuses_bad_areas),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
