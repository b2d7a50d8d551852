#include "blk_io.h"
#include "tap.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

void blk_fill(uint8_t *buf, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(seed * 131 + i * 7 + (i >> 9));
}

void blk_check_write_read(struct vu_front *f, int q, uint64_t sector, bool indirect,
			  unsigned seed, const char *image)
{
	uint8_t w[4096], r[4096], disk[4096];

	blk_fill(w, sizeof(w), seed);
	memset(r, 0, sizeof(r));
	CHECK_EQ(vu_blk_request_opt(f, q, VIRTIO_BLK_T_OUT, sector, w, sizeof(w), indirect),
		 VIRTIO_BLK_S_OK);
	CHECK_EQ(vu_blk_request_opt(f, q, VIRTIO_BLK_T_IN, sector, r, sizeof(r), indirect),
		 VIRTIO_BLK_S_OK);
	CHECK_MSG(memcmp(w, r, sizeof(w)) == 0, "data read back differs (q %d sector %llu)", q,
		  (unsigned long long)sector);
	if (image) {
		int fd = open(image, O_RDONLY);

		CHECK(fd >= 0);
		CHECK_EQ(pread(fd, disk, sizeof(disk), sector * 512), (long)sizeof(disk));
		CHECK_MSG(memcmp(w, disk, sizeof(w)) == 0, "file differs from what was written");
		close(fd);
	}
}

struct blk_io *blk_io_new(struct vu_front *f, uint32_t len)
{
	uint64_t gpa;
	struct blk_io *io = vu_front_alloc(f, sizeof(*io), 16, &gpa);

	if (!io)
		return NULL;
	io->gpa = gpa;
	io->data = vu_front_alloc(f, len, 4096, &io->data_gpa);
	return io->data ? io : NULL;
}

int blk_io_submit(struct vu_front *f, int q, struct blk_io *io, uint32_t type, uint64_t sector,
		  uint32_t len, bool notify, bool indirect)
{
	struct vu_buf bufs[3] = {
		{ .gpa = io->gpa + offsetof(struct blk_io, hdr), .len = sizeof(io->hdr) },
		{ .gpa = io->data_gpa, .len = len, .write = type == VIRTIO_BLK_T_IN },
		{ .gpa = io->gpa + offsetof(struct blk_io, status), .len = 1, .write = true },
	};

	io->hdr = (struct virtio_blk_outhdr){ .type = type, .sector = sector };
	io->status = 0xff;
	return notify ? vu_front_submit(f, q, bufs, 3, indirect, io)
		      : vu_front_enqueue(f, q, bufs, 3, indirect, io);
}

void blk_run_deep(struct vu_front *f, int qd, int total, bool indirect, uint64_t sectors)
{
	struct blk_io *io[64];
	uint64_t slots = sectors / 8;
	int done = 0, issued = 0;

	REQUIRE(qd <= 64 && slots);
	for (int i = 0; i < qd; i++) {
		io[i] = blk_io_new(f, 4096);
		REQUIRE(io[i]);
		REQUIRE(blk_io_submit(f, 0, io[i], VIRTIO_BLK_T_IN, 8 * (i % slots), 4096, false,
				      indirect) >= 0);
		issued++;
	}
	CHECK_EQ(vu_front_notify(f, 0), 0);
	while (done < total) {
		void *cookie;
		uint32_t len;
		int rc = vu_front_wait(f, 0, BLK_IO_TIMEOUT_MS, &cookie, &len);

		CHECK_MSG(rc == 1, "wait returned %d after %d completions", rc, done);
		if (rc != 1)
			break;
		struct blk_io *c = cookie;

		CHECK_EQ(c->status, VIRTIO_BLK_S_OK);
		CHECK_EQ(len, 4097);
		done++;
		if (issued < total) {
			REQUIRE(blk_io_submit(f, 0, c, VIRTIO_BLK_T_IN, 8 * (issued % slots), 4096,
					      true, indirect) >= 0);
			issued++;
		}
	}
	CHECK_EQ(done, total);
	vu_front_free_all_buffers(f);
}
