/*
 * Helpers for the bdev unit tests: the reactor runs on the test thread (reactors_init(NULL), then
 * reactor_run_once() until a flag is set, with a bound), I/O submitted and waited for, and events
 * recorded.
 */
#ifndef VHOSTD_TEST_BDEV_H
#define VHOSTD_TEST_BDEV_H

#include "test_reactor.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "bdev/bdev.h"
#include "bdev/bdev_module.h"

#include <stdbool.h>

/* Starts the control reactor on this thread; and stops it, checking no bdev is left. */
int bdev_test_setup(void **state);
int bdev_test_teardown(void **state);

/* An I/O whose completion is recorded. */
struct test_io {
	struct bdev_io io;
	struct iovec iov;
	bool done;
	int status;
	int calls;
};
/* Fills and submits t (buf may be NULL for non-data types); returns without waiting. */
void test_io_start(struct bdev_channel *ch, struct test_io *t, enum bdev_io_type type,
		   uint64_t offset, uint64_t num, void *buf, size_t len);
/* Submits and waits; returns the status (or -ETIMEDOUT). */
int test_io_run(struct bdev_channel *ch, enum bdev_io_type type, uint64_t offset, uint64_t num,
		void *buf, size_t len);

/* Events seen by a desc opened with test_open(). */
struct test_events {
	int resize;
	int remove;
	struct bdev_desc *desc;
	bool close_on_remove;
};
void test_event_cb(enum bdev_event event, struct bdev *bdev, void *ctx);
/* Opens name for writing with test_event_cb recording into ev. */
int test_open(const char *name, struct test_events *ev);

/* A page-aligned buffer (free() it); a byte pattern that differs with seed. */
void *test_aligned(size_t n);
void test_fill(uint8_t *p, size_t n, unsigned seed);
/* A boolean of bdev_get_bdevs' driver_specific object of driver (direct_io, memory_mapped). */
bool test_driver_flag(struct bdev *bdev, const char *driver, const char *key);

/* Unregisters a bdev and waits for its destruction. */
void test_unregister(struct bdev *bdev);
/* Calls a backend's delete and waits; returns its status. */
int test_delete(int (*del)(const char *, bdev_delete_done_fn, void *), const char *name);

#endif
