#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/reactor.h"

static int setup(void **state)
{
	struct reactor_options opts = { .poll_mode = REACTOR_POLL_ADAPTIVE, .idle_us = 50 };

	(void)state;
	return reactors_init(&opts);
}

static int teardown(void **state)
{
	(void)state;
	reactors_fini();
	return 0;
}

static void count_msg(void *arg)
{
	(*(int *)arg)++;
}

static int order[3], order_n;

static void record_msg(void *arg)
{
	order[order_n++] = (int)(intptr_t)arg;
}

static void messages_run_in_order(void **state)
{
	(void)state;
	order_n = 0;
	for (intptr_t i = 0; i < 3; i++)
		reactor_send(reactor_control(), record_msg, (void *)i);
	reactor_run_once(0);
	assert_int_equal(order_n, 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(order[i], i);
}

static atomic_int worker_hits;

static void on_worker(void *arg)
{
	struct reactor *expected = arg;

	if (reactor_current() == expected)
		atomic_fetch_add(&worker_hits, 1);
	reactor_send(reactor_control(), count_msg, &worker_hits); /* reply path: MPSC into control */
}

static void messages_cross_threads(void **state)
{
	int cpu = 0;

	(void)state;
	atomic_store(&worker_hits, 0);
	assert_int_equal(reactors_start_workers(&cpu, 1), 0);
	assert_int_equal(reactor_worker_count(), 1);
	assert_ptr_equal(reactor_worker_on_cpu(0), reactor_worker(0));
	for (int i = 0; i < 100; i++)
		reactor_send(reactor_worker(0), on_worker, reactor_worker(0));
	for (int i = 0; i < 2000 && atomic_load(&worker_hits) < 200; i++)
		reactor_run_once(1000);
	/* 100 runs on the worker, each followed by one message back to the control reactor. */
	assert_int_equal(atomic_load(&worker_hits), 200);
}

static void timer_fired(void *arg)
{
	(*(int *)arg)++;
}

static void timers_fire_once_or_periodically(void **state)
{
	int once = 0, periodic = 0;
	struct reactor_timer *t;
	uint64_t start = reactor_now_us();

	(void)state;
	reactor_timer_add(2000, false, timer_fired, &once);
	t = reactor_timer_add(1000, true, timer_fired, &periodic);
	while (reactor_now_us() - start < 20000)
		reactor_run_once(1000);
	assert_int_equal(once, 1);
	assert_true(periodic >= 5);
	reactor_timer_cancel(t);
	periodic = 0;
	start = reactor_now_us();
	while (reactor_now_us() - start < 5000)
		reactor_run_once(1000);
	assert_int_equal(periodic, 0);
}

static void fd_ready(void *arg, uint32_t events)
{
	int *fd = arg;
	eventfd_t v;

	(void)events;
	eventfd_read(*fd, &v);
	fd[1] += (int)v;
}

static void fds_wake_the_loop(void **state)
{
	int efd[2] = { eventfd(0, EFD_NONBLOCK), 0 };
	struct reactor_fd *rfd;

	(void)state;
	rfd = reactor_fd_add(efd[0], EPOLLIN, fd_ready, efd);
	assert_non_null(rfd);
	eventfd_write(efd[0], 7);
	reactor_run_once(100000);
	assert_int_equal(efd[1], 7);
	reactor_fd_remove(rfd);
	eventfd_write(efd[0], 1);
	reactor_run_once(1000);
	assert_int_equal(efd[1], 7);
	close(efd[0]);
}

struct fake_poller {
	int work_left, polls, notify_on, notify_off;
	bool enabled;
};

static int fake_poll(void *arg)
{
	struct fake_poller *p = arg;

	p->polls++;
	if (p->work_left > 0) {
		p->work_left--;
		return 1;
	}
	return 0;
}

static void fake_notify(void *arg, bool enable)
{
	struct fake_poller *p = arg;

	p->enabled = enable;
	if (enable)
		p->notify_on++;
	else
		p->notify_off++;
}

/* Adaptive mode: busy while there is work (notifications off), notifications back on before sleeping,
 * and one more poll after enabling them so a request that raced the switch is not left behind. */
static void adaptive_polling_switches_notifications(void **state)
{
	struct fake_poller fp = { .work_left = 5 };
	struct poller *p;
	uint64_t start;

	(void)state;
	p = poller_register(fake_poll, fake_notify, &fp);
	for (int i = 0; i < 5; i++)
		reactor_run_once(0);
	assert_int_equal(fp.work_left, 0);
	assert_false(fp.enabled);
	start = reactor_now_us();
	while (reactor_now_us() - start < 2000)
		reactor_run_once(200);
	assert_true(fp.enabled);
	assert_true(fp.notify_on >= 1);
	{
		int polls_before = fp.polls;

		fp.work_left = 1;
		/* Sleeping: a poll happens only when woken; the work found turns notifications off. */
		reactor_send(reactor_control(), count_msg, &fp.polls);
		reactor_run_once(1000);
		assert_true(fp.polls > polls_before);
	}
	poller_unregister(p);
}

static int setup_never(void **state)
{
	struct reactor_options opts = { .poll_mode = REACTOR_POLL_NEVER };

	(void)state;
	return reactors_init(&opts);
}

/* Every sleep re-arms notifications (an event-idx ring records its position then), even when they
 * were never switched off: a stale position makes the guest skip its kick and the request is lost. */
static void every_sleep_rearms_notifications(void **state)
{
	struct fake_poller fp = { 0 };
	struct poller *p;

	(void)state;
	p = poller_register(fake_poll, fake_notify, &fp);
	for (int round = 1; round <= 3; round++) {
		fp.work_left = 2;
		for (int i = 0; i < 4; i++)
			reactor_run_once(100);
		assert_int_equal(fp.work_left, 0);
		assert_true(fp.notify_on >= round);
	}
	assert_int_equal(fp.notify_off, 0); /* never mode: notifications stay on */
	poller_unregister(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(messages_run_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(messages_cross_threads, setup, teardown),
		cmocka_unit_test_setup_teardown(timers_fire_once_or_periodically, setup, teardown),
		cmocka_unit_test_setup_teardown(fds_wake_the_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(adaptive_polling_switches_notifications, setup, teardown),
		cmocka_unit_test_setup_teardown(every_sleep_rearms_notifications, setup_never, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
