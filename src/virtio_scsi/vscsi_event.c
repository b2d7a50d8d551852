/*
 * The event queue. Events are born on the control thread (target added, removed, resized) and
 * wait there, in order, until the guest has posted eventq buffers for them: an event is never lost
 * because no buffer was there. Past VSCSI_EVENTS_MAX waiting, the list collapses into one
 * VIRTIO_SCSI_T_EVENTS_MISSED, which makes the guest rescan everything.
 *
 * The eventq's worker holds the posted buffers. A buffer arriving asks the control thread to
 * deliver; delivery is a walk over the queues that fills held buffers on the eventq's worker and
 * reports back how many events went out.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/reactor.h"
#include "virtio_scsi/vscsi_internal.h"

/* The eventq's worker. */
struct vscsi_eventq {
	struct vscsi_ctrlr *ctrlr;
	struct vhost_vq *vq;
	struct vscsi_req *head, *tail; /* posted buffers, oldest first */
	bool stopping;                 /* the queue is stopping: buffers go back, no events */
};

/* One delivery walk. */
struct vscsi_event_batch {
	struct vscsi_ctrlr *ctrlr;
	struct virtio_scsi_event ev[VSCSI_EVENTS_MAX];
	unsigned count;
	unsigned delivered;
};

static void vscsi_eventq_fill(struct vscsi_eventq *eq, const struct virtio_scsi_event *ev)
{
	struct vscsi_req *r = eq->head;
	struct vhost_req *req = &r->vreq;

	eq->head = r->next;
	if (!eq->head)
		eq->tail = NULL;
	vscsi_req_write_in(req, ev, sizeof(*ev));
	vhost_req_complete(req, sizeof(*ev));
}

/* The queue stops once every buffer it handed out is back: held ones return as NO_EVENT, which
 * the guest reposts, and no event goes out on this queue any more. */
void vscsi_eventq_stopping(struct vhost_vq *vq)
{
	struct vscsi_eventq *eq = vhost_vq_priv(vq);
	const struct virtio_scsi_event none = { .event = VIRTIO_SCSI_T_NO_EVENT };

	eq->stopping = true;
	while (eq->head)
		vscsi_eventq_fill(eq, &none);
}

int vscsi_eventq_start(struct vhost_vq *vq)
{
	struct vscsi_eventq *eq = calloc(1, sizeof(*eq));

	if (!eq)
		return -ENOMEM;
	eq->ctrlr = vhost_dev_ctx(vhost_vq_dev(vq));
	eq->vq = vq;
	vhost_vq_set_priv(vq, eq);
	return 0;
}

void vscsi_eventq_stop(struct vhost_vq *vq)
{
	struct vscsi_eventq *eq = vhost_vq_priv(vq);

	vhost_vq_set_priv(vq, NULL);
	free(eq);
}

static void vscsi_events_flush(struct vscsi_ctrlr *c);

static void vscsi_events_kick(void *arg)
{
	vscsi_events_flush(arg);
}

void vscsi_eventq_request(struct vhost_vq *vq, struct vhost_req *req)
{
	struct vscsi_eventq *eq = vhost_vq_priv(vq);
	struct vscsi_req *r = (struct vscsi_req *)req;

	if (req->in_len < sizeof(struct virtio_scsi_event)) {
		vhost_req_complete(req, 0);
		return;
	}
	r->next = NULL;
	if (eq->tail)
		eq->tail->next = r;
	else
		eq->head = r;
	eq->tail = r;
	reactor_send(reactor_control(), vscsi_events_kick, eq->ctrlr);
}

static void vscsi_deliver_on_queue(struct vhost_vq *vq, void *arg)
{
	struct vscsi_event_batch *b = arg;
	struct vscsi_eventq *eq = vhost_vq_index(vq) == VSCSI_EVENTQ ? vhost_vq_priv(vq) : NULL;

	if (!eq || eq->stopping)
		return;
	while (b->delivered < b->count && eq->head)
		vscsi_eventq_fill(eq, &b->ev[b->delivered++]);
}

static void vscsi_deliver_done(void *arg)
{
	struct vscsi_event_batch *b = arg;
	struct vscsi_events *e = &b->ctrlr->events;
	struct vscsi_ctrlr *c = b->ctrlr;

	/* Collapsed meanwhile: the EVENTS_MISSED now waiting covers what went out too. */
	if (!e->collapsed && b->delivered) {
		e->count -= b->delivered;
		memmove(e->ev, e->ev + b->delivered, e->count * sizeof(e->ev[0]));
	}
	e->flushing = false;
	free(b);
	c->busy--;
	if (e->again && !c->deleting)
		vscsi_events_flush(c);
	vscsi_ctrlr_maybe_free(c);
}

static void vscsi_events_flush(struct vscsi_ctrlr *c)
{
	struct vscsi_events *e = &c->events;
	struct vscsi_event_batch *b;

	if (c->deleting)
		return;
	if (e->flushing) {
		e->again = true;
		return;
	}
	e->again = false;
	if (!e->count)
		return;
	b = malloc(sizeof(*b));
	if (!b) {
		log_error("%s: out of memory delivering events", vhost_dev_name(c->vdev));
		return;
	}
	b->ctrlr = c;
	b->count = e->count;
	b->delivered = 0;
	memcpy(b->ev, e->ev, e->count * sizeof(e->ev[0]));
	e->flushing = true;
	e->collapsed = false;
	c->busy++;
	vhost_dev_foreach_queue(c->vdev, vscsi_deliver_on_queue, vscsi_deliver_done, b);
}

void vscsi_event_post(struct vscsi_ctrlr *c, uint32_t event, int num, uint32_t reason)
{
	struct vscsi_events *e = &c->events;
	struct virtio_scsi_event ev = { .event = event, .reason = reason };

	/* A guest connecting later scans the bus anyway. */
	if (!vhost_dev_connected(c->vdev))
		return;
	if (num >= 0) {
		ev.lun[0] = 1;
		ev.lun[1] = (uint8_t)num;
		/* LUN 0 as REPORT LUNS writes it (single level, no flat-space flag): Linux takes
		 * lun[2..3] as the LUN number itself and scans the whole target for 0. */
	}
	if (e->count && e->ev[0].event == VIRTIO_SCSI_T_EVENTS_MISSED)
		return; /* the rescan already waiting covers it */
	if (e->count == VSCSI_EVENTS_MAX) {
		log_warn("%s: %u events wait for eventq buffers: the guest will get EVENTS_MISSED",
			 vhost_dev_name(c->vdev), e->count);
		memset(&e->ev[0], 0, sizeof(e->ev[0]));
		e->ev[0].event = VIRTIO_SCSI_T_EVENTS_MISSED;
		e->count = 1;
		e->collapsed = true;
	} else {
		e->ev[e->count++] = ev;
	}
	vscsi_events_flush(c);
}
