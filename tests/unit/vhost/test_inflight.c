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

static void recovers_heads_oldest_first(void **state)
{
	struct vhost_inflight *inf, *again;
	struct vhost_inflight_queue *iq;
	uint16_t heads[QSIZE];
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
	vhost_inflight_put_begin(iq, 4);
	vhost_inflight_put_end(iq, 4, 1); /* 4 went back cleanly: used index 1 */
	vhost_inflight_put_begin(iq, 6);  /* 6 went back to the guest (used index 2)... */
	/* ...and the back-end died before put_end. A new one maps the same area: */
	dup_fd = dup(fd);
	assert_int_equal(vhost_inflight_attach(dup_fd, size, 0, 2, QSIZE, &again), 0);
	iq = vhost_inflight_queue(again, 1, QSIZE);
	assert_int_equal(vhost_inflight_recover(iq, QSIZE, 2, heads, &counter), 2);
	assert_int_equal(heads[0], 1);
	assert_int_equal(heads[1], 3);
	assert_int_equal(counter, 5);
	/* Nothing in flight on the other queue. */
	assert_int_equal(vhost_inflight_recover(vhost_inflight_queue(again, 0, QSIZE), QSIZE, 0, heads,
						&counter), 0);
	vhost_inflight_free(again);
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
		cmocka_unit_test(refuses_bad_areas),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
