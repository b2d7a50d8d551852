#include "test_clock.h"
#include "blk_xfer.h"

#include <errno.h>
#include <string.h>
#include <time.h>

static uint8_t pattern_byte(uint64_t pos, unsigned seed)
{
	uint64_t x = (pos >> 3) * 0x9e3779b97f4a7c15ULL + seed * 0x100000001b3ULL;

	return (uint8_t)((x >> 29) ^ (x >> (pos & 7)) ^ pos);
}

void bx_fill(uint8_t *buf, size_t len, uint64_t offset, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = pattern_byte(offset + i, seed);
}

long bx_mismatch(const uint8_t *buf, size_t len, uint64_t offset, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		if (buf[i] != pattern_byte(offset + i, seed))
			return (long)i;
	return -1;
}

/* Where segment i ends: evenly spread, every other cut moved off the sector boundary. */
static uint32_t seg_end(uint32_t len, int nseg, int i)
{
	uint32_t end = (uint32_t)((uint64_t)len * (i + 1) / nseg);

	if (i + 1 < nseg && i % 2 == 0 && len / nseg > 200)
		end -= 100;
	return end;
}

int bx_io_init(struct vu_front *f, struct bx_io *io, uint32_t type, uint64_t sector, uint32_t len,
	       int nseg)
{
	uint32_t start = 0;

	if (nseg < 1 || nseg > BX_MAX_SEGS || (len == 0 && nseg != 1))
		return -EINVAL;
	memset(io, 0, sizeof(*io));
	io->hdr = vu_front_alloc(f, sizeof(*io->hdr), 16, &io->hdr_gpa);
	io->status = vu_front_alloc(f, 1, 1, &io->status_gpa);
	if (!io->hdr || !io->status)
		return -ENOMEM;
	io->hdr->type = type;
	io->hdr->sector = sector;
	*io->status = 0xff;
	io->nseg = len ? nseg : 0;
	for (int i = 0; i < io->nseg; i++) {
		uint32_t end = seg_end(len, nseg, i);

		io->seg_len[i] = end - start;
		start = end;
		/* A gap of 24 bytes between segments: no two are contiguous in guest memory. */
		if (!vu_front_alloc(f, 24, 8, NULL) ||
		    !(io->seg[i] = vu_front_alloc(f, io->seg_len[i], 8, &io->seg_gpa[i])))
			return -ENOMEM;
	}
	return 0;
}

void bx_io_put(struct bx_io *io, const uint8_t *buf)
{
	for (int i = 0; i < io->nseg; i++) {
		memcpy(io->seg[i], buf, io->seg_len[i]);
		buf += io->seg_len[i];
	}
}

void bx_io_get(const struct bx_io *io, uint8_t *buf)
{
	for (int i = 0; i < io->nseg; i++) {
		memcpy(buf, io->seg[i], io->seg_len[i]);
		buf += io->seg_len[i];
	}
}

int bx_io_submit(struct vu_front *f, int q, struct bx_io *io, bool indirect, bool notify)
{
	struct vu_buf bufs[BX_MAX_SEGS + 2];
	bool write = io->hdr->type == VIRTIO_BLK_T_IN || io->hdr->type == VIRTIO_BLK_T_GET_ID;
	int n = 0;

	bufs[n++] = (struct vu_buf){ .gpa = io->hdr_gpa, .len = sizeof(*io->hdr) };
	for (int i = 0; i < io->nseg; i++)
		bufs[n++] = (struct vu_buf){ .gpa = io->seg_gpa[i],
					     .len = io->seg_len[i],
					     .write = write };
	bufs[n++] = (struct vu_buf){ .gpa = io->status_gpa, .len = 1, .write = true };
	io->done = false;
	return notify ? vu_front_submit(f, q, bufs, n, indirect, io)
		      : vu_front_enqueue(f, q, bufs, n, indirect, io);
}

/* Records one completion; -EPROTO when it is not one of ios or was completed already. */
static int record(struct bx_io *ios, int n, void *cookie, uint32_t len)
{
	struct bx_io *io = cookie;

	if (io < ios || io >= ios + n || io->done)
		return -EPROTO;
	io->done = true;
	io->used_len = len;
	return 0;
}

int bx_collect(struct vu_front *f, int q, struct bx_io *ios, int n, int timeout_ms)
{
	long long deadline = test_now_ms() + timeout_ms;
	int got = 0, rc;

	for (;;) {
		long long left = deadline - test_now_ms();
		void *cookie;
		uint32_t len;

		rc = vu_front_wait(f, q, left > 0 ? (int)left : 0, &cookie, &len);
		if (rc < 0)
			return rc;
		if (rc == 0)
			return got;
		rc = record(ios, n, cookie, len);
		if (rc)
			return rc;
		got++;
	}
}

int bx_wait_all(struct vu_front *f, int q, struct bx_io *ios, int n, int timeout_ms)
{
	long long deadline = test_now_ms() + timeout_ms;
	int pending = 0, rc;

	for (int i = 0; i < n; i++)
		pending += !ios[i].done;
	while (pending > 0) {
		long long left = deadline - test_now_ms();
		void *cookie;
		uint32_t len;

		if (left <= 0)
			return -ETIMEDOUT;
		rc = vu_front_wait(f, q, (int)left, &cookie, &len);
		if (rc < 0)
			return rc;
		if (rc == 0)
			return -ETIMEDOUT;
		rc = record(ios, n, cookie, len);
		if (rc)
			return rc;
		pending--;
	}
	return 0;
}

int bx_rw(struct vu_front *f, int q, uint32_t type, uint64_t sector, void *buf, uint32_t len,
	  int nseg, bool indirect)
{
	struct bx_io io;
	int rc = bx_io_init(f, &io, type, sector, len, nseg);

	if (rc == 0 && type != VIRTIO_BLK_T_IN && type != VIRTIO_BLK_T_GET_ID)
		bx_io_put(&io, buf);
	if (rc == 0)
		rc = bx_io_submit(f, q, &io, indirect, true);
	if (rc >= 0)
		rc = bx_wait_all(f, q, &io, 1, 10000);
	if (rc == 0) {
		rc = *(volatile uint8_t *)io.status;
		if (type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID)
			bx_io_get(&io, buf);
	}
	/* A request that did not complete may still be written by the device: keep its buffers. */
	if (rc != -ETIMEDOUT)
		vu_front_free_all_buffers(f);
	return rc;
}
