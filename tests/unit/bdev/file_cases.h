/* The cases both file backends (uring, aio) must pass; each test program runs them for one. */
#ifndef VHOSTD_TEST_BDEV_FILE_CASES_H
#define VHOSTD_TEST_BDEV_FILE_CASES_H

#include "bdev_test.h"

struct file_backend {
	const char *driver; /* its driver_specific key */
	int (*create)(const char *filename, const char *name, uint32_t block_size,
		      const uint8_t *uuid, struct bdev **out);
	int (*del)(const char *name, bdev_delete_done_fn done, void *arg);
	int (*rescan)(const char *name);
};

/* Run every case against backend (files; block devices, blockdev_cases.c); cmocka's result. */
int file_cases_run(const struct file_backend *backend);
int blockdev_cases_run(const struct file_backend *backend);

#endif
