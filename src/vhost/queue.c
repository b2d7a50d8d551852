/* Moving virtqueues onto their workers and back, and the per-queue poller that feeds the personality. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <linux/virtio_config.h>

#include "core/log.h"
#include "core/reactor.h"
#include "vhost/dev_internal.h"
#include "vhost/inflight.h"
#include "vhost/session.h"

#define VQ_POLL_BATCH 32
#define COALESCE_WINDOW_US 10000

struct vhost_dev *vhost_vq_dev(const struct vhost_vq *vq)
{
	return vq->session->dev;
}

uint16_t vhost_vq_index(const struct vhost_vq *vq)
{
	return vq->index;
}

void *vhost_vq_priv(const struct vhost_vq *vq)
{
	return vq->priv;
}

void vhost_vq_set_priv(struct vhost_vq *vq, void *priv)
{
	vq->priv = priv;
}

uint64_t vhost_vq_features(const struct vhost_vq *vq)
{
	return vq->features;
}

const struct vhost_dev_ops *vhost_session_ops(const struct vhost_session *s)
{
	return vhost_dev_ops(s->dev);
}

bool vhost_vq_ready(const struct vhost_session *s, const struct vhost_vq *vq)
{
	/* Without VHOST_USER_F_PROTOCOL_FEATURES rings are enabled as soon as they are set up. */
	bool enabled = vq->enabled ||
		       (s->features_set && !(s->features & (1ULL << VHOST_USER_F_PROTOCOL_FEATURES)));

	return vq->size && vq->addr_set && vq->kick_set && enabled && s->mem.nregions && !vq->broken;
}

uint64_t vhost_session_started_mask(const struct vhost_session *s)
{
	uint64_t mask = 0;

	for (int i = 0; i < VHOST_MAX_QUEUES; i++)
		if (s->vqs[i].started)
			mask |= 1ULL << i;
	return mask;
}

/* --- worker side --- */

/* Moves the used index past everything pushed (split rings), then tells the inflight area.
 * Whatever is pushed also leaves call_pending set, so vq_signal() publishes it at the latest. */
static void vq_publish(struct vhost_vq *vq)
{
	if (!vq->publish_pending)
		return;
	vq->ring->publish(vq);
	if (vq->inflight_log)
		vhost_inflight_put_batch(vq->inflight_log, vq->returned, vq->returned_count,
					 vq->last_used_idx);
	vq->returned_count = 0;
}

static void vq_signal(struct vhost_vq *vq)
{
	vq_publish(vq);
	vq->call_pending = false;
	if (vq->coalesce_delay_us) /* a clock read per interrupt only when coalescing needs it */
		vq->last_call_us = reactor_now_us();
	/* EAGAIN: the counter is full, so a notification is pending anyway. */
	if (vq->call_fd >= 0 && vq->ring->need_call(vq) && eventfd_write(vq->call_fd, 1) < 0 &&
	    errno != EAGAIN)
		log_warn("%s: queue %u: call eventfd: %s", vq->session->name, vq->index, strerror(errno));
}

/* Coalescing (SPDK's semantics): above iops_threshold, interrupts go out at most every delay_us. */
static void vq_account(struct vhost_vq *vq, int popped)
{
	uint64_t now;

	if (!vq->coalesce_delay_us)
		return;
	vq->coalesce_window_ios += popped;
	now = reactor_now_us();
	if (now - vq->coalesce_window_start_us >= COALESCE_WINDOW_US) {
		uint64_t iops = vq->coalesce_window_ios * 1000000 / (now - vq->coalesce_window_start_us);

		vq->coalescing_active = iops > vq->coalesce_iops_threshold;
		vq->coalesce_window_start_us = now;
		vq->coalesce_window_ios = 0;
	}
}

static void vq_flush_call(struct vhost_vq *vq, bool idle)
{
	if (!vq->call_pending)
		return;
	vq_publish(vq); /* a guest polling its ring sees completions even when the call waits */
	/* While busy and coalescing, hold the interrupt back; an idle pass always sends it. */
	if (!idle && vq->coalescing_active && reactor_now_us() - vq->last_call_us < vq->coalesce_delay_us)
		return;
	vq_signal(vq);
}

static void vq_stopped_on_control(void *arg);

static void vq_finish_stop(void *arg)
{
	struct vhost_vq *vq = arg;

	if (vq->call_pending) /* pending whenever something waits to be published */
		vq_signal(vq);
	vhost_dev_ops(vq->session->dev)->queue_stop(vq);
	reactor_send(reactor_control(), vq_stopped_on_control, vq);
}

/* Hands the request at the top of the free stack, just filled in, to the personality. */
static void vq_dispatch(struct vhost_vq *vq, const struct vhost_dev_ops *ops, struct vhost_req *req)
{
	req->used_max = req->in_len;
	vq->free_count--;
	vq->inflight++;
	vq->requests++;
	if (vq->inflight_log)
		vhost_inflight_get(vq->inflight_log, req->id, ++vq->inflight_counter);
	ops->request(vq, req);
}

/* Runs what a previous back-end took from the ring and never returned, before anything new. */
static int vq_resubmit(struct vhost_vq *vq, const struct vhost_dev_ops *ops)
{
	int n = 0;

	while (vq->resubmit_next < vq->resubmit_count && vq->free_count) {
		struct vhost_req *req = vq->free_reqs[vq->free_count - 1];

		if (vq->ring->pop_head(vq, req, vq->resubmit[vq->resubmit_next++]))
			vq_dispatch(vq, ops, req);
		n++;
	}
	if (vq->resubmit_next == vq->resubmit_count) {
		free(vq->resubmit);
		vq->resubmit = NULL;
		vq->resubmit_count = vq->resubmit_next = 0;
	}
	return n;
}

static void session_vanished_memory(void *arg)
{
	vhost_session_disconnect(arg);
}

/* The front-end shrank memory it shared (the guard mapped zero pages over it): nothing it asks
 * of this session can be trusted any more. */
static bool vq_memory_vanished(struct vhost_vq *vq)
{
	struct vhost_session *s = vq->session;

	if (vq->memory_lost)
		return true;
	if (!vhost_mem_tripped(&s->mem) && !vhost_inflight_tripped(s->inflight))
		return false;
	vq->memory_lost = vq->broken = true;
	log_error("%s: queue %u: the front-end shrank shared memory under us: dropping the connection",
		  s->name, vq->index);
	reactor_send(reactor_control(), session_vanished_memory, s);
	return true;
}

static int vq_poll(void *arg)
{
	struct vhost_vq *vq = arg;
	const struct vhost_dev_ops *ops = vhost_dev_ops(vq->session->dev);
	uint16_t seen = vq->last_avail_idx;
	int popped, moved;

	if (vq_memory_vanished(vq))
		return 0;
	/* What completed since the last pass goes back before anything new is taken. */
	vq_publish(vq);
	popped = vq->resubmit ? vq_resubmit(vq, ops) : 0;

	while (!vq->broken && popped < VQ_POLL_BATCH && vq->free_count && !vq->resubmit) {
		struct vhost_req *req = vq->free_reqs[vq->free_count - 1];
		int rc = vq->ring->pop(vq, req);

		if (rc == 0)
			break;
		if (rc < 0) {
			/* The ring itself is corrupt: stop serving it; the session stays up. */
			vq->broken = true;
			break;
		}
		vq_dispatch(vq, ops, req);
		popped++;
	}
	moved = vq->last_avail_idx != seen;
	/* While kicks are on (the reactor may sleep right after this pass), the guest must be asked
	 * for one past what we just took (bad chains included): with EVENT_IDX the old avail_event
	 * is behind, and a guest already past it never kicks again. The pass after this one, which
	 * moving on guarantees, re-checks the ring. */
	if (moved && vq->notify_on && !vq->broken)
		vq->ring->set_notify(vq, true);
	vq_account(vq, popped);
	vq_flush_call(vq, popped == 0);
	return popped ? popped : moved;
}

static void vq_set_notify(void *arg, bool enable)
{
	struct vhost_vq *vq = arg;

	vq->notify_on = enable;
	if (!vq->broken)
		vq->ring->set_notify(vq, enable);
}

static void vq_kick(void *arg, uint32_t events)
{
	struct vhost_vq *vq = arg;
	eventfd_t v;

	(void)events;
	/* Only drains the eventfd: the poller does the work on this same iteration of the loop. */
	if (eventfd_read(vq->kick_fd, &v) < 0 && errno != EAGAIN) {
		log_warn("%s: queue %u: kick eventfd: %s", vq->session->name, vq->index, strerror(errno));
		reactor_fd_remove(vq->kick_rfd);
		vq->kick_rfd = NULL;
	}
}

void vhost_req_complete(struct vhost_req *req, uint32_t used_len)
{
	struct vhost_vq *vq = req->vq;

	if (used_len > req->used_max)
		used_len = req->used_max;
	/* A guest never sees more than a ring's worth of requests in flight; one that re-posts
	 * heads it never got back could make more, so the list is bounded here. */
	if (vq->returned_count == vq->size)
		vq_publish(vq);
	vq->ring->push(vq, req, used_len);
	if (vq->inflight_log)
		vq->returned[vq->returned_count++] = req->id;
	vq->free_reqs[vq->free_count++] = req;
	/* Not from here: queue_stop frees what the personality may still use after completing. */
	if (--vq->inflight == 0 && vq->stopping)
		reactor_send(vq->worker, vq_finish_stop, vq);
}

static void vq_start_on_worker(void *arg)
{
	struct vhost_vq *vq = arg;
	int rc;

	vq->stopping = false;
	rc = vhost_dev_ops(vq->session->dev)->queue_start(vq);
	if (rc) {
		log_error("%s: queue %u: personality refused to start it: %s", vq->session->name, vq->index,
			  strerror(-rc));
		vq->broken = true;
		return;
	}
	if (vq->kick_fd >= 0)
		vq->kick_rfd = reactor_fd_add(vq->kick_fd, EPOLLIN, vq_kick, vq);
	vq->poller = poller_register(vq_poll, vq_set_notify, vq);
	/* Kicks on until the reactor says otherwise: it may be asleep already. */
	vq_set_notify(vq, true);
	log_info("%s: queue %u started on CPU %d (size %u, %s ring)", vq->session->name, vq->index,
		 reactor_cpu(vq->worker), vq->size, vq->ring == &vring_packed_ops ? "packed" : "split");
}

static void vq_stop_on_worker(void *arg)
{
	struct vhost_vq *vq = arg;
	const struct vhost_dev_ops *ops = vhost_dev_ops(vq->session->dev);

	if (vq->poller) {
		poller_unregister(vq->poller);
		vq->poller = NULL;
	}
	reactor_fd_remove(vq->kick_rfd);
	vq->kick_rfd = NULL;
	/* Before stopping is set: what the personality hands back now does not schedule the finish
	 * a second time. */
	if (ops->queue_stopping && !vq->broken)
		ops->queue_stopping(vq);
	vq->stopping = true;
	if (vq->inflight == 0)
		vq_finish_stop(vq);
	else
		log_info("%s: queue %u stopping, %u requests in flight", vq->session->name, vq->index,
			 vq->inflight);
}

struct call_fd_update {
	struct vhost_vq *vq;
	int fd;
};

static void vq_call_fd_on_worker(void *arg)
{
	struct call_fd_update *u = arg;
	struct vhost_vq *vq = u->vq;

	if (vq->call_fd >= 0)
		close(vq->call_fd);
	vq->call_fd = u->fd;
	/* An interrupt may have gone to the old fd while the front-end switched: repeat it. */
	if (vq->call_fd >= 0 && eventfd_write(vq->call_fd, 1) < 0 && errno != EAGAIN)
		log_warn("%s: queue %u: call eventfd: %s", vq->session->name, vq->index, strerror(errno));
	free(u);
}

/* --- control side --- */

void vhost_vq_update_call_fd(struct vhost_vq *vq, int fd)
{
	struct call_fd_update *u = malloc(sizeof(*u));

	/* Filled before it is sent: the worker may run it at once. */
	if (u) {
		u->vq = vq;
		u->fd = fd;
	}
	if (!u || reactor_send(vq->worker, vq_call_fd_on_worker, u)) {
		log_error("%s: queue %u: out of memory updating the call fd", vq->session->name, vq->index);
		free(u);
		if (fd >= 0)
			close(fd);
	}
}

static void vq_free_pool(struct vhost_vq *vq)
{
	free(vq->resubmit);
	vq->resubmit = NULL;
	vq->resubmit_count = vq->resubmit_next = 0;
	free(vq->req_pool);
	free(vq->free_reqs);
	free(vq->returned);
	vq->req_pool = NULL;
	vq->free_reqs = NULL;
	vq->returned = NULL;
	vq->free_count = vq->returned_count = 0;
}

static int vq_alloc_pool(struct vhost_vq *vq, size_t req_size)
{
	req_size = (req_size + 63) & ~(size_t)63;
	vq->req_pool = calloc(vq->size, req_size);
	vq->free_reqs = calloc(vq->size, sizeof(*vq->free_reqs));
	vq->returned = calloc(vq->size, sizeof(*vq->returned));
	if (!vq->req_pool || !vq->free_reqs || !vq->returned) {
		vq_free_pool(vq);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < vq->size; i++)
		vq->free_reqs[i] = (struct vhost_req *)(vq->req_pool + i * req_size);
	vq->free_count = vq->size;
	return 0;
}

/* First start of a queue after SET_INFLIGHT_FD handed over a previous back-end's area: what that
 * back-end took from the ring and never returned runs again, first, and the ring position moves
 * past it (the front-end restarts the ring at the guest's used index). */
static void vq_recover_inflight(struct vhost_session *s, struct vhost_vq *vq)
{
	uint16_t *heads;
	int n;

	if (!vq->inflight_log || !(s->inflight_recover & (1ULL << vq->index)))
		return;
	s->inflight_recover &= ~(1ULL << vq->index);
	heads = calloc(vq->size, sizeof(*heads));
	if (!heads) {
		log_error("%s: queue %u: out of memory: in-flight requests not resubmitted", s->name, vq->index);
		return;
	}
	n = vhost_inflight_recover(vq->inflight_log, vq->size, vq->split.used, heads,
				   &vq->inflight_counter);
	if (n == 0) {
		free(heads);
		return;
	}
	log_notice("%s: queue %u: resubmitting %d requests left in flight by the previous back-end", s->name,
		   vq->index, n);
	vq->last_avail_idx += (uint16_t)n;
	vq->resubmit = heads;
	vq->resubmit_count = (uint16_t)n;
	vq->resubmit_next = 0;
}

static void vq_start(struct vhost_session *s, struct vhost_vq *vq)
{
	const struct vhost_dev_ops *ops = vhost_session_ops(s);
	bool packed = s->features & (1ULL << VIRTIO_F_RING_PACKED);
	int rc;

	vq->features = s->features;
	vq->ring = packed ? &vring_packed_ops : &vring_split_ops;
	if (vq->base_pending) {
		vq->ring->set_base(vq, vq->base);
		vq->base_pending = false;
	}
	rc = vq->ring->attach(vq);
	if (rc == 0)
		rc = vq_alloc_pool(vq, ops->req_size);
	if (rc) {
		log_error("%s: queue %u: cannot start: %s", s->name, vq->index,
			  rc == -EINVAL ? "ring addresses or position invalid" : strerror(-rc));
		vq->broken = true;
		return;
	}
	vq->inflight_log = packed ? NULL : vhost_inflight_queue(s->inflight, vq->index, vq->size);
	vq_recover_inflight(s, vq);
	vq->worker = vhost_dev_worker_for_queue(s->dev, vq->index);
	vq->coalesce_delay_us = vhost_dev_coalesce_delay(s->dev);
	vq->coalesce_iops_threshold = vhost_dev_coalesce_threshold(s->dev);
	vq->coalescing_active = false;
	vq->inflight = 0;
	vq->broken = vq->memory_lost = false;
	vq->started = true;
	reactor_send(vq->worker, vq_start_on_worker, vq);
}

void vhost_session_start_ready_queues(struct vhost_session *s)
{
	if (s->closing)
		return;
	for (int i = 0; i < VHOST_MAX_QUEUES; i++) {
		struct vhost_vq *vq = &s->vqs[i];

		if (!vq->started && vhost_vq_ready(s, vq))
			vq_start(s, vq);
	}
}

static void vq_stopped_on_control(void *arg)
{
	struct vhost_vq *vq = arg;
	struct vhost_session *s = vq->session;

	vq->started = false;
	vq_free_pool(vq);
	if (--s->stops_pending == 0) {
		void (*then)(struct vhost_session *s) = s->stops_done;

		s->stops_done = NULL;
		then(s);
	}
}

void vhost_session_stop_queues(struct vhost_session *s, uint64_t mask, void (*then)(struct vhost_session *s))
{
	mask &= vhost_session_started_mask(s);
	if (!mask) {
		then(s);
		return;
	}
	s->stops_done = then;
	for (int i = 0; i < VHOST_MAX_QUEUES; i++) {
		if (!(mask & (1ULL << i)))
			continue;
		s->stops_pending++;
		reactor_send(s->vqs[i].worker, vq_stop_on_worker, &s->vqs[i]);
	}
}

/* --- running a function on every started queue --- */

struct queue_walk {
	void (*fn)(struct vhost_vq *vq, void *arg);
	void (*done)(void *arg);
	void *arg;
	int pending;
};

static void queue_walk_step_done(void *arg)
{
	struct queue_walk *w = arg;

	if (--w->pending == 0) {
		w->done(w->arg);
		free(w);
	}
}

struct queue_walk_step {
	struct queue_walk *walk;
	struct vhost_vq *vq;
};

static void queue_walk_on_worker(void *arg)
{
	struct queue_walk_step *step = arg;

	step->walk->fn(step->vq, step->walk->arg);
	reactor_send(reactor_control(), queue_walk_step_done, step->walk);
	free(step);
}

void vhost_session_foreach_queue(struct vhost_session *s, void (*fn)(struct vhost_vq *vq, void *arg),
				 void (*done)(void *arg), void *arg)
{
	struct queue_walk *w = calloc(1, sizeof(*w));

	if (!w) {
		done(arg);
		return;
	}
	w->fn = fn;
	w->done = done;
	w->arg = arg;
	w->pending = 1; /* held until every step is sent */
	for (int i = 0; s && i < VHOST_MAX_QUEUES; i++) {
		struct queue_walk_step *step;

		if (!s->vqs[i].started)
			continue;
		step = malloc(sizeof(*step));
		if (!step)
			continue;
		step->walk = w;
		step->vq = &s->vqs[i];
		w->pending++;
		reactor_send(s->vqs[i].worker, queue_walk_on_worker, step);
	}
	queue_walk_step_done(w);
}
