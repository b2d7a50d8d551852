/* virtio-blk helpers shared by the front-end tests: patterns, hand-built requests, deep queues. */
#ifndef VHOSTD_TESTS_BLK_IO_H
#define VHOSTD_TESTS_BLK_IO_H

#include "frontend/frontend.h"

#include <linux/virtio_blk.h>

#define BLK_IO_TIMEOUT_MS 5000

void blk_fill(uint8_t *buf, size_t len, unsigned seed);

/* Writes 4 KiB of pattern at sector, reads it back through the device and, when image is not
 * NULL, straight from that file too. Records failures with CHECK. */
void blk_check_write_read(struct vu_front *f, int q, uint64_t sector, bool indirect,
			  unsigned seed, const char *image);

/* A request in guest memory, so that several can be in flight at once. */
struct blk_io {
	struct virtio_blk_outhdr hdr;
	uint8_t status;
	uint64_t gpa;
	uint8_t *data;
	uint64_t data_gpa;
};

struct blk_io *blk_io_new(struct vu_front *f, uint32_t len);
/* Header, data, status; notify=false only enqueues. Returns the head/id or -errno. */
int blk_io_submit(struct vu_front *f, int q, struct blk_io *io, uint32_t type, uint64_t sector,
		  uint32_t len, bool notify, bool indirect);

/* Keeps qd 4 KiB reads in flight on queue 0 until total completed (ring indexes wrap many
 * times), spread over the first `sectors` sectors. Frees all buffers at the end. */
void blk_run_deep(struct vu_front *f, int qd, int total, bool indirect, uint64_t sectors);

#endif
