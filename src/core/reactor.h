/*
 * Reactors: one event loop per thread. The control reactor runs on the main thread (RPC, sockets,
 * object lifecycle); worker reactors run pinned on the CPUs of --cpumask and serve the data path.
 *
 * Ownership rule: every piece of mutable state belongs to one reactor. Other threads change it only
 * by reactor_send(), which queues a message (MPSC, lock-free) and wakes the target via an eventfd.
 *
 * A reactor's loop: run messages, timers, pollers; watch fds with epoll. Adaptive polling: while
 * pollers find work the loop spins; after idle_us without work it asks every poller to enable
 * notifications, polls once more (so a wake-up that raced the switch is not lost) and then sleeps in
 * epoll_wait until an fd (a kick eventfd, an io_uring eventfd, the message eventfd) or a timer fires.
 */
#ifndef VHOSTD_CORE_REACTOR_H
#define VHOSTD_CORE_REACTOR_H

#include <stdbool.h>
#include <stdint.h>

struct reactor;
struct poller;
struct reactor_fd;
struct reactor_timer;

enum reactor_poll_mode { REACTOR_POLL_ADAPTIVE, REACTOR_POLL_ALWAYS, REACTOR_POLL_NEVER };

typedef void (*reactor_msg_fn)(void *arg);
/* Returns > 0 when it did work, 0 when idle. */
typedef int (*poller_fn)(void *arg);
/* Enables (true) or suppresses (false) the notifications that wake this poller's fd. */
typedef void (*poller_notify_fn)(void *arg, bool enable);
typedef void (*reactor_fd_fn)(void *arg, uint32_t epoll_events);

struct reactor_options {
	enum reactor_poll_mode poll_mode;
	uint32_t idle_us; /* adaptive: idle time before sleeping; 0 = default (100) */
};

/* Creates the control reactor on the calling thread. */
int reactors_init(const struct reactor_options *opts);
/* Starts one pinned worker reactor per CPU in cpus[] (0-based CPU ids). */
int reactors_start_workers(const int *cpus, int ncpus);
/* Runs the control reactor until reactors_stop(). Workers keep running (shutdown may need them). */
void reactors_run(void);
/* Makes reactors_run() return (async-signal-safe). */
void reactors_stop(void);
/* Stops and joins the workers, then frees every reactor. */
void reactors_fini(void);
int reactors_poll_mode_parse(const char *name, enum reactor_poll_mode *mode);

struct reactor *reactor_control(void);
/* The reactor of the calling thread, or NULL on a thread that has none. */
struct reactor *reactor_current(void);
/* Worker i (0..count-1), and the CPU it is pinned to. */
int reactor_worker_count(void);
struct reactor *reactor_worker(int i);
int reactor_cpu(const struct reactor *r);
/* The worker pinned to cpu, or NULL. */
struct reactor *reactor_worker_on_cpu(int cpu);
bool reactor_is_current(const struct reactor *r);

/* Runs one loop iteration of the calling thread's reactor (messages, timers, pollers, ready fds),
 * waiting at most timeout_us for an fd or timer when nothing is pending. Tests and shutdown drains
 * use it; returns > 0 when it did work. */
int reactor_run_once(uint32_t timeout_us);

/* Queues fn(arg) to run on reactor r. Safe from any thread. Returns 0 or -ENOMEM. */
int reactor_send(struct reactor *r, reactor_msg_fn fn, void *arg);

/* The following act on the calling thread's reactor. */
struct poller *poller_register(poller_fn fn, poller_notify_fn notify, void *arg);
void poller_unregister(struct poller *p);

struct reactor_fd *reactor_fd_add(int fd, uint32_t epoll_events, reactor_fd_fn fn, void *arg);
void reactor_fd_remove(struct reactor_fd *rfd);

/* One-shot (periodic false) or periodic timer; fn runs on the reactor that armed it. A one-shot
 * timer's handle is invalid once fn has run. */
struct reactor_timer *reactor_timer_add(uint64_t delay_us, bool periodic, reactor_msg_fn fn, void *arg);
void reactor_timer_cancel(struct reactor_timer *t);

/* Monotonic microseconds. */
uint64_t reactor_now_us(void);

#endif
