/* Event loops: one control reactor on the main thread, one pinned worker reactor per CPU. */
#include "core/reactor.h"

#include "core/log.h"
#include "core/msg.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define REACTOR_DEFAULT_IDLE_US 100
#define REACTOR_MAX_WORKERS 256
#define REACTOR_EPOLL_BATCH 32
/* While busy-polling, fds are checked once every this many iterations. */
#define REACTOR_BUSY_FD_INTERVAL 64

struct poller {
	poller_fn fn;
	poller_notify_fn notify;
	void *arg;
	bool removed;
	struct poller *next;
};

struct reactor_fd {
	int fd;
	reactor_fd_fn fn;
	void *arg;
	bool removed;
	struct reactor_fd *next; /* graveyard link once removed */
};

struct reactor_timer {
	uint64_t due_us;
	uint64_t period_us;
	reactor_msg_fn fn;
	void *arg;
	bool removed;
	struct reactor_timer *next;
};

struct reactor {
	int epfd;
	int msg_fd; /* eventfd that wakes the reactor for messages */
	int cpu;    /* -1 for the control reactor */
	pthread_t thread;
	struct msg_queue mq;
	atomic_bool stop;
	struct poller *pollers;
	struct reactor_timer *timers;
	struct reactor_fd *fd_graveyard;
	bool in_iteration;
	bool notify_enabled; /* pollers currently have guest notifications on */
	uint64_t last_work_us;
	unsigned busy_iterations;
};

static struct reactor_options options;
static struct reactor *control;
static struct reactor *workers[REACTOR_MAX_WORKERS];
static int worker_count;
static __thread struct reactor *tls_reactor;

uint64_t reactor_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void msg_fd_drain(void *arg, uint32_t events)
{
	struct reactor *r = arg;
	uint64_t v;

	(void)events;
	if (read(r->msg_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn("reactor: message eventfd read: %s", strerror(errno));
}

static struct reactor *reactor_create(int cpu)
{
	struct reactor *r = calloc(1, sizeof(*r));
	struct epoll_event ev = { .events = EPOLLIN };

	if (!r)
		return NULL;
	r->cpu = cpu;
	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	r->msg_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (r->epfd < 0 || r->msg_fd < 0)
		goto fail;
	/* The message eventfd is the only fd not wrapped in a reactor_fd: data.ptr NULL marks it. */
	ev.data.ptr = NULL;
	if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, r->msg_fd, &ev) < 0)
		goto fail;
	r->notify_enabled = options.poll_mode != REACTOR_POLL_ALWAYS;
	return r;
fail:
	if (r->epfd >= 0)
		close(r->epfd);
	if (r->msg_fd >= 0)
		close(r->msg_fd);
	free(r);
	return NULL;
}

static void reactor_destroy(struct reactor *r)
{
	msg_queue_run(&r->mq);
	while (r->pollers) {
		struct poller *p = r->pollers;

		r->pollers = p->next;
		free(p);
	}
	while (r->timers) {
		struct reactor_timer *t = r->timers;

		r->timers = t->next;
		free(t);
	}
	while (r->fd_graveyard) {
		struct reactor_fd *f = r->fd_graveyard;

		r->fd_graveyard = f->next;
		free(f);
	}
	close(r->epfd);
	close(r->msg_fd);
	free(r);
}

int reactors_poll_mode_parse(const char *name, enum reactor_poll_mode *mode)
{
	static const char *const names[] = { "adaptive", "always", "never" };

	for (int i = 0; i < 3; i++) {
		if (strcmp(name, names[i]) == 0) {
			*mode = (enum reactor_poll_mode)i;
			return 0;
		}
	}
	return -EINVAL;
}

int reactors_init(const struct reactor_options *opts)
{
	if (opts)
		options = *opts;
	else
		memset(&options, 0, sizeof(options));
	if (options.idle_us == 0)
		options.idle_us = REACTOR_DEFAULT_IDLE_US;
	control = reactor_create(-1);
	if (!control)
		return -errno ? -errno : -ENOMEM;
	control->thread = pthread_self();
	tls_reactor = control;
	return 0;
}

struct reactor *reactor_control(void)
{
	return control;
}

struct reactor *reactor_current(void)
{
	return tls_reactor;
}

bool reactor_is_current(const struct reactor *r)
{
	return tls_reactor == r;
}

int reactor_worker_count(void)
{
	return worker_count;
}

struct reactor *reactor_worker(int i)
{
	return i >= 0 && i < worker_count ? workers[i] : NULL;
}

int reactor_cpu(const struct reactor *r)
{
	return r->cpu;
}

struct reactor *reactor_worker_on_cpu(int cpu)
{
	for (int i = 0; i < worker_count; i++)
		if (workers[i]->cpu == cpu)
			return workers[i];
	return NULL;
}

int reactor_send(struct reactor *r, reactor_msg_fn fn, void *arg)
{
	struct msg *m;
	uint64_t one = 1;

	if (!r)
		return -EINVAL; /* no such reactor (yet): the control one before reactors_init() */
	m = malloc(sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->fn = fn;
	m->arg = arg;
	if (msg_queue_push(&r->mq, m) && write(r->msg_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("reactor: message eventfd write: %s", strerror(errno));
	return 0;
}

struct poller *poller_register(poller_fn fn, poller_notify_fn notify, void *arg)
{
	struct reactor *r = tls_reactor;
	struct poller *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->fn = fn;
	p->notify = notify;
	p->arg = arg;
	p->next = r->pollers;
	r->pollers = p;
	if (notify)
		notify(arg, r->notify_enabled);
	/* A new poller may have work waiting: do not sleep before it has run once. */
	r->last_work_us = reactor_now_us();
	return p;
}

void poller_unregister(struct poller *p)
{
	p->removed = true;
}

/* Frees pollers marked removed; called outside poller iteration. */
static void pollers_reap(struct reactor *r)
{
	struct poller **pp = &r->pollers;

	while (*pp) {
		struct poller *p = *pp;

		if (p->removed) {
			*pp = p->next;
			free(p);
		} else {
			pp = &p->next;
		}
	}
}

static int pollers_run(struct reactor *r)
{
	int work = 0;

	for (struct poller *p = r->pollers; p; p = p->next)
		if (!p->removed)
			work += p->fn(p->arg) > 0;
	return work;
}

static void pollers_notify(struct reactor *r, bool enable)
{
	r->notify_enabled = enable;
	for (struct poller *p = r->pollers; p; p = p->next)
		if (!p->removed && p->notify)
			p->notify(p->arg, enable);
}

struct reactor_fd *reactor_fd_add(int fd, uint32_t epoll_events, reactor_fd_fn fn, void *arg)
{
	struct reactor *r = tls_reactor;
	struct reactor_fd *rfd = calloc(1, sizeof(*rfd));
	struct epoll_event ev = { .events = epoll_events };

	if (!rfd)
		return NULL;
	rfd->fd = fd;
	rfd->fn = fn;
	rfd->arg = arg;
	ev.data.ptr = rfd;
	if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int err = errno;

		free(rfd);
		errno = err;
		return NULL;
	}
	return rfd;
}

void reactor_fd_remove(struct reactor_fd *rfd)
{
	struct reactor *r = tls_reactor;

	if (!rfd)
		return;
	epoll_ctl(r->epfd, EPOLL_CTL_DEL, rfd->fd, NULL);
	/* Events already fetched may still point at it: free at the end of the iteration. */
	rfd->removed = true;
	rfd->next = r->fd_graveyard;
	r->fd_graveyard = rfd;
}

struct reactor_timer *reactor_timer_add(uint64_t delay_us, bool periodic, reactor_msg_fn fn, void *arg)
{
	struct reactor *r = tls_reactor;
	struct reactor_timer *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->due_us = reactor_now_us() + delay_us;
	t->period_us = periodic ? (delay_us ? delay_us : 1) : 0;
	t->fn = fn;
	t->arg = arg;
	t->next = r->timers;
	r->timers = t;
	return t;
}

void reactor_timer_cancel(struct reactor_timer *t)
{
	if (t)
		t->removed = true;
}

static int timers_run(struct reactor *r, uint64_t now)
{
	int work = 0;

	for (struct reactor_timer *t = r->timers; t; t = t->next) {
		if (t->removed || t->due_us > now)
			continue;
		if (t->period_us)
			t->due_us = now + t->period_us;
		else
			t->removed = true;
		t->fn(t->arg);
		work++;
	}
	return work;
}

/* Frees cancelled timers and returns microseconds to the next one (UINT64_MAX: none). */
static uint64_t timers_next(struct reactor *r, uint64_t now)
{
	struct reactor_timer **tp = &r->timers;
	uint64_t next = UINT64_MAX;

	while (*tp) {
		struct reactor_timer *t = *tp;

		if (t->removed) {
			*tp = t->next;
			free(t);
			continue;
		}
		if (t->due_us <= now)
			next = 0;
		else if (t->due_us - now < next)
			next = t->due_us - now;
		tp = &t->next;
	}
	return next;
}

static int fds_wait(struct reactor *r, int timeout_ms)
{
	struct epoll_event events[REACTOR_EPOLL_BATCH];
	int n = epoll_wait(r->epfd, events, REACTOR_EPOLL_BATCH, timeout_ms);

	for (int i = 0; i < n; i++) {
		struct reactor_fd *rfd = events[i].data.ptr;

		if (!rfd)
			msg_fd_drain(r, events[i].events);
		else if (!rfd->removed)
			rfd->fn(rfd->arg, events[i].events);
	}
	return n > 0 ? n : 0;
}

static void graveyard_reap(struct reactor *r)
{
	while (r->fd_graveyard) {
		struct reactor_fd *f = r->fd_graveyard;

		r->fd_graveyard = f->next;
		free(f);
	}
}

/* Decides how long the loop may sleep now, switching pollers to notifications before a sleep. */
static int sleep_budget_ms(struct reactor *r, uint64_t now, uint64_t max_wait_us)
{
	uint64_t wait_us = max_wait_us, next_timer;

	if (options.poll_mode == REACTOR_POLL_ALWAYS)
		return 0;
	if (options.poll_mode == REACTOR_POLL_ADAPTIVE && now - r->last_work_us < options.idle_us)
		return 0;
	/* Re-arm even when notifications are on already: with event-idx rings arming records how far
	 * we got, and a stale mark would let the guest skip the kick. Then look once more, since work
	 * that arrived before arming would wake nobody. */
	pollers_notify(r, true);
	if (pollers_run(r)) {
		r->last_work_us = now;
		return 0;
	}
	if (!msg_queue_empty(&r->mq))
		return 0;
	next_timer = timers_next(r, now);
	if (next_timer < wait_us)
		wait_us = next_timer;
	if (wait_us == UINT64_MAX)
		return -1;
	return (int)((wait_us + 999) / 1000);
}

static int reactor_iterate(struct reactor *r, uint64_t max_wait_us)
{
	uint64_t now = reactor_now_us();
	int work, timeout_ms, fd_work = 0;

	r->in_iteration = true;
	work = msg_queue_run(&r->mq);
	work += timers_run(r, now);
	work += pollers_run(r);
	if (work)
		r->last_work_us = now;
	timeout_ms = work ? 0 : sleep_budget_ms(r, now, max_wait_us);
	if (timeout_ms != 0 || ++r->busy_iterations >= REACTOR_BUSY_FD_INTERVAL) {
		r->busy_iterations = 0;
		fd_work = fds_wait(r, timeout_ms);
		if (fd_work)
			r->last_work_us = reactor_now_us();
	}
	if (r->notify_enabled && options.poll_mode == REACTOR_POLL_ADAPTIVE && (work || fd_work))
		pollers_notify(r, false); /* busy again: guests need not kick while we poll */
	pollers_reap(r);
	graveyard_reap(r);
	timers_next(r, now);
	r->in_iteration = false;
	return work + fd_work;
}

int reactor_run_once(uint32_t timeout_us)
{
	return reactor_iterate(tls_reactor, timeout_us);
}

static void reactor_loop(struct reactor *r)
{
	while (!atomic_load_explicit(&r->stop, memory_order_relaxed))
		reactor_iterate(r, UINT64_MAX);
}

static void *worker_main(void *arg)
{
	struct reactor *r = arg;
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(r->cpu, &set);
	if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set) != 0)
		log_warn("reactor: cannot pin worker to CPU %d", r->cpu);
	tls_reactor = r;
	reactor_loop(r);
	return NULL;
}

int reactors_start_workers(const int *cpus, int ncpus)
{
	for (int i = 0; i < ncpus; i++) {
		struct reactor *r;
		int rc;

		if (worker_count == REACTOR_MAX_WORKERS)
			return -E2BIG;
		r = reactor_create(cpus[i]);
		if (!r)
			return -ENOMEM;
		rc = pthread_create(&r->thread, NULL, worker_main, r);
		if (rc) {
			reactor_destroy(r);
			return -rc;
		}
		workers[worker_count++] = r;
		log_info("reactor: worker %d on CPU %d", worker_count - 1, cpus[i]);
	}
	return 0;
}

void reactors_run(void)
{
	reactor_loop(control);
}

static void reactor_wake(struct reactor *r)
{
	uint64_t one = 1;

	atomic_store(&r->stop, true);
	if (write(r->msg_fd, &one, sizeof(one)) < 0)
		return; /* best effort: async-signal context, nothing to report to */
}

void reactors_stop(void)
{
	reactor_wake(control);
}

void reactors_fini(void)
{
	for (int i = 0; i < worker_count; i++) {
		reactor_wake(workers[i]);
		pthread_join(workers[i]->thread, NULL);
		reactor_destroy(workers[i]);
		workers[i] = NULL;
	}
	worker_count = 0;
	if (control) {
		reactor_destroy(control);
		control = NULL;
		tls_reactor = NULL;
	}
}
