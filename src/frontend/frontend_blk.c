/* virtio-blk requests (virtio 1.2 section 5.2.6): header, data, status byte. */
#include "frontend/frontend_int.h"

#include <errno.h>
#include <linux/virtio_blk.h>
#include <string.h>

/* Which request types carry device-writable data. */
static bool data_is_written_by_device(uint32_t type)
{
	return type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID;
}

int vu_blk_request_opt(struct vu_front *f, int q, uint32_t type, uint64_t sector, void *buf,
		       uint32_t len, bool indirect)
{
	struct vu_mem *m = &f->mem;
	size_t mark = m->alloc_off; /* scratch allocations are released on return */
	struct virtio_blk_outhdr *hdr;
	struct vu_buf bufs[3];
	uint8_t *status, *data = NULL;
	uint64_t hdr_gpa, status_gpa, data_gpa = 0;
	bool write = data_is_written_by_device(type);
	void *cookie;
	bool in_flight = false;
	int n = 0, rc;

	if (!vu_front_queue(f, q) || (len && !buf))
		return -EINVAL;
	hdr = vu_mem_alloc(m, sizeof(*hdr), 16, &hdr_gpa);
	status = vu_mem_alloc(m, 1, 1, &status_gpa);
	if (len && vu_mem_host_to_gpa(m, buf, len, &data_gpa) == 0) {
		data = buf; /* already in guest memory: no bounce */
	} else if (len) {
		data = vu_mem_alloc(m, len, 512, &data_gpa);
		if (data && !write)
			memcpy(data, buf, len);
	}
	if (!hdr || !status || (len && !data)) {
		rc = -ENOMEM;
		goto out;
	}
	hdr->type = type;
	hdr->ioprio = 0;
	hdr->sector = sector;
	*status = 0xff; /* a device that never writes it is caught */
	bufs[n++] = (struct vu_buf){ .gpa = hdr_gpa, .len = sizeof(*hdr) };
	if (len)
		bufs[n++] = (struct vu_buf){ .gpa = data_gpa, .len = len, .write = write };
	bufs[n++] = (struct vu_buf){ .gpa = status_gpa, .len = 1, .write = true };
	rc = vu_front_submit(f, q, bufs, n, indirect, status);
	if (rc < 0)
		goto out;
	in_flight = true;
	/* Synchronous: completions of anything else in flight on this queue are dropped. */
	do
		rc = vu_front_wait(f, q, f->timeout_ms, &cookie, NULL);
	while (rc == 1 && cookie != status);
	if (rc == 0)
		rc = -ETIMEDOUT;
	if (rc < 0)
		goto out;
	in_flight = false;
	rc = *(volatile uint8_t *)status;
	if (write && data != buf)
		memcpy(buf, data, len);
out:
	if (!in_flight) /* the device may still write into a request that timed out: keep it */
		m->alloc_off = mark;
	return rc;
}

int vu_blk_request(struct vu_front *f, int q, uint32_t type, uint64_t sector, void *buf,
		   uint32_t len)
{
	return vu_blk_request_opt(f, q, type, sector, buf, len, false);
}
