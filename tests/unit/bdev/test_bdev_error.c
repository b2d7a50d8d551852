/* error bdev: injected failures count down, pending I/O is held until cleared, data corrupted,
 * NOMEM retried, injection only past a queue depth, base removal. */
#include "bdev_test.h"

#include <errno.h>
#include <string.h>

struct stack {
	struct bdev *ee;
	struct test_events ev;
	struct bdev_channel *ch;
};

static void stack_open(struct stack *s)
{
	memset(s, 0, sizeof(*s));
	assert_int_equal(bdev_malloc_create("M", 64, 512, NULL, NULL), 0);
	assert_int_equal(bdev_error_create("M", NULL, &s->ee), 0);
	assert_string_equal(s->ee->name, "EE_M");
	assert_int_equal(test_open("EE_M", &s->ev), 0);
	s->ch = bdev_channel_get(s->ev.desc);
	assert_non_null(s->ch);
}

static void stack_close(struct stack *s)
{
	bdev_channel_put(s->ch);
	bdev_close(s->ev.desc);
	assert_int_equal(test_delete(bdev_error_delete, "EE_M"), 0);
	assert_int_equal(test_delete(bdev_malloc_delete, "M"), 0);
}

static void test_passes_io_to_base(void **state)
{
	struct stack s;
	uint8_t w[1024], r[1024];

	(void)state;
	stack_open(&s);
	memset(w, 0x5a, sizeof(w));
	assert_int_equal(test_io_run(s.ch, BDEV_IO_WRITE, 10, 2, w, sizeof(w)), 0);
	memset(r, 0, sizeof(r));
	assert_int_equal(test_io_run(s.ch, BDEV_IO_READ, 10, 2, r, sizeof(r)), 0);
	assert_memory_equal(w, r, sizeof(w));
	assert_int_equal(test_io_run(s.ch, BDEV_IO_UNMAP, 10, 1, NULL, 0), 0);
	assert_int_equal(test_io_run(s.ch, BDEV_IO_READ, 10, 1, r, 512), 0);
	assert_int_equal(r[0], 0);
	assert_int_equal(bdev_num_blocks(s.ee), 64);
	assert_string_equal(s.ee->product_name, "Error Injection Disk");
	stack_close(&s);
}

static void test_failure_count_then_success(void **state)
{
	struct stack s;
	uint8_t buf[512];

	(void)state;
	stack_open(&s);
	assert_int_equal(bdev_error_inject("EE_M", BDEV_IO_READ, BDEV_ERROR_FAILURE, 3), 0);
	for (int i = 0; i < 3; i++) {
		/* writes are untouched by a read rule */
		assert_int_equal(test_io_run(s.ch, BDEV_IO_WRITE, 0, 1, buf, 512), 0);
		assert_int_equal(test_io_run(s.ch, BDEV_IO_READ, 0, 1, buf, 512), -EIO);
	}
	assert_int_equal(test_io_run(s.ch, BDEV_IO_READ, 0, 1, buf, 512), 0);
	/* "all" hits every type; 0 disables. */
	assert_int_equal(bdev_error_inject("EE_M", BDEV_IO_TYPE_COUNT, BDEV_ERROR_FAILURE, 1), 0);
	assert_int_equal(test_io_run(s.ch, BDEV_IO_FLUSH, 0, 0, NULL, 0), -EIO);
	assert_int_equal(test_io_run(s.ch, BDEV_IO_WRITE, 0, 1, buf, 512), -EIO);
	assert_int_equal(test_io_run(s.ch, BDEV_IO_WRITE, 0, 1, buf, 512), 0);
	assert_int_equal(bdev_error_inject("EE_M", BDEV_IO_WRITE, BDEV_ERROR_FAILURE, 0), 0);
	assert_int_equal(test_io_run(s.ch, BDEV_IO_WRITE, 0, 1, buf, 512), 0);
	assert_int_equal(bdev_error_inject("EE_M", BDEV_IO_WRITE, BDEV_ERROR_FAILURE, 5), 0);
	assert_int_equal(bdev_error_clear("EE_M"), 0);
	assert_int_equal(test_io_run(s.ch, BDEV_IO_WRITE, 0, 1, buf, 512), 0);
	stack_close(&s);
}

static void test_pending_is_held_until_clear(void **state)
{
	struct stack s;
	uint8_t w[512], r[512];
	struct test_io t;

	(void)state;
	stack_open(&s);
	memset(w, 0x77, sizeof(w));
	assert_int_equal(test_io_run(s.ch, BDEV_IO_WRITE, 3, 1, w, 512), 0);
	assert_int_equal(bdev_error_inject("EE_M", BDEV_IO_READ, BDEV_ERROR_PENDING, 1), 0);
	memset(r, 0, sizeof(r));
	test_io_start(s.ch, &t, BDEV_IO_READ, 3, 1, r, 512);
	test_reactor_run_for(50);
	assert_false(t.done); /* held */
	assert_int_equal(test_io_run(s.ch, BDEV_IO_READ, 3, 1, w, 512), 0); /* count used up */
	assert_int_equal(bdev_error_clear("EE_M"), 0);
	assert_true(test_reactor_run_until(&t.done));
	assert_int_equal(t.status, 0); /* released to the base, which served it */
	assert_memory_equal(r, w, 512);
	stack_close(&s);
}

static void test_delete_fails_held_io(void **state)
{
	struct stack s;
	uint8_t r[512];
	struct test_io t;

	(void)state;
	stack_open(&s);
	assert_int_equal(bdev_error_inject("EE_M", BDEV_IO_READ, BDEV_ERROR_PENDING, 1), 0);
	test_io_start(s.ch, &t, BDEV_IO_READ, 3, 1, r, 512);
	test_reactor_run_for(20);
	assert_false(t.done);
	assert_int_equal(bdev_error_delete("EE_M", NULL, NULL), 0);
	assert_true(test_reactor_run_until(&t.done));
	assert_int_equal(t.status, -ENODEV);
	assert_int_equal(s.ev.remove, 1);
	bdev_channel_put(s.ch);
	bdev_close(s.ev.desc);
	test_reactor_run_for(5);
	assert_null(bdev_get_by_name("EE_M"));
	assert_int_equal(test_delete(bdev_malloc_delete, "M"), 0);
}

static void test_base_removal_removes_error_bdev(void **state)
{
	struct stack s;

	(void)state;
	stack_open(&s);
	s.ev.close_on_remove = true;
	bdev_channel_put(s.ch);
	assert_int_equal(bdev_malloc_delete("M", NULL, NULL), 0);
	test_reactor_run_for(20);
	assert_int_equal(s.ev.remove, 1);
	assert_null(bdev_get_by_name("EE_M"));
	assert_null(bdev_get_by_name("M"));
}

static void test_base_is_claimed_and_resize_follows(void **state)
{
	struct stack s;
	struct test_events ev = { 0 };

	(void)state;
	stack_open(&s);
	assert_int_equal(test_open("M", &ev), -EPERM); /* claimed by EE_M */
	assert_int_equal(bdev_error_create("M", NULL, NULL), -EEXIST);
	assert_int_equal(bdev_error_create("nope", NULL, NULL), -ENODEV);
	assert_int_equal(bdev_notify_resize(bdev_get_by_name("M"), 128), 0);
	test_reactor_run_for(10);
	assert_int_equal(bdev_num_blocks(s.ee), 128);
	assert_int_equal(s.ev.resize, 1);
	stack_close(&s);
	/* Released: the base can be opened for writing again once EE_M is gone. */
	assert_int_equal(bdev_malloc_create("M", 8, 512, NULL, NULL), 0);
	assert_int_equal(test_open("M", &ev), 0);
	bdev_close(ev.desc);
	assert_int_equal(test_delete(bdev_malloc_delete, "M"), 0);
}

/* corrupt_data: one byte XORed, in what is written (the caller's buffer too, as SPDK does) or in
 * what is read; the other bytes and the next I/Os are untouched. A value of 0 is refused. */
static void test_corrupt_data(void **state)
{
	struct bdev_error_opts o = { .type = BDEV_ERROR_CORRUPT_DATA, .num = 1 };
	uint8_t w[1024], r[1024];
	struct stack s;

	(void)state;
	stack_open(&s);
	assert_int_equal(bdev_error_inject_opts("EE_M", BDEV_IO_WRITE, &o), -EINVAL);
	o.corrupt_offset = 700;
	o.corrupt_value = 0x0f;
	assert_int_equal(bdev_error_inject_opts("EE_M", BDEV_IO_WRITE, &o), 0);
	memset(w, 0x5a, sizeof(w));
	assert_int_equal(test_io_run(s.ch, BDEV_IO_WRITE, 10, 2, w, sizeof(w)), 0);
	assert_int_equal(w[700], 0x5a ^ 0x0f);
	assert_int_equal(test_io_run(s.ch, BDEV_IO_READ, 10, 2, r, sizeof(r)), 0);
	assert_memory_equal(r, w, sizeof(r)); /* stored corrupted */
	o.corrupt_offset = 3;
	o.corrupt_value = 0xff;
	assert_int_equal(bdev_error_inject_opts("EE_M", BDEV_IO_READ, &o), 0);
	assert_int_equal(test_io_run(s.ch, BDEV_IO_READ, 10, 2, r, sizeof(r)), 0);
	assert_int_equal(r[3], 0x5a ^ 0xff);
	assert_memory_equal(r + 4, w + 4, sizeof(r) - 4);
	assert_int_equal(test_io_run(s.ch, BDEV_IO_READ, 10, 2, r, sizeof(r)), 0);
	assert_memory_equal(r, w, sizeof(r)); /* one hit only */
	stack_close(&s);
}

/* nomem: the I/O is only delayed - retried after a moment with nothing else out, or when another
 * of the channel's I/Os comes back - and succeeds once the hits are used up. */
static void test_nomem_is_retried(void **state)
{
	struct bdev_error_opts o = { .type = BDEV_ERROR_NOMEM, .num = 3 };
	struct test_io a, b;
	uint8_t buf[1024];
	struct stack s;

	(void)state;
	stack_open(&s);
	assert_int_equal(bdev_error_inject_opts("EE_M", BDEV_IO_READ, &o), 0);
	assert_int_equal(test_io_run(s.ch, BDEV_IO_READ, 0, 1, buf, 512), 0); /* 3 timed retries */
	/* Past a depth of 1: the second read waits for the first to come back. */
	o.num = 1;
	o.queue_depth = 1;
	assert_int_equal(bdev_error_inject_opts("EE_M", BDEV_IO_READ, &o), 0);
	test_io_start(s.ch, &a, BDEV_IO_READ, 0, 1, buf, 512);
	test_io_start(s.ch, &b, BDEV_IO_READ, 1, 1, buf + 512, 512);
	assert_true(test_reactor_run_until(&a.done));
	assert_true(test_reactor_run_until(&b.done));
	assert_int_equal(a.status, 0);
	assert_int_equal(b.status, 0);
	stack_close(&s);
}

/* queue_depth: the rule only hits while that many of the channel's I/Os are out. */
static void test_queue_depth(void **state)
{
	struct bdev_error_opts o = { .type = BDEV_ERROR_FAILURE, .num = 5, .queue_depth = 2 };
	struct test_io t[3];
	uint8_t buf[1536];
	struct stack s;

	(void)state;
	stack_open(&s);
	assert_int_equal(bdev_error_inject_opts("EE_M", BDEV_IO_READ, &o), 0);
	for (int i = 0; i < 3; i++)
		test_io_start(s.ch, &t[i], BDEV_IO_READ, (uint64_t)i, 1, buf + 512 * i, 512);
	for (int i = 0; i < 3; i++)
		assert_true(test_reactor_run_until(&t[i].done));
	assert_int_equal(t[0].status, 0);
	assert_int_equal(t[1].status, 0);
	assert_int_equal(t[2].status, -EIO);
	assert_int_equal(test_io_run(s.ch, BDEV_IO_READ, 0, 1, buf, 512), 0); /* alone: not deep */
	stack_close(&s);
}

static void test_inject_params(void **state)
{
	enum bdev_io_type t;
	enum bdev_error_type e;

	(void)state;
	assert_int_equal(bdev_error_io_type_parse("read", &t), 0);
	assert_int_equal(t, BDEV_IO_READ);
	assert_int_equal(bdev_error_io_type_parse("write_zeroes", &t), 0);
	assert_int_equal(t, BDEV_IO_WRITE_ZEROES);
	assert_int_equal(bdev_error_io_type_parse("all", &t), 0);
	assert_int_equal(t, BDEV_IO_TYPE_COUNT);
	assert_int_equal(bdev_error_io_type_parse("reset", &t), -EINVAL);
	assert_int_equal(bdev_error_type_parse("pending", &e), 0);
	assert_int_equal(e, BDEV_ERROR_PENDING);
	assert_int_equal(bdev_error_type_parse("corrupt_data", &e), 0);
	assert_int_equal(e, BDEV_ERROR_CORRUPT_DATA);
	assert_int_equal(bdev_error_type_parse("nomem", &e), 0);
	assert_int_equal(e, BDEV_ERROR_NOMEM);
	assert_int_equal(bdev_error_type_parse("nvme_failure", &e), -EINVAL);
	assert_int_equal(bdev_error_inject("nope", BDEV_IO_READ, BDEV_ERROR_FAILURE, 1), -ENODEV);
	assert_int_equal(bdev_malloc_create("M", 8, 512, NULL, NULL), 0);
	assert_int_equal(bdev_error_inject("M", BDEV_IO_READ, BDEV_ERROR_FAILURE, 1), -ENODEV);
	assert_int_equal(bdev_error_clear("M"), -ENODEV);
	assert_int_equal(test_delete(bdev_error_delete, "M"), -ENODEV);
	assert_int_equal(test_delete(bdev_malloc_delete, "M"), 0);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, bdev_test_setup, bdev_test_teardown)
	const struct CMUnitTest tests[] = {
		T(test_passes_io_to_base),
		T(test_failure_count_then_success),
		T(test_pending_is_held_until_clear),
		T(test_delete_fails_held_io),
		T(test_base_removal_removes_error_bdev),
		T(test_base_is_claimed_and_resize_follows),
		T(test_corrupt_data),
		T(test_nomem_is_retried),
		T(test_queue_depth),
		T(test_inject_params),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
