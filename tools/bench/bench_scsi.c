/* virtio-scsi personality: READ(16)/WRITE(16) to LUN 0 of target 0 (virtio 1.2 section 5.6.6). */
#include "bench.h"

#include <errno.h>
#include <linux/virtio_scsi.h>
#include <string.h>

#define SCSI_FIRST_REQUEST_QUEUE 2 /* 0 control, 1 event */
#define READ_16 0x88
#define WRITE_16 0x8a
#define SERVICE_ACTION_IN_16 0x9e
#define READ_CAPACITY_16 0x10

static void put_be(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = bytes - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t get_be(const uint8_t *p, int bytes)
{
	uint64_t v = 0;

	for (int i = 0; i < bytes; i++)
		v = v << 8 | p[i];
	return v;
}

/* Target 0, LUN 0, as virtio-scsi addresses it. */
static void set_lun(struct virtio_scsi_cmd_req *req)
{
	memset(req->lun, 0, sizeof(req->lun));
	req->lun[0] = 1;
	req->lun[2] = 0x40;
}

/* One synchronous READ CAPACITY(16); 0 when it came back GOOD. */
static int read_capacity(struct vu_front *f, struct virtio_scsi_cmd_req *req, uint64_t req_gpa,
			 struct virtio_scsi_cmd_resp *resp, uint64_t resp_gpa, uint64_t data_gpa)
{
	const int q = SCSI_FIRST_REQUEST_QUEUE;
	struct vu_buf bufs[3] = {
		{ .gpa = req_gpa, .len = sizeof(*req) },
		{ .gpa = resp_gpa, .len = sizeof(*resp), .write = true },
		{ .gpa = data_gpa, .len = 32, .write = true },
	};
	void *cookie;
	uint32_t len;

	memset(req, 0, sizeof(*req));
	set_lun(req);
	req->cdb[0] = SERVICE_ACTION_IN_16;
	req->cdb[1] = READ_CAPACITY_16;
	put_be(&req->cdb[10], 32, 4);
	if (vu_front_submit(f, q, bufs, 3, false, req) < 0 || vu_front_wait(f, q, 5000, &cookie, &len) != 1)
		return -EIO;
	return resp->response == VIRTIO_SCSI_S_OK && resp->status == 0 ? 0 : -EAGAIN;
}

static int scsi_open(struct vu_front *f, uint64_t *capacity, uint32_t *block_size)
{
	struct virtio_scsi_cmd_req *req;
	struct virtio_scsi_cmd_resp *resp;
	uint64_t req_gpa, resp_gpa, data_gpa;
	uint8_t *data;
	int rc = -EAGAIN;

	req = vu_front_alloc(f, sizeof(*req), 64, &req_gpa);
	resp = vu_front_alloc(f, sizeof(*resp), 64, &resp_gpa);
	data = vu_front_alloc(f, 32, 64, &data_gpa);
	if (!req || !resp || !data)
		return -ENOMEM;
	/* The first command to a LUN reports its power-on unit attention: ask again, as a driver does. */
	for (int i = 0; i < 3 && rc == -EAGAIN; i++)
		rc = read_capacity(f, req, req_gpa, resp, resp_gpa, data_gpa);
	if (rc)
		return -EIO;
	*block_size = (uint32_t)get_be(&data[8], 4);
	*capacity = (get_be(data, 8) + 1) * *block_size;
	return *block_size ? 0 : -EIO;
}

static int scsi_request_queue(int i)
{
	return SCSI_FIRST_REQUEST_QUEUE + i;
}

static int scsi_prep(struct bench_slot *s, bool write, uint64_t offset, uint32_t len, struct vu_buf *bufs)
{
	struct virtio_scsi_cmd_req *req = s->hdr;
	struct virtio_scsi_cmd_resp *resp = s->resp;
	uint32_t bs = s->block_size;

	memset(req, 0, sizeof(*req));
	set_lun(req);
	req->tag = (uint64_t)(uintptr_t)s;
	req->cdb[0] = write ? WRITE_16 : READ_16;
	put_be(&req->cdb[2], offset / bs, 8);
	put_be(&req->cdb[10], len / bs, 4);
	resp->response = 0xff;
	bufs[0] = (struct vu_buf){ .gpa = s->hdr_gpa, .len = sizeof(*req) };
	if (write) {
		bufs[1] = (struct vu_buf){ .gpa = s->data_gpa, .len = len };
		bufs[2] = (struct vu_buf){ .gpa = s->resp_gpa, .len = sizeof(*resp), .write = true };
	} else {
		bufs[1] = (struct vu_buf){ .gpa = s->resp_gpa, .len = sizeof(*resp), .write = true };
		bufs[2] = (struct vu_buf){ .gpa = s->data_gpa, .len = len, .write = true };
	}
	return 3;
}

static int scsi_status(const struct bench_slot *s)
{
	const volatile struct virtio_scsi_cmd_resp *resp = s->resp;

	return resp->response == VIRTIO_SCSI_S_OK && resp->status == 0 ? 0 : -EIO;
}

const struct bench_target bench_target_scsi = {
	.name = "scsi",
	.device_features = 0,
	.open = scsi_open,
	.request_queue = scsi_request_queue,
	.prep = scsi_prep,
	.status = scsi_status,
};
