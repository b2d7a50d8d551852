/* File-backend cases shared by test_bdev_uring and test_bdev_aio (see file_cases.h). */
#include "file_cases.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct file_backend *be;

struct file_fixture {
	char dir[64];
	char path[96];
	struct bdev *bdev;
	struct test_events ev;
	struct bdev_channel *ch;
};

static int file_make(const char *path, off_t size)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, size) < 0) {
		close(fd);
		return -errno;
	}
	close(fd);
	return 0;
}

static void fixture_open(struct file_fixture *f, const char *dir, off_t size)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->path, sizeof(f->path), "%s/vhostd-bdev-test-%d", dir, getpid());
	assert_int_equal(file_make(f->path, size), 0);
	assert_int_equal(be->create(f->path, "F", 0, NULL, &f->bdev), 0);
	assert_int_equal(test_open("F", &f->ev), 0);
	f->ch = bdev_channel_get(f->ev.desc);
	assert_non_null(f->ch);
}

static void fixture_close(struct file_fixture *f)
{
	bdev_channel_put(f->ch);
	bdev_close(f->ev.desc);
	assert_int_equal(test_delete(be->del, "F"), 0);
	unlink(f->path);
}

static long long file_blocks(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return (long long)st.st_blocks;
}

/* A private mount namespace with a file system mounted on a fresh directory (dir is a mkdtemp
 * template); false where namespaces or mounts are not allowed. */
static bool private_mount(char *dir, const char *fstype, const char *options)
{
	assert_non_null(mkdtemp(dir));
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("none", dir, fstype, 0, options) < 0) {
		rmdir(dir);
		return false;
	}
	return true;
}

static void private_unmount(char *dir)
{
	umount(dir);
	rmdir(dir);
}

/* Writes and reads back 64 KiB at several offsets, some I/Os at once. */
static void round_trip(struct file_fixture *f, size_t misalign)
{
	enum { N = 4, LEN = 65536 };
	uint8_t *w = test_aligned(N * LEN + 64), *r = test_aligned(N * LEN + 64);
	struct test_io t[N];

	test_fill(w + misalign, N * LEN, 7);
	for (int i = 0; i < N; i++)
		test_io_start(f->ch, &t[i], BDEV_IO_WRITE, (uint64_t)i * 256, 128,
			      w + misalign + i * LEN, LEN);
	for (int i = 0; i < N; i++) {
		assert_true(test_reactor_run_until(&t[i].done));
		assert_int_equal(t[i].status, 0);
	}
	memset(r, 0, N * LEN + 64);
	for (int i = 0; i < N; i++)
		test_io_start(f->ch, &t[i], BDEV_IO_READ, (uint64_t)i * 256, 128,
			      r + misalign + i * LEN, LEN);
	for (int i = 0; i < N; i++) {
		assert_true(test_reactor_run_until(&t[i].done));
		assert_int_equal(t[i].status, 0);
	}
	assert_memory_equal(w + misalign, r + misalign, N * LEN);
	assert_int_equal(test_io_run(f->ch, BDEV_IO_FLUSH, 0, 0, NULL, 0), 0);
	free(w);
	free(r);
}

static void test_round_trip_var_tmp(void **state)
{
	struct file_fixture f;

	(void)state;
	fixture_open(&f, "/var/tmp", 1 << 20);
	assert_int_equal(f.bdev->block_size, 512); /* files: 512 */
	assert_int_equal(f.bdev->num_blocks, 2048);
	assert_true(test_driver_flag(f.bdev, be->driver, "direct_io")); /* ext4 & co take O_DIRECT */
	assert_false(test_driver_flag(f.bdev, be->driver, "memory_mapped"));
	round_trip(&f, 0);
	/* Aligned I/O never needed the fallback. */
	assert_true(test_driver_flag(f.bdev, be->driver, "direct_io"));
	fixture_close(&f);
}

static void test_round_trip_dev_shm(void **state)
{
	struct file_fixture f;

	(void)state;
	fixture_open(&f, "/dev/shm", 1 << 20);
	assert_true(test_driver_flag(f.bdev, be->driver, "memory_mapped"));
	round_trip(&f, 0);
	round_trip(&f, 1);
	fixture_close(&f);
}

/* A tmpfs image is copied through a mapping, where touching a hole would allocate it: reading
 * holes must allocate nothing, a write only its own pages, and UNMAP gives them back for good. */
static void test_tmpfs_image_keeps_its_holes(void **state)
{
	struct file_fixture f;
	uint8_t *buf = test_aligned(1 << 20), *w = test_aligned(4096);

	(void)state;
	fixture_open(&f, "/dev/shm", 1 << 20);
	memset(buf, 0xaa, 1 << 20);
	assert_int_equal(test_io_run(f.ch, BDEV_IO_READ, 0, 2048, buf, 1 << 20), 0);
	for (int i = 0; i < 1 << 20; i++)
		assert_int_equal(buf[i], 0);
	assert_int_equal(file_blocks(f.path), 0);
	test_fill(w, 4096, 5);
	assert_int_equal(test_io_run(f.ch, BDEV_IO_WRITE, 128, 8, w, 4096), 0);
	assert_int_equal(file_blocks(f.path), 8);
	for (int round = 0; round < 2; round++) { /* through the file, then the mapping */
		memset(buf, 0xaa, 12288);
		assert_int_equal(test_io_run(f.ch, BDEV_IO_READ, 120, 24, buf, 12288), 0);
		for (int i = 0; i < 4096; i++)
			assert_int_equal(buf[i] | buf[8192 + i], 0);
		assert_memory_equal(buf + 4096, w, 4096);
		assert_int_equal(test_io_run(f.ch, BDEV_IO_READ, 128, 8, buf, 4096), 0);
	}
	assert_int_equal(file_blocks(f.path), 8);
	assert_int_equal(test_io_run(f.ch, BDEV_IO_UNMAP, 128, 8, NULL, 0), 0);
	assert_int_equal(file_blocks(f.path), 0);
	memset(buf, 0xaa, 4096);
	assert_int_equal(test_io_run(f.ch, BDEV_IO_READ, 128, 8, buf, 4096), 0);
	for (int i = 0; i < 4096; i++)
		assert_int_equal(buf[i], 0);
	assert_int_equal(file_blocks(f.path), 0);
	fixture_close(&f);
	free(buf);
	free(w);
}

/* A full tmpfs: a write into a hole fails with ENOSPC (the copy never faults), and the image
 * carries on for what fits. */
static void test_full_tmpfs_fails_writes_cleanly(void **state)
{
	struct file_fixture f;
	char dir[] = "/tmp/vhostd-tmpfs-XXXXXX";
	uint8_t *w = test_aligned(131072), *r = test_aligned(4096);

	(void)state;
	if (!private_mount(dir, "tmpfs", "size=64k")) {
		free(w);
		free(r);
		skip();
	}
	fixture_open(&f, dir, 1 << 20);
	assert_true(test_driver_flag(f.bdev, be->driver, "memory_mapped"));
	test_fill(w, 131072, 9);
	assert_int_equal(test_io_run(f.ch, BDEV_IO_WRITE, 0, 256, w, 131072), -ENOSPC);
	assert_int_equal(test_io_run(f.ch, BDEV_IO_WRITE, 0, 8, w, 4096), 0);
	assert_int_equal(test_io_run(f.ch, BDEV_IO_READ, 0, 8, r, 4096), 0);
	assert_memory_equal(r, w, 4096);
	fixture_close(&f);
	private_unmount(dir);
	free(w);
	free(r);
}

static void test_unaligned_buffers_do_not_fail(void **state)
{
	struct file_fixture f;

	(void)state;
	fixture_open(&f, "/var/tmp", 1 << 20);
	round_trip(&f, 1);  /* odd addresses: buffered path */
	round_trip(&f, 16); /* may be fine for the device or not: either way it must work */
	fixture_close(&f);
}

/* ramfs refuses O_DIRECT at open. Mounted in a private mount namespace so nothing leaks out;
 * skipped where namespaces or mounts are not allowed. */
static void test_file_system_without_o_direct(void **state)
{
	struct file_fixture f;
	char dir[] = "/tmp/vhostd-ramfs-XXXXXX";

	(void)state;
	if (!private_mount(dir, "ramfs", NULL))
		skip();
	fixture_open(&f, dir, 1 << 20);
	assert_false(test_driver_flag(f.bdev, be->driver, "direct_io"));
	assert_false(test_driver_flag(f.bdev, be->driver, "memory_mapped"));
	round_trip(&f, 0);
	fixture_close(&f);
	private_unmount(dir);
}

static void test_many_in_flight(void **state)
{
	enum { N = 600 }; /* more than one ring or io context holds */
	struct file_fixture f;
	struct test_io *t = calloc(N, sizeof(*t));
	uint8_t *buf = test_aligned((size_t)N * 4096);

	(void)state;
	fixture_open(&f, "/var/tmp", (off_t)N * 4096);
	for (int i = 0; i < N; i++) {
		memset(buf + (size_t)i * 4096, i & 0xff, 4096);
		test_io_start(f.ch, &t[i], BDEV_IO_WRITE, (uint64_t)i * 8, 8,
			      buf + (size_t)i * 4096, 4096);
	}
	for (int i = 0; i < N; i++) {
		assert_true(test_reactor_run_until(&t[i].done));
		assert_int_equal(t[i].status, 0);
	}
	memset(buf, 0, (size_t)N * 4096);
	for (int i = 0; i < N; i++)
		test_io_start(f.ch, &t[i], BDEV_IO_READ, (uint64_t)i * 8, 8, buf + (size_t)i * 4096,
			      4096);
	for (int i = 0; i < N; i++) {
		assert_true(test_reactor_run_until(&t[i].done));
		assert_int_equal(t[i].status, 0);
		assert_int_equal(buf[(size_t)i * 4096 + 4095], i & 0xff);
	}
	fixture_close(&f);
	free(buf);
	free(t);
}

static void check_zeroed(struct file_fixture *f, enum bdev_io_type type)
{
	uint8_t *w = test_aligned(16384), *r = test_aligned(16384);

	test_fill(w, 16384, 3);
	assert_int_equal(test_io_run(f->ch, BDEV_IO_WRITE, 0, 32, w, 16384), 0);
	assert_int_equal(test_io_run(f->ch, type, 8, 16, NULL, 0), 0);
	assert_int_equal(test_io_run(f->ch, BDEV_IO_READ, 0, 32, r, 16384), 0);
	assert_memory_equal(r, w, 4096);
	for (int i = 4096; i < 12288; i++)
		assert_int_equal(r[i], 0);
	assert_memory_equal(r + 12288, w + 12288, 4096);
	free(w);
	free(r);
}

static void test_unmap_and_write_zeroes(void **state)
{
	struct file_fixture f;

	(void)state;
	fixture_open(&f, "/var/tmp", 1 << 20);
	check_zeroed(&f, BDEV_IO_UNMAP);
	check_zeroed(&f, BDEV_IO_WRITE_ZEROES);
	fixture_close(&f);
	/* tmpfs has no ZERO_RANGE: the fallback must still zero. */
	fixture_open(&f, "/dev/shm", 1 << 20);
	check_zeroed(&f, BDEV_IO_WRITE_ZEROES);
	check_zeroed(&f, BDEV_IO_UNMAP);
	fixture_close(&f);
}

static void test_rescan_reports_resize(void **state)
{
	struct file_fixture f;

	(void)state;
	fixture_open(&f, "/var/tmp", 1 << 20);
	assert_int_equal(be->rescan("F"), 0); /* unchanged: no event */
	assert_int_equal(truncate(f.path, 2 << 20), 0);
	assert_int_equal(be->rescan("F"), 0);
	assert_int_equal(bdev_num_blocks(f.bdev), 4096);
	test_reactor_run_for(5);
	assert_int_equal(f.ev.resize, 1);
	assert_int_equal(be->rescan("nope"), -ENODEV);
	assert_int_equal(bdev_null_create("N", 8, 512, NULL, NULL), 0);
	assert_int_equal(be->rescan("N"), -ENODEV); /* another backend's bdev */
	assert_int_equal(test_delete(bdev_null_delete, "N"), 0);
	fixture_close(&f);
}

/* The file shrinks under the bdev (no rescan): reads past the new end come back short, then
 * empty (or, through a tmpfs mapping, fault). The I/O must fail cleanly rather than hang, lie or
 * kill the process, and what is still in the file stays readable. */
static void shrink_under_bdev(const char *dir)
{
	struct file_fixture f;
	uint8_t *buf = test_aligned(65536);

	fixture_open(&f, dir, 1 << 20);
	test_fill(buf, 65536, 1);
	assert_int_equal(test_io_run(f.ch, BDEV_IO_WRITE, 1920, 128, buf, 65536), 0);
	assert_int_equal(truncate(f.path, (1 << 20) - 32768), 0);
	/* Straddles the new end: the first half comes back, the second half never. */
	assert_int_equal(test_io_run(f.ch, BDEV_IO_READ, 1920, 128, buf, 65536), -EIO);
	/* Wholly past the end. */
	assert_int_equal(test_io_run(f.ch, BDEV_IO_READ, 2040, 8, buf, 4096), -EIO);
	/* Still in the file: fine. */
	assert_int_equal(test_io_run(f.ch, BDEV_IO_READ, 1920, 64, buf, 32768), 0);
	assert_int_equal(test_io_run(f.ch, BDEV_IO_WRITE, 0, 8, buf, 4096), 0);
	fixture_close(&f);
	free(buf);
}

static void test_shrunk_file_fails_cleanly(void **state)
{
	(void)state;
	shrink_under_bdev("/var/tmp");
	shrink_under_bdev("/dev/shm");
}

static void test_create_params(void **state)
{
	char path[96], dir[] = "/var/tmp/vhostd-dir-XXXXXX";
	struct bdev *b;

	(void)state;
	snprintf(path, sizeof(path), "/var/tmp/vhostd-bdev-params-%d", getpid());
	assert_int_equal(be->create("/var/tmp/does/not/exist", "F", 0, NULL, &b), -ENOENT);
	assert_int_equal(file_make(path, 0), 0);
	assert_int_equal(be->create(path, "F", 0, NULL, &b), -EINVAL); /* empty */
	assert_int_equal(file_make(path, 1000), 0);
	assert_int_equal(be->create(path, "F", 0, NULL, &b), -EINVAL); /* not whole blocks */
	assert_int_equal(file_make(path, 1 << 20), 0);
	assert_int_equal(be->create(path, "F", 1000, NULL, &b), -EINVAL); /* not a power of 2 */
	assert_int_equal(be->create(path, "F", 256, NULL, &b), -EINVAL);
	assert_int_equal(be->create(path, NULL, 0, NULL, &b), -EINVAL);
	assert_non_null(mkdtemp(dir));
	assert_int_equal(be->create(dir, "F", 0, NULL, &b), -EISDIR);
	rmdir(dir);
	assert_int_equal(be->create(path, "F", 4096, NULL, &b), 0);
	assert_int_equal(b->block_size, 4096);
	assert_int_equal(b->num_blocks, 256);
	assert_true(b->write_cache);
	assert_int_equal(be->create(path, "F", 0, NULL, &b), -EEXIST);
	assert_int_equal(test_delete(be->del, "F"), 0);
	assert_int_equal(test_delete(be->del, "F"), -ENODEV);
	unlink(path);
}

static void test_delete_while_open(void **state)
{
	struct file_fixture f;
	uint8_t *buf = test_aligned(4096);

	(void)state;
	fixture_open(&f, "/var/tmp", 1 << 20);
	assert_int_equal(be->del("F", NULL, NULL), 0);
	test_reactor_run_for(5);
	assert_int_equal(f.ev.remove, 1);
	assert_int_equal(test_io_run(f.ch, BDEV_IO_READ, 0, 8, buf, 4096), -ENODEV);
	bdev_channel_put(f.ch);
	bdev_close(f.ev.desc);
	test_reactor_run_for(5);
	assert_null(bdev_get_by_name("F"));
	unlink(f.path);
	free(buf);
}

int file_cases_run(const struct file_backend *backend)
{
#define T(name) cmocka_unit_test_setup_teardown(name, bdev_test_setup, bdev_test_teardown)
	const struct CMUnitTest tests[] = {
		T(test_round_trip_var_tmp),
		T(test_round_trip_dev_shm),
		T(test_unaligned_buffers_do_not_fail),
		T(test_many_in_flight),
		T(test_unmap_and_write_zeroes),
		T(test_rescan_reports_resize),
		T(test_tmpfs_image_keeps_its_holes),
		T(test_shrunk_file_fails_cleanly),
		T(test_create_params),
		T(test_delete_while_open),
		/* Last: they move the process into mount namespaces of its own. */
		T(test_file_system_without_o_direct),
		T(test_full_tmpfs_fails_writes_cleanly),
	};

	be = backend;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
