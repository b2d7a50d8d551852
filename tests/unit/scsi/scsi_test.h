/*
 * Helpers for the SCSI unit tests: the reactor runs on the test thread (as in tests/unit/bdev),
 * disks are real malloc/null/error bdevs opened with a channel on this thread, and tasks are
 * submitted through scsi_dev_execute() and waited for.
 */
#ifndef VHOSTD_TEST_SCSI_H
#define VHOSTD_TEST_SCSI_H

#include "test_reactor.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "bdev/bdev_module.h"
#include "scsi/scsi.h"

/* Starts the reactor; and stops it after deleting every bdev left. */
int st_setup(void **state);
int st_teardown(void **state);

/* An open bdev: desc and this thread's channel; removed counts LUN removed callbacks. */
struct st_disk {
	struct bdev *bdev;
	struct bdev_desc *desc;
	struct bdev_channel *ch;
	int bdev_removes;
	int lun_removed;
};
void st_disk_open(struct st_disk *d, const char *name);
/* Creates a malloc bdev (uuid may be NULL) and opens it. */
void st_disk_malloc(struct st_disk *d, const char *name, uint64_t blocks, uint32_t bs,
		    const uint8_t *uuid);
/* Puts the channel and closes the desc. */
void st_disk_close(struct st_disk *d);
/* Options whose removed callback counts into d->lun_removed. */
struct scsi_lun_opts st_lun_opts(struct st_disk *d, bool readonly);

/* A target "t0" with LUN 0 on a malloc bdev "M0" of blocks x bs, its unit attention cleared for
 * initiator 1. */
struct st_target {
	struct scsi_dev *dev;
	struct st_disk disk;
};
void st_target_up(struct st_target *t, uint64_t blocks, uint32_t bs);
/* Same over the existing bdev bdev_name. */
void st_target_up_on(struct st_target *t, const char *bdev_name);
/* Destroys the dev (waiting), closes and deletes the disk. */
void st_target_down(struct st_target *t);

/* A task with one data buffer and its completion recorded. */
struct st_task {
	struct scsi_task t;
	struct iovec iov;
	bool done;
	int calls;
};
#define ST_INITIATOR 1

/* Fills st (cdb of cdb_len bytes, buf/len in dir) for initiator ST_INITIATOR. */
void st_prepare(struct st_task *st, uint32_t lun, const uint8_t *cdb, size_t cdb_len,
		enum scsi_dir dir, void *buf, size_t len);
/* st_prepare then scsi_dev_execute. */
void st_start(struct scsi_dev *dev, struct st_task *st, uint32_t lun, const uint8_t *cdb,
	      size_t cdb_len, enum scsi_dir dir, void *buf, size_t len);
/* Waits for the task; returns its SCSI status (-1 on timeout). */
int st_wait(struct st_task *st);
/* st_start then st_wait. */
int st_exec(struct scsi_dev *dev, struct st_task *st, uint32_t lun, const uint8_t *cdb,
	    size_t cdb_len, enum scsi_dir dir, void *buf, size_t len);
/* Asserts CHECK CONDITION with key and asc in either sense format. */
void st_assert_sense(const struct st_task *st, uint8_t key, uint16_t asc);
/* The task's sense, parsed. */
struct scsi_sense st_sense(const struct st_task *st);
/* Sends TEST UNIT READY from initiator until it returns GOOD (clears unit attentions). */
void st_clear_ua(struct scsi_dev *dev, uint32_t lun, uint64_t initiator);

/* A block command CDB (LBA and length at the places of opcode's CDB size: 6, 10, 12 or 16
 * bytes, from its group); returns the CDB length. */
size_t st_cdb_rw(uint8_t *cdb, uint8_t opcode, uint64_t lba, uint32_t blocks);
void st_fill(uint8_t *p, size_t n, unsigned seed);

#endif
