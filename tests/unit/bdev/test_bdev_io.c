/* Generic layer, I/O side: validation, deferred completion, channels per thread, iostat. */
#include "bdev_test.h"

#include "core/reactor.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* A backend that completes inline (inside submit) and counts what reached it. */
static int reached;
static int channels_created, channels_destroyed;

static void *inline_channel_create(struct bdev *bdev)
{
	channels_created++;
	return bdev;
}

static void inline_channel_destroy(struct bdev *bdev, void *chctx)
{
	assert_ptr_equal(bdev, chctx);
	channels_destroyed++;
}

static void inline_submit(struct bdev *bdev, void *chctx, struct bdev_io *io)
{
	assert_ptr_equal(bdev, chctx);
	reached++;
	bdev_io_complete(io, io->type == BDEV_IO_WRITE_ZEROES ? -EIO : 0);
}

static bool inline_supported(struct bdev *bdev, enum bdev_io_type type)
{
	(void)bdev;
	return type != BDEV_IO_UNMAP;
}

static void inline_destruct(struct bdev *bdev)
{
	free(bdev);
}

static const struct bdev_ops inline_ops = {
	.channel_create = inline_channel_create,
	.channel_destroy = inline_channel_destroy,
	.submit = inline_submit,
	.io_type_supported = inline_supported,
	.destruct = inline_destruct,
};

struct fixture {
	struct bdev *bdev;
	struct test_events ev;
	struct bdev_channel *ch;
};

static int fixture_setup(void **state)
{
	static struct fixture f;

	bdev_test_setup(state);
	memset(&f, 0, sizeof(f));
	f.bdev = calloc(1, sizeof(*f.bdev));
	f.bdev->name = strdup("Inline");
	f.bdev->product_name = "Inline";
	f.bdev->block_size = 512;
	f.bdev->num_blocks = 100;
	f.bdev->max_write_zeroes_blocks = 8;
	f.bdev->ops = &inline_ops;
	reached = channels_created = channels_destroyed = 0;
	if (bdev_register(f.bdev) || test_open("Inline", &f.ev))
		return -1;
	f.ch = bdev_channel_get(f.ev.desc);
	*state = &f;
	return f.ch ? 0 : -1;
}

static int fixture_teardown(void **state)
{
	struct fixture *f = *state;

	bdev_channel_put(f->ch);
	bdev_close(f->ev.desc);
	test_unregister(f->bdev);
	return bdev_test_teardown(state);
}

static void test_completion_never_runs_inside_submit(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[512];
	struct test_io t;

	test_io_start(f->ch, &t, BDEV_IO_READ, 0, 1, buf, sizeof(buf));
	assert_int_equal(reached, 1); /* the backend completed it inline... */
	assert_false(t.done);         /* ...but the caller hears of it only from the reactor */
	assert_true(test_reactor_run_until(&t.done));
	assert_int_equal(t.status, 0);
	assert_int_equal(t.calls, 1);
	test_reactor_run_for(2);
	assert_int_equal(t.calls, 1);
}

static void test_errors_found_at_submit_are_deferred_too(void **state)
{
	struct fixture *f = *state;
	struct test_io t;

	test_io_start(f->ch, &t, BDEV_IO_READ, 200, 1, NULL, 0);
	assert_false(t.done);
	assert_true(test_reactor_run_until(&t.done));
	assert_int_equal(t.status, -EINVAL);
	assert_int_equal(reached, 0);
}

static void test_range_and_type_checks(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[1024];
	struct iovec iov[2] = { { buf, 512 }, { buf + 512, 512 } };
	struct test_io t;

	assert_int_equal(test_io_run(f->ch, BDEV_IO_READ, 99, 1, buf, 512), 0);
	assert_int_equal(test_io_run(f->ch, BDEV_IO_READ, 99, 2, buf, 1024), -EINVAL);
	assert_int_equal(test_io_run(f->ch, BDEV_IO_READ, 100, 1, buf, 512), -EINVAL);
	assert_int_equal(test_io_run(f->ch, BDEV_IO_READ, 0, 0, buf, 0), -EINVAL);
	/* offset + num wraps around 2^64: must not pass as "in range" */
	assert_int_equal(test_io_run(f->ch, BDEV_IO_READ, UINT64_MAX, 2, buf, 1024), -EINVAL);
	assert_int_equal(test_io_run(f->ch, BDEV_IO_WRITE, 2, UINT64_MAX, buf, 1024), -EINVAL);
	/* iov total must be num_blocks * block_size */
	assert_int_equal(test_io_run(f->ch, BDEV_IO_WRITE, 0, 1, buf, 511), -EINVAL);
	assert_int_equal(test_io_run(f->ch, BDEV_IO_WRITE, 0, 2, buf, 512), -EINVAL);
	assert_int_equal(test_io_run(f->ch, BDEV_IO_READ, 0, 1, NULL, 0), -EINVAL);
	assert_int_equal(test_io_run(f->ch, BDEV_IO_UNMAP, 0, 1, NULL, 0), -ENOTSUP);
	assert_int_equal(test_io_run(f->ch, BDEV_IO_TYPE_COUNT, 0, 1, NULL, 0), -ENOTSUP);
	assert_int_equal(test_io_run(f->ch, BDEV_IO_FLUSH, 0, 0, NULL, 0), 0); /* no range */
	assert_int_equal(test_io_run(f->ch, BDEV_IO_WRITE_ZEROES, 0, 9, NULL, 0), -EINVAL);
	assert_int_equal(reached, 2);
	/* Several iovecs adding up, and an iovec sum that overflows. */
	memset(&t, 0, sizeof(t));
	test_io_start(f->ch, &t, BDEV_IO_WRITE, 0, 2, NULL, 0);
	test_reactor_run_until(&t.done);
	t.io.iov = iov;
	t.io.iovcnt = 2;
	t.done = false;
	bdev_io_submit(f->ch, &t.io);
	test_reactor_run_until(&t.done);
	assert_int_equal(t.status, 0);
	iov[1].iov_len = SIZE_MAX - 511;
	t.done = false;
	bdev_io_submit(f->ch, &t.io);
	test_reactor_run_until(&t.done);
	assert_int_equal(t.status, -EINVAL);
	t.io.iovcnt = BDEV_IO_MAX_IOVCNT + 1;
	t.done = false;
	bdev_io_submit(f->ch, &t.io);
	test_reactor_run_until(&t.done);
	assert_int_equal(t.status, -EINVAL);
}

static void test_range_follows_resize(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[512];

	assert_int_equal(test_io_run(f->ch, BDEV_IO_READ, 150, 1, buf, 512), -EINVAL);
	assert_int_equal(bdev_notify_resize(f->bdev, 200), 0);
	assert_int_equal(test_io_run(f->ch, BDEV_IO_READ, 150, 1, buf, 512), 0);
}

static void test_channel_is_shared_per_thread_and_refcounted(void **state)
{
	struct fixture *f = *state;
	struct bdev_channel *again = bdev_channel_get(f->ev.desc);

	assert_ptr_equal(again, f->ch);
	assert_int_equal(channels_created, 1);
	bdev_channel_put(again);
	assert_int_equal(channels_destroyed, 0);
}

/* A caller that resubmits from its callback must not keep the reactor in one iteration forever. */
static int resubmits;

static void resubmit_done(struct bdev_io *io, int status)
{
	assert_int_equal(status, 0);
	if (++resubmits < 1000)
		bdev_io_submit(io->ch, io);
}

static void test_resubmit_from_callback(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[512];
	struct iovec iov = { buf, sizeof(buf) };
	struct bdev_io io = { .type = BDEV_IO_READ, .num_blocks = 1, .iov = &iov, .iovcnt = 1,
			      .done = resubmit_done };
	int iterations = 0;

	resubmits = 0;
	bdev_io_submit(f->ch, &io);
	reactor_run_once(0);
	assert_int_equal(resubmits, 1); /* one delivery per iteration, not a loop */
	while (resubmits < 1000 && iterations++ < 5000)
		reactor_run_once(0);
	assert_int_equal(resubmits, 1000);
}

static void test_iostat_counts_and_survives_channel_death(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[2048];
	struct bdev_iostat s;

	assert_int_equal(test_io_run(f->ch, BDEV_IO_READ, 0, 4, buf, 2048), 0);
	assert_int_equal(test_io_run(f->ch, BDEV_IO_READ, 4, 1, buf, 512), 0);
	assert_int_equal(test_io_run(f->ch, BDEV_IO_WRITE, 0, 2, buf, 1024), 0);
	assert_int_equal(test_io_run(f->ch, BDEV_IO_FLUSH, 0, 0, NULL, 0), 0);
	assert_int_equal(test_io_run(f->ch, BDEV_IO_WRITE_ZEROES, 0, 1, NULL, 0), -EIO);
	assert_int_equal(test_io_run(f->ch, BDEV_IO_READ, 1000, 1, buf, 512), -EINVAL);
	bdev_iostat_get(f->bdev, &s);
	assert_int_equal(s.num_read_ops, 2);
	assert_int_equal(s.bytes_read, 2560);
	assert_int_equal(s.num_write_ops, 1);
	assert_int_equal(s.bytes_written, 1024);
	assert_int_equal(s.num_flush_ops, 1);
	assert_int_equal(s.num_write_zeroes_ops, 0);
	assert_int_equal(s.num_io_errors, 2);
	/* The channel dies: its counts are folded into the bdev, a new channel adds to them. */
	bdev_channel_put(f->ch);
	assert_int_equal(channels_destroyed, 1);
	f->ch = bdev_channel_get(f->ev.desc);
	assert_int_equal(channels_created, 2);
	assert_int_equal(test_io_run(f->ch, BDEV_IO_READ, 0, 1, buf, 512), 0);
	bdev_iostat_get(f->bdev, &s);
	assert_int_equal(s.num_read_ops, 3);
	assert_int_equal(s.bytes_read, 3072);
	assert_int_equal(s.num_io_errors, 2);
}

/* --- a channel on a worker thread --- */

struct worker_job {
	struct bdev_desc *desc;
	struct bdev_channel *ch;
	struct test_io t;
	uint8_t buf[512];
	atomic_bool finished;
	bool was_other_thread;
};

static void worker_done(struct bdev_io *io, int status)
{
	struct worker_job *job = io->done_arg;

	job->t.status = status;
	job->was_other_thread = !reactor_is_current(reactor_control());
	bdev_channel_put(job->ch);
	atomic_store(&job->finished, true);
}

static void worker_start(void *arg)
{
	struct worker_job *job = arg;

	job->ch = bdev_channel_get(job->desc);
	memset(&job->t, 0, sizeof(job->t));
	job->t.iov.iov_base = job->buf;
	job->t.iov.iov_len = sizeof(job->buf);
	job->t.io = (struct bdev_io){ .type = BDEV_IO_WRITE, .num_blocks = 1, .iov = &job->t.iov,
				      .iovcnt = 1, .done = worker_done, .done_arg = job };
	bdev_io_submit(job->ch, &job->t.io);
}

static void test_channel_on_worker_thread(void **state)
{
	struct fixture *f = *state;
	static struct worker_job job;
	struct bdev_iostat s;
	int cpu = 0;
	uint64_t deadline;

	memset(&job, 0, sizeof(job));
	job.desc = f->ev.desc;
	assert_int_equal(reactors_start_workers(&cpu, 1), 0);
	assert_int_equal(reactor_send(reactor_worker(0), worker_start, &job), 0);
	deadline = reactor_now_us() + 2000000;
	while (!atomic_load(&job.finished) && reactor_now_us() < deadline)
		reactor_run_once(1000);
	assert_true(atomic_load(&job.finished));
	assert_true(job.was_other_thread);
	assert_int_equal(job.t.status, 0);
	assert_int_equal(channels_created, 2); /* the worker had a channel of its own */
	bdev_iostat_get(f->bdev, &s);
	assert_int_equal(s.num_write_ops, 1);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, fixture_setup, fixture_teardown)
	const struct CMUnitTest tests[] = {
		T(test_completion_never_runs_inside_submit),
		T(test_errors_found_at_submit_are_deferred_too),
		T(test_range_and_type_checks),
		T(test_range_follows_resize),
		T(test_channel_is_shared_per_thread_and_refcounted),
		T(test_resubmit_from_callback),
		T(test_iostat_counts_and_survives_channel_death),
		T(test_channel_on_worker_thread),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
