/* virtio-blk personality: header, data, status byte (virtio 1.2 section 5.2.6). */
#include "bench.h"

#include <errno.h>
#include <linux/virtio_blk.h>
#include <string.h>

static int blk_open(struct vu_front *f, uint64_t *capacity, uint32_t *block_size)
{
	struct virtio_blk_config cfg;
	int rc;

	memset(&cfg, 0, sizeof(cfg));
	rc = vu_front_get_config(f, &cfg, 60);
	if (rc)
		return rc;
	*capacity = cfg.capacity * 512;
	*block_size = 512;
	if (vu_front_features(f) & (1ULL << VIRTIO_BLK_F_BLK_SIZE) && cfg.blk_size >= 512)
		*block_size = cfg.blk_size;
	return 0;
}

static int blk_request_queue(int i)
{
	return i;
}

static int blk_prep(struct bench_slot *s, bool write, uint64_t offset, uint32_t len,
		    struct vu_buf *bufs)
{
	struct virtio_blk_outhdr *hdr = s->hdr;

	hdr->type = write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN;
	hdr->ioprio = 0;
	hdr->sector = offset / 512;
	*(uint8_t *)s->resp = 0xff;
	bufs[0] = (struct vu_buf){ .gpa = s->hdr_gpa, .len = sizeof(*hdr) };
	bufs[1] = (struct vu_buf){ .gpa = s->data_gpa, .len = len, .write = !write };
	bufs[2] = (struct vu_buf){ .gpa = s->resp_gpa, .len = 1, .write = true };
	return 3;
}

static int blk_status(const struct bench_slot *s)
{
	uint8_t st = *(volatile uint8_t *)s->resp;

	return st == VIRTIO_BLK_S_OK ? 0 : -EIO;
}

const struct bench_target bench_target_blk = {
	.name = "blk",
	.device_features = (1ULL << VIRTIO_BLK_F_BLK_SIZE) | (1ULL << VIRTIO_BLK_F_MQ) |
			   (1ULL << VIRTIO_BLK_F_FLUSH) | (1ULL << VIRTIO_BLK_F_SEG_MAX),
	.open = blk_open,
	.request_queue = blk_request_queue,
	.prep = blk_prep,
	.status = blk_status,
};
