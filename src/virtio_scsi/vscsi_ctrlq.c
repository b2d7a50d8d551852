/*
 * The control queue: task management functions and asynchronous-notification query/subscribe.
 *
 * A TMF concerns every I/O queue (a task may run on any of them), so it travels: control queue
 * worker -> control thread (target check, walk) -> each I/O queue's worker (scsi_lun_tmf on its
 * copy) -> back to the control queue's worker once the walk and every copy's TMF are done.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/reactor.h"
#include "virtio_scsi/vscsi_internal.h"

struct vscsi_tmf_op {
	struct vscsi_ctrlr *ctrlr;
	struct vhost_req *req;
	struct reactor *home;  /* the control queue's worker */
	enum scsi_tmf_type type;
	uint64_t tag;
	int target;
	uint32_t lun_id;
	uint8_t response;      /* set before the walk, or from succeeded at the end */
	atomic_int pending;    /* the walk + each copy's TMF */
	atomic_bool succeeded; /* QUERY TASK found the task on some copy */
	atomic_bool failed;    /* a copy could not run the TMF */
};

struct vscsi_tmf_copy {
	struct scsi_tmf tmf;
	struct vscsi_tmf_op *op;
};

static void vscsi_tmf_reply(struct vhost_req *req, uint8_t response)
{
	struct virtio_scsi_ctrl_tmf_resp resp = { .response = response };

	vscsi_req_write_in(req, &resp, sizeof(resp));
	vhost_req_complete(req, sizeof(resp));
}

static void vscsi_tmf_complete_at_home(void *arg)
{
	struct vscsi_tmf_op *op = arg;

	vscsi_tmf_reply(op->req, op->response);
	free(op);
}

static void vscsi_tmf_op_put(struct vscsi_tmf_op *op)
{
	if (atomic_fetch_sub(&op->pending, 1) != 1)
		return;
	if (atomic_load(&op->failed))
		op->response = VIRTIO_SCSI_S_FAILURE;
	else if (op->type == SCSI_TMF_QUERY_TASK && atomic_load(&op->succeeded))
		op->response = VIRTIO_SCSI_S_FUNCTION_SUCCEEDED;
	reactor_send(op->home, vscsi_tmf_complete_at_home, op);
}

static void vscsi_tmf_copy_done(struct scsi_tmf *tmf)
{
	struct vscsi_tmf_copy *copy = tmf->done_arg;

	if (tmf->response == SCSI_TMF_SUCCEEDED)
		atomic_store(&copy->op->succeeded, true);
	vscsi_tmf_op_put(copy->op);
	free(copy);
}

static void vscsi_tmf_on_queue(struct vhost_vq *vq, void *arg)
{
	struct vscsi_tmf_op *op = arg;
	struct vscsi_ioq *q = vscsi_ioq_of(vq);
	struct scsi_lun *lun = q ? vscsi_ioq_lun(q, op->target, op->lun_id) : NULL;
	struct vscsi_tmf_copy *copy;

	if (!lun)
		return;
	copy = calloc(1, sizeof(*copy));
	if (!copy) {
		atomic_store(&op->failed, true);
		return;
	}
	copy->op = op;
	copy->tmf.type = op->type;
	copy->tmf.initiator = VSCSI_INITIATOR;
	copy->tmf.tag = op->tag;
	copy->tmf.done = vscsi_tmf_copy_done;
	copy->tmf.done_arg = copy;
	atomic_fetch_add(&op->pending, 1);
	scsi_lun_tmf(lun, &copy->tmf);
}

static void vscsi_tmf_walk_done(void *arg)
{
	struct vscsi_tmf_op *op = arg;
	struct vscsi_ctrlr *c = op->ctrlr;

	vscsi_tmf_op_put(op);
	c->busy--;
}

static void vscsi_tmf_on_control(void *arg)
{
	struct vscsi_tmf_op *op = arg;
	struct vscsi_ctrlr *c = op->ctrlr;
	struct vscsi_target *t = atomic_load(&c->targets[op->target]);

	if (!t || atomic_load(&t->removing))
		op->response = VIRTIO_SCSI_S_BAD_TARGET;
	else if (op->lun_id != 0) /* every target has LUN 0 only */
		op->response = VIRTIO_SCSI_S_INCORRECT_LUN;
	if (op->response != VIRTIO_SCSI_S_FUNCTION_COMPLETE) {
		reactor_send(op->home, vscsi_tmf_complete_at_home, op);
		return;
	}
	c->busy++;
	vhost_dev_foreach_queue(c->vdev, vscsi_tmf_on_queue, vscsi_tmf_walk_done, op);
}

static int vscsi_tmf_type(uint32_t subtype, enum scsi_tmf_type *type)
{
	switch (subtype) {
	case VIRTIO_SCSI_T_TMF_ABORT_TASK:
		*type = SCSI_TMF_ABORT_TASK;
		return 0;
	case VIRTIO_SCSI_T_TMF_ABORT_TASK_SET:
		*type = SCSI_TMF_ABORT_TASK_SET;
		return 0;
	case VIRTIO_SCSI_T_TMF_CLEAR_TASK_SET:
		*type = SCSI_TMF_CLEAR_TASK_SET;
		return 0;
	case VIRTIO_SCSI_T_TMF_I_T_NEXUS_RESET:
		*type = SCSI_TMF_I_T_NEXUS_RESET;
		return 0;
	case VIRTIO_SCSI_T_TMF_LOGICAL_UNIT_RESET:
		*type = SCSI_TMF_LUN_RESET;
		return 0;
	case VIRTIO_SCSI_T_TMF_QUERY_TASK:
		*type = SCSI_TMF_QUERY_TASK;
		return 0;
	default: /* CLEAR ACA (no ACA), QUERY TASK SET and unknown ones */
		return -ENOTSUP;
	}
}

static void vscsi_tmf_request(struct vhost_vq *vq, struct vhost_req *req)
{
	struct virtio_scsi_ctrl_tmf_req tmf;
	struct vscsi_tmf_op *op;
	enum scsi_tmf_type type;
	uint32_t lun_id;
	int target;

	if (req->in_len < sizeof(struct virtio_scsi_ctrl_tmf_resp)) {
		vhost_req_complete(req, 0);
		return;
	}
	if (iov_to_buf(req->iov, req->out_cnt, 0, &tmf, sizeof(tmf)) != sizeof(tmf)) {
		vscsi_tmf_reply(req, VIRTIO_SCSI_S_FAILURE);
		return;
	}
	if (vscsi_tmf_type(tmf.subtype, &type)) {
		vscsi_tmf_reply(req, VIRTIO_SCSI_S_FUNCTION_REJECTED);
		return;
	}
	if (vscsi_lun_decode(tmf.lun, &target, &lun_id)) {
		vscsi_tmf_reply(req, VIRTIO_SCSI_S_BAD_TARGET);
		return;
	}
	op = calloc(1, sizeof(*op));
	if (!op) {
		vscsi_tmf_reply(req, VIRTIO_SCSI_S_FAILURE);
		return;
	}
	op->ctrlr = vhost_dev_ctx(vhost_vq_dev(vq));
	op->req = req;
	op->home = reactor_current();
	op->type = type;
	op->tag = tmf.tag;
	op->target = target;
	op->lun_id = lun_id;
	op->response = VIRTIO_SCSI_S_FUNCTION_COMPLETE;
	atomic_init(&op->pending, 1);
	reactor_send(reactor_control(), vscsi_tmf_on_control, op);
}

/* No asynchronous notification is supported: none is reported, none is subscribed. */
static void vscsi_an_request(struct vhost_req *req)
{
	struct virtio_scsi_ctrl_an_req an;
	struct virtio_scsi_ctrl_an_resp resp = { .event_actual = 0, .response = VIRTIO_SCSI_S_OK };

	if (req->in_len < sizeof(resp)) {
		vhost_req_complete(req, 0);
		return;
	}
	if (iov_to_buf(req->iov, req->out_cnt, 0, &an, sizeof(an)) != sizeof(an))
		resp.response = VIRTIO_SCSI_S_FAILURE;
	else if (an.lun[0] != 1)
		resp.response = VIRTIO_SCSI_S_BAD_TARGET;
	vscsi_req_write_in(req, &resp, sizeof(resp));
	vhost_req_complete(req, sizeof(resp));
}

void vscsi_ctrlq_request(struct vhost_vq *vq, struct vhost_req *req)
{
	uint32_t type;

	if (iov_to_buf(req->iov, req->out_cnt, 0, &type, sizeof(type)) != sizeof(type)) {
		vhost_req_complete(req, 0);
		return;
	}
	switch (type) {
	case VIRTIO_SCSI_T_TMF:
		vscsi_tmf_request(vq, req);
		break;
	case VIRTIO_SCSI_T_AN_QUERY:
	case VIRTIO_SCSI_T_AN_SUBSCRIBE:
		vscsi_an_request(req);
		break;
	default:
		log_debug("%s: control queue: unknown request type %u",
			  vhost_dev_name(vhost_vq_dev(vq)), type);
		vhost_req_complete(req, 0);
		break;
	}
}
