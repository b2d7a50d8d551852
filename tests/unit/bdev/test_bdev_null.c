/* null bdev: I/O completes without touching data (SPDK's behaviour), resize in MiB. */
#include "bdev_test.h"

#include <errno.h>
#include <string.h>

static void test_io_completes_without_touching_buffers(void **state)
{
	struct test_events ev = { 0 };
	struct bdev_channel *ch;
	uint8_t buf[4096];

	(void)state;
	assert_int_equal(bdev_null_create("Null0", 1024, 4096, NULL, NULL), 0);
	assert_int_equal(test_open("Null0", &ev), 0);
	ch = bdev_channel_get(ev.desc);
	memset(buf, 0xa5, sizeof(buf));
	assert_int_equal(test_io_run(ch, BDEV_IO_READ, 1023, 1, buf, sizeof(buf)), 0);
	for (size_t i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0xa5); /* SPDK's null leaves read buffers untouched */
	assert_int_equal(test_io_run(ch, BDEV_IO_WRITE, 0, 1, buf, sizeof(buf)), 0);
	assert_int_equal(test_io_run(ch, BDEV_IO_WRITE_ZEROES, 0, 1024, NULL, 0), 0);
	assert_int_equal(test_io_run(ch, BDEV_IO_FLUSH, 0, 0, NULL, 0), -ENOTSUP);
	assert_int_equal(test_io_run(ch, BDEV_IO_UNMAP, 0, 1, NULL, 0), -ENOTSUP);
	assert_int_equal(test_io_run(ch, BDEV_IO_READ, 1024, 1, buf, sizeof(buf)), -EINVAL);
	bdev_channel_put(ch);
	bdev_close(ev.desc);
	assert_int_equal(test_delete(bdev_null_delete, "Null0"), 0);
}

static void test_create_params(void **state)
{
	struct bdev *b;

	(void)state;
	assert_int_equal(bdev_null_create(NULL, 8, 512, NULL, &b), -EINVAL); /* name required */
	assert_int_equal(bdev_null_create("N", 0, 512, NULL, &b), -EINVAL);
	assert_int_equal(bdev_null_create("N", 8, 100, NULL, &b), -EINVAL);
	assert_int_equal(bdev_null_create("N", 8, 512, NULL, &b), 0);
	assert_string_equal(b->product_name, "Null disk");
	assert_int_equal(bdev_null_create("N", 8, 512, NULL, &b), -EEXIST);
	assert_int_equal(test_delete(bdev_null_delete, "N"), 0);
	assert_int_equal(test_delete(bdev_null_delete, "N"), -ENODEV);
}

static void test_resize_in_mib_sends_event(void **state)
{
	struct test_events ev = { 0 };
	struct bdev *b;

	(void)state;
	/* 1 MiB of 512-byte blocks. */
	assert_int_equal(bdev_null_create("N", 2048, 512, NULL, &b), 0);
	assert_int_equal(test_open("N", &ev), 0);
	assert_int_equal(bdev_null_resize("N", 4), 0);
	assert_int_equal(bdev_num_blocks(b), 4 * 2048);
	test_reactor_run_for(5);
	assert_int_equal(ev.resize, 1);
	assert_int_equal(bdev_null_resize("N", 2), -EINVAL); /* never smaller, as SPDK */
	assert_int_equal(bdev_null_resize("N", UINT64_MAX / 1024), -EINVAL);
	assert_int_equal(bdev_null_resize("nope", 8), -ENODEV);
	assert_int_equal(bdev_malloc_create("M", 8, 512, NULL, NULL), 0);
	assert_int_equal(bdev_null_resize("M", 8), -EINVAL); /* not a null bdev */
	assert_int_equal(test_delete(bdev_malloc_delete, "M"), 0);
	bdev_close(ev.desc);
	assert_int_equal(test_delete(bdev_null_delete, "N"), 0);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, bdev_test_setup, bdev_test_teardown)
	const struct CMUnitTest tests[] = {
		T(test_io_completes_without_touching_buffers),
		T(test_create_params),
		T(test_resize_in_mib_sends_event),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
