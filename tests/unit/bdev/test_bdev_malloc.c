/* malloc bdev: data round trips, zeroing, names, parameters, delete while open. */
#include "bdev_test.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct opened {
	struct bdev *bdev;
	struct test_events ev;
	struct bdev_channel *ch;
};

static void open_malloc(struct opened *o, const char *name, uint64_t blocks, uint32_t bs)
{
	memset(o, 0, sizeof(*o));
	assert_int_equal(bdev_malloc_create(name, blocks, bs, NULL, &o->bdev), 0);
	assert_int_equal(test_open(o->bdev->name, &o->ev), 0);
	o->ch = bdev_channel_get(o->ev.desc);
	assert_non_null(o->ch);
}

static void close_malloc(struct opened *o)
{
	char name[64];

	snprintf(name, sizeof(name), "%s", o->bdev->name);
	bdev_channel_put(o->ch);
	bdev_close(o->ev.desc);
	assert_int_equal(test_delete(bdev_malloc_delete, name), 0);
}

static void test_write_then_read_equals(void **state)
{
	struct opened o;
	uint8_t *w = malloc(8192), *r = malloc(8192);

	(void)state;
	open_malloc(&o, "M", 64, 4096);
	test_fill(w, 8192, 3);
	assert_int_equal(test_io_run(o.ch, BDEV_IO_WRITE, 62, 2, w, 8192), 0);
	memset(r, 0, 8192);
	assert_int_equal(test_io_run(o.ch, BDEV_IO_READ, 62, 2, r, 8192), 0);
	assert_memory_equal(w, r, 8192);
	/* A fresh disk reads as zeroes. */
	assert_int_equal(test_io_run(o.ch, BDEV_IO_READ, 0, 1, r, 4096), 0);
	for (int i = 0; i < 4096; i++)
		assert_int_equal(r[i], 0);
	assert_int_equal(test_io_run(o.ch, BDEV_IO_FLUSH, 0, 0, NULL, 0), 0);
	close_malloc(&o);
	free(w);
	free(r);
}

static void test_scattered_iovecs(void **state)
{
	struct opened o;
	uint8_t w[2048], r[2048];
	struct iovec iov[3] = { { r + 1536, 512 }, { r, 1024 }, { r + 1024, 512 } };
	struct test_io t;

	(void)state;
	open_malloc(&o, NULL, 16, 512);
	test_fill(w, sizeof(w), 9);
	assert_int_equal(test_io_run(o.ch, BDEV_IO_WRITE, 4, 4, w, sizeof(w)), 0);
	test_io_start(o.ch, &t, BDEV_IO_READ, 4, 4, r, sizeof(r));
	test_reactor_run_until(&t.done);
	t.io.iov = iov;
	t.io.iovcnt = 3;
	t.done = false;
	bdev_io_submit(o.ch, &t.io);
	assert_true(test_reactor_run_until(&t.done));
	assert_int_equal(t.status, 0);
	assert_memory_equal(r + 1536, w, 512);
	assert_memory_equal(r, w + 512, 1024);
	assert_memory_equal(r + 1024, w + 1536, 512);
	close_malloc(&o);
}

static void check_zero_range(struct opened *o, enum bdev_io_type type)
{
	size_t bs = 4096, n = 8;
	uint8_t *w = malloc(bs * n), *r = malloc(bs * n);

	test_fill(w, bs * n, 1);
	assert_int_equal(test_io_run(o->ch, BDEV_IO_WRITE, 0, n, w, bs * n), 0);
	/* Zero blocks 1..6: whole pages and (with 512-byte blocks elsewhere) partial ones. */
	assert_int_equal(test_io_run(o->ch, type, 1, 6, NULL, 0), 0);
	assert_int_equal(test_io_run(o->ch, BDEV_IO_READ, 0, n, r, bs * n), 0);
	assert_memory_equal(r, w, bs);
	for (size_t i = bs; i < 7 * bs; i++)
		assert_int_equal(r[i], 0);
	assert_memory_equal(r + 7 * bs, w + 7 * bs, bs);
	free(w);
	free(r);
}

static void test_unmap_and_write_zeroes_read_back_zeroes(void **state)
{
	struct opened o;
	uint8_t w[2048], r[2048];

	(void)state;
	open_malloc(&o, "M", 8, 4096);
	check_zero_range(&o, BDEV_IO_UNMAP);
	check_zero_range(&o, BDEV_IO_WRITE_ZEROES);
	close_malloc(&o);
	/* 512-byte blocks: a zeroed range that does not cover a whole page. */
	open_malloc(&o, "M", 16, 512);
	test_fill(w, sizeof(w), 5);
	assert_int_equal(test_io_run(o.ch, BDEV_IO_WRITE, 0, 4, w, sizeof(w)), 0);
	assert_int_equal(test_io_run(o.ch, BDEV_IO_WRITE_ZEROES, 1, 2, NULL, 0), 0);
	assert_int_equal(test_io_run(o.ch, BDEV_IO_READ, 0, 4, r, sizeof(r)), 0);
	assert_memory_equal(r, w, 512);
	for (int i = 512; i < 1536; i++)
		assert_int_equal(r[i], 0);
	assert_memory_equal(r + 1536, w + 1536, 512);
	close_malloc(&o);
}

static void test_names_and_params(void **state)
{
	struct bdev *a, *b, *c;
	uint8_t uuid[16];
	char text[37], second[37];

	(void)state;
	assert_int_equal(bdev_malloc_create(NULL, 8, 512, NULL, &a), 0);
	assert_int_equal(bdev_malloc_create(NULL, 8, 512, NULL, &b), 0);
	/* "MallocN" counting up, as SPDK (an earlier test may have used some numbers). */
	assert_int_equal(strncmp(a->name, "Malloc", 6), 0);
	snprintf(second, sizeof(second), "Malloc%d", atoi(a->name + 6) + 1);
	assert_string_equal(b->name, second);
	assert_string_equal(a->product_name, "Malloc disk");
	assert_int_equal(bdev_malloc_create(b->name, 8, 512, NULL, &c), -EEXIST);
	assert_int_equal(bdev_malloc_create("X", 0, 512, NULL, &c), -EINVAL);
	assert_int_equal(bdev_malloc_create("X", 8, 0, NULL, &c), -EINVAL);
	assert_int_equal(bdev_malloc_create("X", 8, 520, NULL, &c), -EINVAL);
	assert_int_equal(bdev_malloc_create("X", UINT64_MAX / 2, 4096, NULL, &c), -EINVAL);
	assert_int_equal(bdev_uuid_parse("5a3c1f7e-1111-4222-8333-444455556666", uuid), 0);
	assert_int_equal(bdev_malloc_create("U", 8, 512, uuid, &c), 0);
	bdev_uuid_format(c, text);
	assert_string_equal(text, "5a3c1f7e-1111-4222-8333-444455556666");
	assert_true(bdev_io_type_supported(c, BDEV_IO_UNMAP));
	assert_true(bdev_io_type_supported(c, BDEV_IO_FLUSH));
	assert_int_equal(test_delete(bdev_malloc_delete, "nope"), -ENODEV);
	assert_int_equal(test_delete(bdev_malloc_delete, second), 0);
	snprintf(text, sizeof(text), "%s", a->name);
	assert_int_equal(test_delete(bdev_malloc_delete, text), 0);
	assert_int_equal(test_delete(bdev_malloc_delete, "U"), 0);
	assert_null(bdev_get_by_name("U"));
}

static void test_delete_of_another_backend_is_refused(void **state)
{
	(void)state;
	assert_int_equal(bdev_null_create("N", 8, 512, NULL, NULL), 0);
	assert_int_equal(test_delete(bdev_malloc_delete, "N"), -ENODEV);
	assert_int_equal(test_delete(bdev_null_delete, "N"), 0);
}

static void deleted(void *arg, int status)
{
	*(int *)arg = status == 0 ? 1 : -1;
}

static void test_delete_while_open(void **state)
{
	struct opened o;
	uint8_t buf[512];
	int done = 0;

	(void)state;
	open_malloc(&o, "M", 8, 512);
	assert_int_equal(bdev_malloc_delete("M", deleted, &done), 0);
	test_reactor_run_for(5);
	assert_int_equal(o.ev.remove, 1);
	assert_int_equal(done, 0); /* still open */
	assert_int_equal(test_io_run(o.ch, BDEV_IO_READ, 0, 1, buf, 512), -ENODEV);
	bdev_channel_put(o.ch);
	bdev_close(o.ev.desc);
	test_reactor_run_for(5);
	assert_int_equal(done, 1);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, bdev_test_setup, bdev_test_teardown)
	const struct CMUnitTest tests[] = {
		T(test_write_then_read_equals),
		T(test_scattered_iovecs),
		T(test_unmap_and_write_zeroes_read_back_zeroes),
		T(test_names_and_params),
		T(test_delete_of_another_backend_is_refused),
		T(test_delete_while_open),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
