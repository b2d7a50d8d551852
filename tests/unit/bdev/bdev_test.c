/* Helpers for the bdev unit tests (see bdev_test.h). */
#include "bdev_test.h"

#include "core/reactor.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void count_bdev(struct bdev *bdev, void *arg)
{
	(void)bdev;
	(*(int *)arg)++;
}

int bdev_test_setup(void **state)
{
	(void)state;
	return reactors_init(NULL);
}

static void unregister_all_done(void *arg)
{
	*(bool *)arg = true;
}

int bdev_test_teardown(void **state)
{
	bool done = false;
	int left = 0;

	(void)state;
	bdev_foreach(count_bdev, &left);
	/* A test that failed half-way leaves bdevs: clear them so the next test starts clean. */
	bdev_unregister_all(unregister_all_done, &done);
	test_reactor_run_until(&done);
	test_reactor_run_for(5);
	reactors_fini();
	return left == 0 ? 0 : -1;
}

static void test_io_done(struct bdev_io *io, int status)
{
	struct test_io *t = io->done_arg;

	t->done = true;
	t->status = status;
	t->calls++;
}

void test_io_start(struct bdev_channel *ch, struct test_io *t, enum bdev_io_type type,
		   uint64_t offset, uint64_t num, void *buf, size_t len)
{
	memset(t, 0, sizeof(*t));
	t->io.type = type;
	t->io.offset_blocks = offset;
	t->io.num_blocks = num;
	if (buf) {
		t->iov.iov_base = buf;
		t->iov.iov_len = len;
		t->io.iov = &t->iov;
		t->io.iovcnt = 1;
	}
	t->io.done = test_io_done;
	t->io.done_arg = t;
	bdev_io_submit(ch, &t->io);
}

int test_io_run(struct bdev_channel *ch, enum bdev_io_type type, uint64_t offset, uint64_t num,
		void *buf, size_t len)
{
	struct test_io t;

	test_io_start(ch, &t, type, offset, num, buf, len);
	test_reactor_run_until(&t.done);
	return t.done ? t.status : -ETIMEDOUT;
}

void test_event_cb(enum bdev_event event, struct bdev *bdev, void *ctx)
{
	struct test_events *ev = ctx;

	(void)bdev;
	if (event == BDEV_EVENT_RESIZE) {
		ev->resize++;
		return;
	}
	ev->remove++;
	if (ev->close_on_remove && ev->desc) {
		bdev_close(ev->desc);
		ev->desc = NULL;
	}
}

int test_open(const char *name, struct test_events *ev)
{
	return bdev_open(name, true, test_event_cb, ev, &ev->desc);
}

static void unregister_done(void *arg)
{
	*(bool *)arg = true;
}

void test_unregister(struct bdev *bdev)
{
	bool done = false;

	bdev_unregister(bdev, unregister_done, &done);
	assert_true(test_reactor_run_until(&done));
}

struct delete_wait {
	bool done;
	int status;
};

static void delete_done(void *arg, int status)
{
	struct delete_wait *w = arg;

	w->done = true;
	w->status = status;
}

int test_delete(int (*del)(const char *, bdev_delete_done_fn, void *), const char *name)
{
	struct delete_wait w = { false, 0 };
	int rc = del(name, delete_done, &w);

	if (rc)
		return rc;
	return test_reactor_run_until(&w.done) ? w.status : -ETIMEDOUT;
}

void *test_aligned(size_t n)
{
	void *p = NULL;

	assert_int_equal(posix_memalign(&p, 4096, n), 0);
	return p;
}

void test_fill(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 13 + seed);
}

bool test_driver_flag(struct bdev *bdev, const char *driver, const char *key)
{
	json_t *info = bdev_info_json(bdev);
	json_t *drv = json_object_get(json_object_get(info, "driver_specific"), driver);
	bool set = json_is_true(json_object_get(drv, key));

	json_decref(info);
	return set;
}
