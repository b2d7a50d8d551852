#include "vhost/vring_chain.h"

#include <errno.h>

#include "core/log.h"
#include "vhost/mem.h"
#include "vhost/session.h"

void vring_chain_begin(struct vhost_vq *vq, struct vhost_req *req)
{
	req->vq = vq;
	req->iovcnt = 0;
	req->out_cnt = 0;
	req->out_len = 0;
	req->in_len = 0;
	req->slots = 1;
}

int vring_chain_add(struct vhost_vq *vq, struct vhost_req *req, uint64_t addr, uint32_t len, bool write)
{
	uint32_t *total = write ? &req->in_len : &req->out_len;
	int n;

	if (!write && req->iovcnt > req->out_cnt)
		return -EINVAL; /* a readable buffer after a writable one */
	if (*total + len < *total)
		return -EINVAL;
	if (len == 0)
		return 0;
	n = vhost_mem_gpa_to_iov(&vq->session->mem, addr, len, &req->iov[req->iovcnt],
				 VHOST_REQ_MAX_IOV - req->iovcnt);
	if (n < 0)
		return -EINVAL;
	req->iovcnt += n;
	if (!write)
		req->out_cnt += n;
	*total += len;
	return 0;
}

const struct vring_desc *vring_indirect_table(struct vhost_vq *vq, uint64_t addr, uint32_t len, uint32_t *count)
{
	if (len == 0 || len % sizeof(struct vring_desc) != 0)
		return NULL;
	*count = len / sizeof(struct vring_desc);
	return vhost_mem_gpa_to_ptr(&vq->session->mem, addr, len);
}

void vring_chain_reject(struct vhost_vq *vq, const char *why)
{
	/* Log the first few and then every 1024th: a hostile guest must not flood the log. */
	if (vq->bad_requests < 8 || vq->bad_requests % 1024 == 0)
		log_warn("%s: queue %u: bad request (%s), returned with length 0 (%lu so far)",
			 vhost_session_name(vq->session), vq->index, why,
			 (unsigned long)vq->bad_requests + 1);
	vq->bad_requests++;
}
