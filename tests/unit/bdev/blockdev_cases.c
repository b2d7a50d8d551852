/*
 * Block-device cases shared by test_bdev_uring and test_bdev_aio (see file_cases.h): a loop device
 * with a 4 KiB logical block over a file stands in for a disk. Its size and block size come from
 * the device (BLKGETSIZE64, BLKSSZGET), discard and zeroing go through the block layer, and a
 * grown device is picked up by rescan. Skipped where loop devices cannot be set up (not root).
 */
#include "file_cases.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static const struct file_backend *be;

#define LOOP_BLOCK 4096
#define BACKING_SIZE (4 << 20)

struct loop {
	char backing[96];
	char dev[32];
	int fd; /* the loop device, held to detach it */
};

static int loop_attach(struct loop *l)
{
	struct loop_config cfg = { .block_size = LOOP_BLOCK };
	int ctl, nr, backing;

	snprintf(l->backing, sizeof(l->backing), "/var/tmp/vhostd-loop-%d", getpid());
	backing = open(l->backing, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (backing < 0 || ftruncate(backing, BACKING_SIZE) < 0)
		goto fail;
	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	nr = ctl < 0 ? -1 : ioctl(ctl, LOOP_CTL_GET_FREE);
	if (ctl >= 0)
		close(ctl);
	if (nr < 0)
		goto fail;
	snprintf(l->dev, sizeof(l->dev), "/dev/loop%d", nr);
	l->fd = open(l->dev, O_RDWR | O_CLOEXEC);
	cfg.fd = (unsigned)backing;
	if (l->fd < 0 || ioctl(l->fd, LOOP_CONFIGURE, &cfg) < 0) {
		if (l->fd >= 0)
			close(l->fd);
		goto fail;
	}
	close(backing);
	return 0;
fail:
	if (backing >= 0)
		close(backing);
	unlink(l->backing);
	return -1;
}

static void loop_detach(struct loop *l)
{
	ioctl(l->fd, LOOP_CLR_FD, 0);
	close(l->fd);
	unlink(l->backing);
}

static void test_block_device(void **state)
{
	enum { LEN = 3 * LOOP_BLOCK };
	uint8_t *w = test_aligned(LEN), *r = test_aligned(LEN);
	struct test_events ev = { 0 };
	struct bdev_channel *ch;
	struct bdev *b;
	struct loop l;

	(void)state;
	if (loop_attach(&l) < 0) {
		free(w);
		free(r);
		skip();
	}
	assert_int_equal(be->create(l.dev, "L", 512, NULL, &b), -EINVAL); /* below the device's */
	assert_int_equal(be->create(l.dev, "L", 0, NULL, &b), 0);
	assert_int_equal(b->block_size, LOOP_BLOCK);
	assert_int_equal(b->num_blocks, BACKING_SIZE / LOOP_BLOCK);
	assert_false(b->unmap_reads_zero); /* a device's own affair after discard */
	assert_int_equal(test_open("L", &ev), 0);
	ch = bdev_channel_get(ev.desc);
	assert_non_null(ch);
	test_fill(w, LEN, 21);
	assert_int_equal(test_io_run(ch, BDEV_IO_WRITE, 10, 3, w, LEN), 0);
	assert_int_equal(test_io_run(ch, BDEV_IO_READ, 10, 3, r, LEN), 0);
	assert_memory_equal(r, w, LEN);
	assert_true(test_driver_flag(b, be->driver, "direct_io"));
	assert_int_equal(test_io_run(ch, BDEV_IO_FLUSH, 0, 0, NULL, 0), 0);
	/* Zeroing the middle block through the block layer; discard is taken too. */
	assert_int_equal(test_io_run(ch, BDEV_IO_WRITE_ZEROES, 11, 1, NULL, 0), 0);
	assert_int_equal(test_io_run(ch, BDEV_IO_READ, 10, 3, r, LEN), 0);
	assert_memory_equal(r, w, LOOP_BLOCK);
	for (int i = LOOP_BLOCK; i < 2 * LOOP_BLOCK; i++)
		assert_int_equal(r[i], 0);
	assert_memory_equal(r + 2 * LOOP_BLOCK, w + 2 * LOOP_BLOCK, LOOP_BLOCK);
	assert_int_equal(test_io_run(ch, BDEV_IO_UNMAP, 10, 3, NULL, 0), 0);
	/* The device grows: rescan reports it. */
	assert_int_equal(truncate(l.backing, 2 * BACKING_SIZE), 0);
	assert_int_equal(ioctl(l.fd, LOOP_SET_CAPACITY, 0), 0);
	assert_int_equal(be->rescan("L"), 0);
	assert_int_equal(b->num_blocks, 2 * BACKING_SIZE / LOOP_BLOCK);
	test_reactor_run_for(5);
	assert_int_equal(ev.resize, 1);
	bdev_channel_put(ch);
	bdev_close(ev.desc);
	assert_int_equal(test_delete(be->del, "L"), 0);
	loop_detach(&l);
	free(w);
	free(r);
}

int blockdev_cases_run(const struct file_backend *backend)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_block_device, bdev_test_setup,
						bdev_test_teardown),
	};

	be = backend;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
