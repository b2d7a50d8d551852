/*
 * The bdev I/O path: per-thread channels, submit-time validation, deferred completion and the
 * per-channel iostat counters. Everything here runs on the thread doing I/O, except
 * bdev_iostat_get() and bdev_io_bdev_fini() (control thread).
 */
#include "bdev/bdev.h"
#include "bdev/bdev_internal.h"
#include "bdev/bdev_module.h"

#include "core/log.h"
#include "core/reactor.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__x86_64__)
#include <x86intrin.h>
#endif

/* Per-thread state: this thread's channels and the completions waiting for delivery. */
struct bdev_thread {
	struct bdev_channel *channels;
	unsigned nchannels;
	struct bdev_io *done_head;
	struct bdev_io **done_tail;
	struct poller *poller;
	bool delivering; /* inside bdev_thread_poll: a callback's last put must not free us */
	/* Latency timestamps are read once per reactor iteration, not per I/O (a TSC read costs
	 * ~10 ns here, a fifth of a null I/O): submissions share the first one after each delivery
	 * pass, completions of one pass share one. */
	uint64_t submit_ticks;
	bool submit_ticks_valid;
};

struct bdev_channel {
	struct bdev *bdev;
	void *chctx;
	unsigned refs;
	struct bdev_thread *thread;
	struct bdev_channel *thread_next;
	struct bdev_channel *bdev_next; /* under bdev->internal->lock */
	/* Written only by the owning thread, read by bdev_iostat_get(): relaxed loads and stores
	 * (no locked instruction on the I/O path). */
	struct bdev_iostat stat;
};

static __thread struct bdev_thread *tls_thread;

/* --- clock --- */

static uint64_t clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#if defined(__x86_64__)
/* The TSC is read per I/O (about 10 ns against 25 for clock_gettime); its rate is measured against
 * CLOCK_MONOTONIC from start-up, so it sharpens the longer the process runs. */
static uint64_t tick_base_tsc, tick_base_ns;

__attribute__((constructor)) static void bdev_ticks_init(void)
{
	tick_base_ns = clock_ns();
	tick_base_tsc = __rdtsc();
}

uint64_t bdev_ticks(void)
{
	return __rdtsc();
}

uint64_t bdev_tick_rate(void)
{
	uint64_t ns = clock_ns() - tick_base_ns;

	if (ns < 10000000) { /* too short to measure: wait the rest of 10 ms once */
		struct timespec ts = { 0, (long)(10000000 - ns) };

		nanosleep(&ts, NULL);
		ns = clock_ns() - tick_base_ns;
	}
	return (uint64_t)((double)(__rdtsc() - tick_base_tsc) * 1e9 / (double)ns);
}
#else
uint64_t bdev_ticks(void)
{
	return clock_ns();
}

uint64_t bdev_tick_rate(void)
{
	return 1000000000u;
}
#endif

/* --- statistics --- */

static inline void stat_add(uint64_t *counter, uint64_t v)
{
	__atomic_store_n(counter, __atomic_load_n(counter, __ATOMIC_RELAXED) + v, __ATOMIC_RELAXED);
}

static void stat_fold(struct bdev_iostat *into, const struct bdev_iostat *from)
{
	const uint64_t *src = (const uint64_t *)from;
	uint64_t *dst = (uint64_t *)into;

	for (size_t i = 0; i < sizeof(*from) / sizeof(uint64_t); i++)
		dst[i] += __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}

static void stat_account(struct bdev_channel *ch, const struct bdev_io *io, uint64_t now)
{
	struct bdev_iostat *s = &ch->stat;
	uint64_t ticks = now - io->submit_tsc;
	uint64_t bytes = io->num_blocks * ch->bdev->block_size;

	if (io->status) {
		stat_add(&s->num_io_errors, 1);
		return;
	}
	switch (io->type) {
	case BDEV_IO_READ:
		stat_add(&s->bytes_read, bytes);
		stat_add(&s->num_read_ops, 1);
		stat_add(&s->read_latency_ticks, ticks);
		break;
	case BDEV_IO_WRITE:
		stat_add(&s->bytes_written, bytes);
		stat_add(&s->num_write_ops, 1);
		stat_add(&s->write_latency_ticks, ticks);
		break;
	case BDEV_IO_UNMAP:
		stat_add(&s->bytes_unmapped, bytes);
		stat_add(&s->num_unmap_ops, 1);
		stat_add(&s->unmap_latency_ticks, ticks);
		break;
	case BDEV_IO_FLUSH:
		stat_add(&s->num_flush_ops, 1);
		break;
	case BDEV_IO_WRITE_ZEROES:
		stat_add(&s->num_write_zeroes_ops, 1);
		break;
	case BDEV_IO_TYPE_COUNT:
		break;
	}
}

void bdev_iostat_get(struct bdev *bdev, struct bdev_iostat *stat)
{
	struct bdev_internal *in = bdev->internal;

	pthread_mutex_lock(&in->lock);
	*stat = in->folded;
	for (struct bdev_channel *ch = in->channels; ch; ch = ch->bdev_next)
		stat_fold(stat, &ch->stat);
	pthread_mutex_unlock(&in->lock);
}

/* --- deferred completion --- */

static void bdev_thread_free(struct bdev_thread *t)
{
	if (t->delivering)
		return; /* bdev_thread_poll frees it when the callbacks are over */
	poller_unregister(t->poller);
	free(t);
	tls_thread = NULL;
}

/* Delivers the completions queued so far. Callbacks may submit again: what they complete inline
 * waits for the next iteration, so a resubmitting caller cannot starve the reactor. */
static int bdev_thread_poll(void *arg)
{
	struct bdev_thread *t = arg;
	struct bdev_io *io = t->done_head, *next;
	uint64_t now;
	int n = 0;

	t->submit_ticks_valid = false;
	if (!io)
		return 0;
	now = bdev_ticks();
	t->done_head = NULL;
	t->done_tail = &t->done_head;
	t->delivering = true;
	for (; io; io = next) {
		next = io->done_next; /* the callback may reuse io */
		stat_account(io->ch, io, now);
		io->done(io, io->status);
		n++;
	}
	t->delivering = false;
	if (t->nchannels == 0 && !t->done_head)
		bdev_thread_free(t);
	return n;
}

static struct bdev_thread *bdev_thread_get(void)
{
	struct bdev_thread *t = tls_thread;

	if (t)
		return t;
	if (!reactor_current())
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->done_tail = &t->done_head;
	t->poller = poller_register(bdev_thread_poll, NULL, t);
	if (!t->poller) {
		free(t);
		return NULL;
	}
	tls_thread = t;
	return t;
}

void bdev_io_complete(struct bdev_io *io, int status)
{
	struct bdev_thread *t = io->ch->thread;

	io->status = status;
	io->done_next = NULL;
	*t->done_tail = io;
	t->done_tail = &io->done_next;
}

/* --- channels --- */

struct bdev_channel *bdev_channel_get(struct bdev_desc *desc)
{
	struct bdev *bdev = bdev_desc_bdev(desc);
	struct bdev_thread *t;
	struct bdev_channel *ch;

	if (!bdev || atomic_load(&bdev->internal->removed))
		return NULL;
	t = bdev_thread_get();
	if (!t)
		return NULL;
	for (ch = t->channels; ch; ch = ch->thread_next) {
		if (ch->bdev == bdev) {
			ch->refs++;
			return ch;
		}
	}
	ch = calloc(1, sizeof(*ch));
	if (!ch)
		goto fail;
	ch->bdev = bdev;
	ch->refs = 1;
	ch->thread = t;
	/* Counted before channel_create: a stacked backend gets and puts channels of its base. */
	t->nchannels++;
	if (bdev->ops->channel_create) {
		ch->chctx = bdev->ops->channel_create(bdev);
		if (!ch->chctx) {
			t->nchannels--;
			free(ch);
			goto fail;
		}
	}
	ch->thread_next = t->channels;
	t->channels = ch;
	pthread_mutex_lock(&bdev->internal->lock);
	ch->bdev_next = bdev->internal->channels;
	bdev->internal->channels = ch;
	pthread_mutex_unlock(&bdev->internal->lock);
	return ch;
fail:
	if (t->nchannels == 0 && !t->done_head)
		bdev_thread_free(t);
	return NULL;
}

void bdev_channel_put(struct bdev_channel *ch)
{
	struct bdev_thread *t = ch->thread;
	struct bdev_internal *in = ch->bdev->internal;

	if (--ch->refs)
		return;
	for (struct bdev_channel **pp = &t->channels; *pp; pp = &(*pp)->thread_next) {
		if (*pp == ch) {
			*pp = ch->thread_next;
			break;
		}
	}
	/* Still counted while channel_destroy runs: it may put its base's channel. */
	if (ch->bdev->ops->channel_destroy)
		ch->bdev->ops->channel_destroy(ch->bdev, ch->chctx);
	t->nchannels--;
	pthread_mutex_lock(&in->lock);
	for (struct bdev_channel **pp = &in->channels; *pp; pp = &(*pp)->bdev_next) {
		if (*pp == ch) {
			*pp = ch->bdev_next;
			break;
		}
	}
	stat_fold(&in->folded, &ch->stat);
	pthread_mutex_unlock(&in->lock);
	free(ch);
	if (t->nchannels == 0 && !t->done_head)
		bdev_thread_free(t);
}

void bdev_io_bdev_fini(struct bdev *bdev)
{
	if (bdev->internal->channels)
		log_error("bdev: %s destructed with channels still open", bdev->name);
}

/* --- submit --- */

static int bdev_io_check(struct bdev *bdev, const struct bdev_io *io)
{
	uint64_t num_blocks = bdev_num_blocks(bdev), bytes, total = 0;

	if ((unsigned)io->type >= BDEV_IO_TYPE_COUNT ||
	    !bdev->ops->io_type_supported(bdev, io->type))
		return -ENOTSUP;
	if (io->type == BDEV_IO_FLUSH)
		return 0;
	if (io->num_blocks == 0 || io->num_blocks > num_blocks ||
	    io->offset_blocks > num_blocks - io->num_blocks)
		return -EINVAL;
	if (io->type == BDEV_IO_UNMAP && bdev->max_unmap_blocks &&
	    io->num_blocks > bdev->max_unmap_blocks)
		return -EINVAL;
	if (io->type == BDEV_IO_WRITE_ZEROES && bdev->max_write_zeroes_blocks &&
	    io->num_blocks > bdev->max_write_zeroes_blocks)
		return -EINVAL;
	if (io->type != BDEV_IO_READ && io->type != BDEV_IO_WRITE)
		return 0;
	if (!io->iov || io->iovcnt <= 0 || io->iovcnt > BDEV_IO_MAX_IOVCNT)
		return -EINVAL;
	if (__builtin_mul_overflow(io->num_blocks, (uint64_t)bdev->block_size, &bytes))
		return -EINVAL;
	for (int i = 0; i < io->iovcnt; i++)
		if (__builtin_add_overflow(total, (uint64_t)io->iov[i].iov_len, &total))
			return -EINVAL;
	return total == bytes ? 0 : -EINVAL;
}

static uint64_t submit_ticks(void)
{
	struct bdev_thread *t = tls_thread;

	if (!t)
		return bdev_ticks();
	if (!t->submit_ticks_valid) {
		t->submit_ticks = bdev_ticks();
		t->submit_ticks_valid = true;
	}
	return t->submit_ticks;
}

void bdev_io_submit(struct bdev_channel *ch, struct bdev_io *io)
{
	struct bdev *bdev = ch->bdev;
	int rc;

	io->ch = ch;
	io->submit_tsc = submit_ticks();
	if (atomic_load_explicit(&bdev->internal->removed, memory_order_relaxed))
		rc = -ENODEV;
	else
		rc = bdev_io_check(bdev, io);
	if (rc) {
		bdev_io_complete(io, rc);
		return;
	}
	bdev->ops->submit(bdev, ch->chctx, io);
}
