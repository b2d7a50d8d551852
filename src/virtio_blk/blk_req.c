/* One virtio-blk request: parse the header, turn it into bdev I/O, write the status byte back. */
#include <errno.h>
#include <string.h>
#include <linux/virtio_blk.h>

#include "core/iov.h"
#include "core/log.h"
#include "virtio_blk/blk_internal.h"

#define SECTOR_SIZE 512u

static void blk_req_finish(struct blk_req *r, uint8_t status)
{
	*r->status = status;
	vhost_req_complete(&r->vreq, r->used_len + 1);
}

static void blk_io_done(struct bdev_io *io, int rc)
{
	struct blk_req *r = io->done_arg;
	struct blk_queue *q = r->queue;

	if (rc && rc != -ENODEV)
		log_debug("vhost-blk: I/O type %d at block %llu failed: %s", io->type,
			  (unsigned long long)io->offset_blocks, strerror(-rc));
	if (rc)
		r->used_len = 0;
	q->io_inflight--;
	blk_req_finish(r, rc ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK);
	if (q->detaching && q->io_inflight == 0)
		blk_queue_release_channel(q);
}

/* Takes the last writable byte as the status and leaves req->iov describing the data only. */
static int blk_req_split(struct blk_req *r, struct virtio_blk_outhdr *hdr)
{
	struct vhost_req *req = &r->vreq;
	int last = req->iovcnt - 1;

	if (req->in_len < 1 || req->out_len < sizeof(*hdr) ||
	    iov_to_buf(req->iov, req->out_cnt, 0, hdr, sizeof(*hdr)) != sizeof(*hdr))
		return -EINVAL;
	r->status = (uint8_t *)req->iov[last].iov_base + req->iov[last].iov_len - 1;
	if (--req->iov[last].iov_len == 0)
		req->iovcnt--;
	req->in_len--;
	return 0;
}

/* The iovecs of the readable payload after the header: iov[*first .. out_cnt). */
static int blk_payload_out(struct vhost_req *req, int *first)
{
	size_t skip = sizeof(struct virtio_blk_outhdr);
	int i = 0;

	while (i < req->out_cnt && skip >= req->iov[i].iov_len)
		skip -= req->iov[i++].iov_len;
	if (i < req->out_cnt) {
		req->iov[i].iov_base = (uint8_t *)req->iov[i].iov_base + skip;
		req->iov[i].iov_len -= skip;
	}
	*first = i;
	return req->out_cnt - i;
}

/* The queue's bdev, or NULL once it is going away: the controller closes it (and clears
 * ctrlr->bdev) only after every queue dropped its channel. */
static struct bdev *blk_queue_bdev(const struct blk_queue *q)
{
	return q->ch && !q->detaching ? q->ctrlr->bdev : NULL;
}

static void blk_submit(struct blk_req *r, enum bdev_io_type type, uint64_t sector, uint64_t bytes,
		       struct iovec *iov, int iovcnt)
{
	struct blk_queue *q = r->queue;
	struct bdev *bdev = blk_queue_bdev(q);
	uint64_t offset = sector * SECTOR_SIZE;
	uint32_t bs;

	if (!bdev) {
		blk_req_finish(r, VIRTIO_BLK_S_IOERR);
		return;
	}
	bs = bdev->block_size;
	if (sector > UINT64_MAX / SECTOR_SIZE || offset % bs || bytes % bs) {
		blk_req_finish(r, VIRTIO_BLK_S_IOERR);
		return;
	}
	r->io.type = type;
	r->io.offset_blocks = offset / bs;
	r->io.num_blocks = bytes / bs;
	r->io.iov = iov;
	r->io.iovcnt = iovcnt;
	r->io.done = blk_io_done;
	r->io.done_arg = r;
	q->io_inflight++;
	bdev_io_submit(q->ch, &r->io);
}

static void blk_get_id(struct blk_req *r)
{
	struct vhost_req *req = &r->vreq;
	char id[VIRTIO_BLK_ID_BYTES] = { 0 };
	const char *name = r->queue->ctrlr->bdev_name;
	size_t n = strlen(name);

	/* The serial is the bdev name, cut to 20 bytes and not NUL-terminated when that long (SPDK). */
	memcpy(id, name, n < sizeof(id) ? n : sizeof(id));
	n = req->in_len < sizeof(id) ? req->in_len : sizeof(id);
	r->used_len = iov_from_buf(&req->iov[req->out_cnt], req->iovcnt - req->out_cnt, 0, id, n);
	blk_req_finish(r, VIRTIO_BLK_S_OK);
}

/* DISCARD and WRITE_ZEROES carry one range (we advertise max_*_seg = 1). */
static void blk_range_cmd(struct blk_req *r, uint32_t type)
{
	struct vhost_req *req = &r->vreq;
	struct virtio_blk_discard_write_zeroes seg;
	bool discard = type == VIRTIO_BLK_T_DISCARD;
	uint32_t allowed_flags = discard ? 0 : VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP;

	if (req->out_len != sizeof(struct virtio_blk_outhdr) + sizeof(seg) ||
	    iov_to_buf(req->iov, req->out_cnt, sizeof(struct virtio_blk_outhdr), &seg, sizeof(seg)) !=
		    sizeof(seg)) {
		blk_req_finish(r, VIRTIO_BLK_S_UNSUPP);
		return;
	}
	if (seg.flags & ~allowed_flags) {
		blk_req_finish(r, VIRTIO_BLK_S_UNSUPP);
		return;
	}
	if (seg.num_sectors == 0) {
		blk_req_finish(r, VIRTIO_BLK_S_OK);
		return;
	}
	blk_submit(r, discard ? BDEV_IO_UNMAP : BDEV_IO_WRITE_ZEROES, seg.sector,
		   (uint64_t)seg.num_sectors * SECTOR_SIZE, NULL, 0);
}

void blk_queue_request(struct vhost_vq *vq, struct vhost_req *req)
{
	struct blk_req *r = (struct blk_req *)req;
	struct blk_queue *q = vhost_vq_priv(vq);
	struct blk_ctrlr *c = q->ctrlr;
	struct bdev *bdev = blk_queue_bdev(q); /* NULL: blk_submit fails the request */
	struct virtio_blk_outhdr hdr;
	int first;

	r->queue = q;
	r->used_len = 0;
	if (blk_req_split(r, &hdr)) {
		/* No room for a status byte or no header: nothing sensible to answer with. */
		vhost_req_complete(req, 0);
		return;
	}
	switch (hdr.type) {
	case VIRTIO_BLK_T_IN:
		r->used_len = req->in_len;
		blk_submit(r, BDEV_IO_READ, hdr.sector, req->in_len, &req->iov[req->out_cnt],
			   req->iovcnt - req->out_cnt);
		break;
	case VIRTIO_BLK_T_OUT:
		if (c->readonly || req->in_len) {
			blk_req_finish(r, VIRTIO_BLK_S_IOERR);
			break;
		}
		blk_payload_out(req, &first);
		blk_submit(r, BDEV_IO_WRITE, hdr.sector, req->out_len - sizeof(hdr), &req->iov[first],
			   req->out_cnt - first);
		break;
	case VIRTIO_BLK_T_FLUSH:
		if (bdev && !bdev_io_type_supported(bdev, BDEV_IO_FLUSH))
			blk_req_finish(r, VIRTIO_BLK_S_OK);
		else
			blk_submit(r, BDEV_IO_FLUSH, 0, 0, NULL, 0);
		break;
	case VIRTIO_BLK_T_GET_ID:
		blk_get_id(r);
		break;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		if (c->readonly)
			blk_req_finish(r, VIRTIO_BLK_S_IOERR);
		else if (bdev && !bdev_io_type_supported(bdev, hdr.type == VIRTIO_BLK_T_DISCARD
									? BDEV_IO_UNMAP
									: BDEV_IO_WRITE_ZEROES))
			blk_req_finish(r, VIRTIO_BLK_S_UNSUPP);
		else
			blk_range_cmd(r, hdr.type);
		break;
	default:
		blk_req_finish(r, VIRTIO_BLK_S_UNSUPP);
		break;
	}
}
