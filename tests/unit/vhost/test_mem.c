/* The guest memory map: what translates, what is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vhost/mem.h"

static int memfd_of(size_t size)
{
	int fd = memfd_create("mem-test", 0);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	return fd;
}

static struct vhost_user_mem_region region(uint64_t gpa, uint64_t size, uint64_t uva, uint64_t off)
{
	return (struct vhost_user_mem_region){ gpa, size, uva, off };
}

static void translates_inside_regions_only(void **state)
{
	struct vhost_mem m = { 0 };
	struct vhost_user_mem_region r = region(0x1000, 0x10000, 0x7000000, 0);
	int fd = memfd_of(0x10000);
	uint8_t *p;

	(void)state;
	assert_int_equal(vhost_mem_add(&m, &r, fd), 0);
	p = vhost_mem_gpa_to_ptr(&m, 0x1000, 0x10000);
	assert_non_null(p);
	assert_ptr_equal(vhost_mem_gpa_to_ptr(&m, 0x1010, 4), p + 0x10);
	assert_null(vhost_mem_gpa_to_ptr(&m, 0xfff, 2));
	assert_null(vhost_mem_gpa_to_ptr(&m, 0x10ff0, 0x20));
	assert_null(vhost_mem_gpa_to_ptr(&m, UINT64_MAX - 1, 4));
	assert_ptr_equal(vhost_mem_uva_to_ptr(&m, 0x7000100, 16), p + 0x100);
	assert_null(vhost_mem_uva_to_ptr(&m, 0x6ffffff, 16));
	vhost_mem_clear(&m);
	close(fd);
}

static void splits_buffers_across_adjacent_regions(void **state)
{
	struct vhost_mem m = { 0 };
	struct vhost_user_mem_region a = region(0, 0x2000, 0x10000, 0), b = region(0x2000, 0x2000, 0x90000, 0);
	int fa = memfd_of(0x2000), fb = memfd_of(0x2000);
	struct iovec iov[4];

	(void)state;
	assert_int_equal(vhost_mem_add(&m, &a, fa), 0);
	assert_int_equal(vhost_mem_add(&m, &b, fb), 0);
	assert_int_equal(vhost_mem_gpa_to_iov(&m, 0x1800, 0x1000, iov, 4), 2);
	assert_int_equal(iov[0].iov_len, 0x800);
	assert_int_equal(iov[1].iov_len, 0x800);
	assert_int_equal(vhost_mem_gpa_to_iov(&m, 0x1800, 0x1000, iov, 1), -E2BIG);
	assert_int_equal(vhost_mem_gpa_to_iov(&m, 0x3800, 0x1000, iov, 4), -EFAULT);
	vhost_mem_clear(&m);
	close(fa);
	close(fb);
}

static void refuses_bad_regions(void **state)
{
	struct vhost_mem m = { 0 };
	int fd = memfd_of(0x4000);
	struct vhost_user_mem_region ok = region(0, 0x4000, 0x1000, 0);
	struct vhost_user_mem_region overlap = region(0x3000, 0x1000, 0x9000, 0);
	struct vhost_user_mem_region too_big = region(0x10000, 0x8000, 0x20000, 0); /* file is 16 KiB */
	struct vhost_user_mem_region empty = region(0x20000, 0, 0x30000, 0);
	struct vhost_user_mem_region wraps = region(UINT64_MAX - 0xfff, 0x2000, 0x40000, 0);

	(void)state;
	assert_int_equal(vhost_mem_add(&m, &ok, fd), 0);
	assert_int_equal(vhost_mem_add(&m, &overlap, fd), -EINVAL);
	assert_int_equal(vhost_mem_add(&m, &too_big, fd), -EINVAL);
	assert_int_equal(vhost_mem_add(&m, &empty, fd), -EINVAL);
	assert_int_equal(vhost_mem_add(&m, &wraps, fd), -EINVAL);
	assert_int_equal(m.nregions, 1);
	assert_int_equal(vhost_mem_remove(&m, &overlap), -ENOENT);
	assert_int_equal(vhost_mem_remove(&m, &ok), 0);
	assert_int_equal(m.nregions, 0);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(translates_inside_regions_only),
		cmocka_unit_test(splits_buffers_across_adjacent_regions),
		cmocka_unit_test(refuses_bad_regions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
