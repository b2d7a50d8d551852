#include "scsi_front.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct sf_cmd {
	uint64_t tag;
	void *data;     /* the caller's buffer */
	uint8_t *gdata; /* its copy in guest memory */
	uint32_t len;
	enum sf_dir dir;
	struct virtio_scsi_cmd_resp *resp;
};

void sf_lun(uint8_t out[8], int target, int lun)
{
	memset(out, 0, 8);
	out[0] = 1;
	out[1] = (uint8_t)target;
	out[2] = (uint8_t)(0x40 | (lun >> 8));
	out[3] = (uint8_t)lun;
}

struct sf_cmd *sf_cmd_submit(struct vu_front *f, int q, const uint8_t lun[8], uint64_t tag,
			     const uint8_t *cdb, size_t cdb_len, void *data, uint32_t len,
			     enum sf_dir dir)
{
	/* The bookkeeping lives in guest memory too: a command the back-end never completes goes
	 * away with the front-end. */
	struct sf_cmd *c;
	struct virtio_scsi_cmd_req *req;
	struct vu_buf bufs[3];
	uint64_t gpa, req_gpa, resp_gpa, data_gpa = 0;
	int n = 0, rc;

	if (cdb_len > VIRTIO_SCSI_CDB_SIZE) {
		errno = EINVAL;
		return NULL;
	}
	c = vu_front_alloc(f, sizeof(*c), 16, &gpa);
	req = vu_front_alloc(f, sizeof(*req), 16, &req_gpa);
	if (c) {
		memset(c, 0, sizeof(*c));
		c->resp = vu_front_alloc(f, sizeof(*c->resp), 16, &resp_gpa);
	}
	if (c && len && dir != SF_NONE)
		c->gdata = vu_front_alloc(f, len, 64, &data_gpa);
	if (!c || !req || !c->resp || (len && dir != SF_NONE && !c->gdata)) {
		errno = ENOMEM;
		return NULL;
	}
	memset(req, 0, sizeof(*req));
	memcpy(req->lun, lun, 8);
	req->tag = tag;
	memcpy(req->cdb, cdb, cdb_len);
	memset(c->resp, 0xee, sizeof(*c->resp)); /* so a field the device leaves alone shows */
	c->tag = tag;
	c->data = data;
	c->len = len;
	c->dir = dir;
	bufs[n++] = (struct vu_buf){ req_gpa, sizeof(*req), false };
	if (dir == SF_OUT && len) {
		memcpy(c->gdata, data, len);
		bufs[n++] = (struct vu_buf){ data_gpa, len, false };
	}
	bufs[n++] = (struct vu_buf){ resp_gpa, sizeof(*c->resp), true };
	if (dir == SF_IN && len)
		bufs[n++] = (struct vu_buf){ data_gpa, len, true };
	rc = vu_front_submit(f, q, bufs, n, false, c);
	if (rc < 0) {
		errno = -rc;
		return NULL;
	}
	return c;
}

int sf_cmd_wait(struct vu_front *f, int q, int timeout_ms, uint64_t *tag, struct sf_result *res)
{
	void *cookie;
	uint32_t used;
	int rc = vu_front_wait(f, q, timeout_ms, &cookie, &used);
	struct sf_cmd *c = cookie;

	if (rc <= 0)
		return rc;
	memset(res, 0, sizeof(*res));
	res->used_len = used;
	res->response = c->resp->response;
	res->status = c->resp->status;
	res->sense_len = c->resp->sense_len;
	res->resid = c->resp->resid;
	memcpy(res->sense, c->resp->sense, sizeof(res->sense));
	if (c->dir == SF_IN && c->len)
		memcpy(c->data, c->gdata, c->len);
	*tag = c->tag;
	return 1;
}

int sf_cmd(struct vu_front *f, int q, int target, const uint8_t *cdb, size_t cdb_len, void *data,
	   uint32_t len, enum sf_dir dir, struct sf_result *res)
{
	static uint64_t tag;
	struct sf_cmd *c;
	uint64_t done;
	uint8_t lun[8];
	int rc;

	sf_lun(lun, target, 0);
	c = sf_cmd_submit(f, q, lun, ++tag, cdb, cdb_len, data, len, dir);
	if (!c)
		return -errno;
	rc = sf_cmd_wait(f, q, 10000, &done, res);
	return rc == 1 ? 0 : rc == 0 ? -ETIMEDOUT : rc;
}

/* One control request: out then in, synchronous. */
static int sf_control(struct vu_front *f, const void *out, size_t out_len, void *in, size_t in_len,
		      int timeout_ms)
{
	uint64_t out_gpa, in_gpa;
	void *gout = vu_front_alloc(f, out_len, 16, &out_gpa);
	void *gin = vu_front_alloc(f, in_len, 16, &in_gpa);
	struct vu_buf bufs[2] = { { out_gpa, (uint32_t)out_len, false },
				  { in_gpa, (uint32_t)in_len, true } };
	void *cookie;
	uint32_t used;
	int rc;

	if (!gout || !gin)
		return -ENOMEM;
	memcpy(gout, out, out_len);
	memset(gin, 0xee, in_len);
	rc = vu_front_submit(f, SF_CONTROLQ, bufs, 2, false, gin);
	if (rc < 0)
		return rc;
	rc = vu_front_wait(f, SF_CONTROLQ, timeout_ms, &cookie, &used);
	if (rc <= 0)
		return rc == 0 ? -ETIMEDOUT : rc;
	if (cookie != gin || used < in_len)
		return -EPROTO;
	memcpy(in, gin, in_len);
	return 0;
}

int sf_tmf(struct vu_front *f, uint32_t subtype, const uint8_t lun[8], uint64_t tag,
	   uint8_t *response, int timeout_ms)
{
	struct virtio_scsi_ctrl_tmf_req req = { .type = VIRTIO_SCSI_T_TMF, .subtype = subtype,
						.tag = tag };
	struct virtio_scsi_ctrl_tmf_resp resp;
	int rc;

	memcpy(req.lun, lun, 8);
	rc = sf_control(f, &req, sizeof(req), &resp, sizeof(resp), timeout_ms);
	if (rc == 0)
		*response = resp.response;
	return rc;
}

int sf_an(struct vu_front *f, bool subscribe, const uint8_t lun[8], uint32_t events,
	  uint32_t *event_actual, uint8_t *response, int timeout_ms)
{
	struct virtio_scsi_ctrl_an_req req = {
		.type = subscribe ? VIRTIO_SCSI_T_AN_SUBSCRIBE : VIRTIO_SCSI_T_AN_QUERY,
		.event_requested = events,
	};
	struct virtio_scsi_ctrl_an_resp resp;
	int rc;

	memcpy(req.lun, lun, 8);
	rc = sf_control(f, &req, sizeof(req), &resp, sizeof(resp), timeout_ms);
	if (rc == 0) {
		*event_actual = resp.event_actual;
		*response = resp.response;
	}
	return rc;
}

int sf_event_post(struct vu_front *f, int n)
{
	for (int i = 0; i < n; i++) {
		uint64_t gpa;
		struct virtio_scsi_event *ev = vu_front_alloc(f, sizeof(*ev), 16, &gpa);
		struct vu_buf buf = { gpa, sizeof(*ev), true };
		int rc;

		if (!ev)
			return -ENOMEM;
		memset(ev, 0xee, sizeof(*ev));
		rc = vu_front_submit(f, SF_EVENTQ, &buf, 1, false, ev);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int sf_event_wait(struct vu_front *f, int timeout_ms, struct virtio_scsi_event *ev)
{
	void *cookie;
	uint32_t used;
	int rc = vu_front_wait(f, SF_EVENTQ, timeout_ms, &cookie, &used);

	if (rc <= 0)
		return rc;
	if (used < sizeof(*ev))
		return -EPROTO;
	memcpy(ev, cookie, sizeof(*ev));
	return 1;
}
