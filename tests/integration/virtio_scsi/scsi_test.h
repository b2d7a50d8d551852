/*
 * Shared by the vhost-scsi integration tests: connecting to a vhost-scsi controller of a real
 * vhostd and a few CDBs, on top of it_util.h (RPC calls, connecting).
 */
#ifndef VHOSTD_TESTS_SCSI_TEST_H
#define VHOSTD_TESTS_SCSI_TEST_H

#include <stdbool.h>
#include <stdint.h>

#include "it_util.h"
#include "scsi_front.h"

#define ST_TIMEOUT_MS 10000

/* A vhost-scsi controller with targets 0..n-1 over bdevs named <prefix><i> (malloc: 8 MiB of
 * 512-byte blocks). */
bool st_setup_at(const char *file, int line, struct test_daemon *d, const char *ctrlr,
		 const char *prefix, int n);
#define st_setup(d, ctrlr, prefix, n) st_setup_at(__FILE__, __LINE__, d, ctrlr, prefix, n)
#define st_add_target(d, ctrlr, num, bdev)                                                         \
	it_call(d, "vhost_scsi_controller_add_target",                                             \
		json_pack("{s:s, s:i, s:s}", "ctrlr", ctrlr, "scsi_target_num", num, "bdev_name",  \
			  bdev))
#define st_remove_target(d, ctrlr, num)                                                            \
	it_ok(d, "vhost_scsi_controller_remove_target",                                            \
	      json_pack("{s:s, s:i}", "ctrlr", ctrlr, "scsi_target_num", num))

/* Connects with control + event + nio I/O queues. */
#define st_connect(d, ctrlr, nio)                                                                  \
	it_connect(d, ctrlr, &(struct vu_front_opts){ .num_queues = SF_IOQ + (nio) })

/* CDBs. */
int st_inquiry(struct vu_front *f, int q, int target, uint8_t *buf, uint16_t len,
	       struct sf_result *res);
int st_test_unit_ready(struct vu_front *f, int q, int target, struct sf_result *res);
/* READ CAPACITY (16): blocks and block size. */
int st_read_capacity(struct vu_front *f, int q, int target, uint64_t *blocks, uint32_t *bs,
		     struct sf_result *res);
/* READ (16) / WRITE (16) of len bytes at lba. */
int st_rw(struct vu_front *f, int q, int target, bool write, uint64_t lba, void *buf, uint32_t len,
	  struct sf_result *res);
/* Sense key and ASC<<8|ASCQ of fixed-format sense in res (-1 when there is none). */
int st_sense_key(const struct sf_result *res);
int st_sense_asc(const struct sf_result *res);

#endif
