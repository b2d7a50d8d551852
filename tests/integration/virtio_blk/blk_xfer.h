/*
 * virtio-blk requests built by hand in guest memory: the data spread over several descriptors
 * (segments of uneven, not sector-aligned sizes), many in flight at once, completions taken in
 * whatever order the device returns them.
 *
 * Buffers come from the front-end's bump allocator: call vu_front_free_all_buffers() once nothing
 * is in flight any more.
 */
#ifndef VHOSTD_TESTS_BLK_XFER_H
#define VHOSTD_TESTS_BLK_XFER_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/virtio_blk.h>

#include "frontend/frontend.h"

#define BX_MAX_SEGS 16

struct bx_io {
	struct virtio_blk_outhdr *hdr;
	uint8_t *status;
	uint64_t hdr_gpa, status_gpa;
	int nseg;
	uint8_t *seg[BX_MAX_SEGS];
	uint64_t seg_gpa[BX_MAX_SEGS];
	uint32_t seg_len[BX_MAX_SEGS];
	bool done;
	uint32_t used_len;
};

/* The pattern every test writes: byte i of a buffer that starts at disk byte `offset`. Depends on
 * the absolute offset, so data read back can be checked however it was written. */
void bx_fill(uint8_t *buf, size_t len, uint64_t offset, unsigned seed);
/* Index of the first byte that differs from the pattern, or -1. */
long bx_mismatch(const uint8_t *buf, size_t len, uint64_t offset, unsigned seed);

/* Builds a request of len data bytes in nseg segments (1 <= nseg <= BX_MAX_SEGS). 0 or -ENOMEM. */
int bx_io_init(struct vu_front *f, struct bx_io *io, uint32_t type, uint64_t sector, uint32_t len,
	       int nseg);
void bx_io_put(struct bx_io *io, const uint8_t *buf); /* flat buffer into the segments */
void bx_io_get(const struct bx_io *io, uint8_t *buf); /* segments into a flat buffer */
/* Makes the request available (notify=false only enqueues; vu_front_notify publishes). */
int bx_io_submit(struct vu_front *f, int q, struct bx_io *io, bool indirect, bool notify);
/* Waits until every one of the n requests (all submitted on q) completed, in any order. Returns 0,
 * -ETIMEDOUT, or -EPROTO for a completion that is not one of them or comes twice. */
int bx_wait_all(struct vu_front *f, int q, struct bx_io *ios, int n, int timeout_ms);
/* Polls q for timeout_ms and returns how many completions arrived (they are recorded in ios). */
int bx_collect(struct vu_front *f, int q, struct bx_io *ios, int n, int timeout_ms);

/* Synchronous request with data in nseg segments: returns the status byte or -errno. IN copies
 * the data into buf. Frees every guest buffer on return. */
int bx_rw(struct vu_front *f, int q, uint32_t type, uint64_t sector, void *buf, uint32_t len,
	  int nseg, bool indirect);

#endif
