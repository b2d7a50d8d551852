/*
 * Virtqueues: eventfds, per-request slots, indirect tables, and the public submit/poll/wait calls,
 * which dispatch to the ring layout (frontend_split.c or frontend_packed.c).
 */
#include "frontend/frontend_int.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

int vu_queue_init(struct vu_front *f, int index, uint16_t num, bool packed)
{
	struct vu_queue *q = &f->queues[index];
	int rc;

	memset(q, 0, sizeof(*q));
	q->f = f;
	q->kick_fd = -1;
	q->call_fd = -1;
	q->busy_poll = f->busy_poll;
	q->index = index;
	q->num = num;
	q->ops = packed ? &vu_packed_ops : &vu_split_ops;
	q->event_idx = f->features & (1ULL << VIRTIO_RING_F_EVENT_IDX);
	q->indirect_ok = f->features & (1ULL << VIRTIO_RING_F_INDIRECT_DESC);
	q->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	q->call_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	q->slots = calloc(num, sizeof(*q->slots));
	if (q->kick_fd < 0 || q->call_fd < 0 || !q->slots) {
		rc = -ENOMEM;
		goto fail;
	}
	if (q->indirect_ok) {
		size_t size = (size_t)num * VU_FRONT_INDIRECT_MAX * 16;

		q->ind = vu_mem_alloc(&f->mem, size, 16, &q->ind_gpa);
		if (!q->ind) {
			rc = -ENOMEM;
			goto fail;
		}
	}
	rc = q->ops->init(q);
	if (rc)
		goto fail;
	return 0;
fail:
	vu_queue_fini(q);
	return rc;
}

void vu_queue_fini(struct vu_queue *q)
{
	if (!q->f)
		return; /* never initialised */
	q->ops->fini(q);
	if (q->kick_fd >= 0)
		close(q->kick_fd);
	if (q->call_fd >= 0)
		close(q->call_fd);
	free(q->slots);
	memset(q, 0, sizeof(*q));
}

struct vu_queue *vu_front_queue(struct vu_front *f, int q)
{
	if (!f || q < 0 || q >= f->nqueues)
		return NULL;
	return &f->queues[q];
}

int vu_front_enqueue(struct vu_front *f, int q, const struct vu_buf *bufs, int n, bool indirect,
		     void *cookie)
{
	struct vu_queue *vq = vu_front_queue(f, q);

	if (!vq || !bufs || n < 1)
		return -EINVAL;
	if (indirect && (!vq->indirect_ok || n > VU_FRONT_INDIRECT_MAX))
		return -EINVAL;
	return vq->ops->add(vq, bufs, n, indirect, cookie);
}

int vu_front_notify(struct vu_front *f, int q)
{
	struct vu_queue *vq = vu_front_queue(f, q);

	if (!vq)
		return -EINVAL;
	return vq->ops->publish(vq) ? vu_front_kick(f, q) : 0;
}

int vu_front_submit(struct vu_front *f, int q, const struct vu_buf *bufs, int n, bool indirect,
		    void *cookie)
{
	int head = vu_front_enqueue(f, q, bufs, n, indirect, cookie);
	int rc;

	if (head < 0)
		return head;
	rc = vu_front_notify(f, q);
	return rc < 0 ? rc : head;
}

int vu_front_poll(struct vu_front *f, int q, void **cookie, uint32_t *len)
{
	struct vu_queue *vq = vu_front_queue(f, q);
	void *c;
	uint32_t l;

	if (!vq)
		return -EINVAL;
	return vq->ops->poll(vq, cookie ? cookie : &c, len ? len : &l);
}

int vu_front_arm(struct vu_front *f, int q)
{
	struct vu_queue *vq = vu_front_queue(f, q);

	if (!vq)
		return -EINVAL;
	return vq->ops->set_notify(vq, true) ? 1 : 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Arms the call notification (no lost wake-up: set_notify re-checks the ring), then sleeps. */
static int wait_used(struct vu_queue *vq, int64_t deadline)
{
	struct pollfd pfd = { .fd = vq->call_fd, .events = POLLIN };
	uint64_t v;

	if (vq->ops->set_notify(vq, true))
		return 0;
	for (;;) {
		int timeout = -1;

		if (deadline >= 0) {
			int64_t left = deadline - now_ms();

			timeout = left > 0 ? (int)left : 0;
		}
		int rc = poll(&pfd, 1, timeout);

		if (rc > 0) {
			if (read(vq->call_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				return -errno;
			return 0;
		}
		if (rc == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

int vu_front_wait(struct vu_front *f, int q, int timeout_ms, void **cookie, uint32_t *len)
{
	struct vu_queue *vq = vu_front_queue(f, q);
	int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	int rc;

	if (!vq)
		return -EINVAL;
	for (;;) {
		rc = vu_front_poll(f, q, cookie, len);
		if (rc)
			break;
		rc = wait_used(vq, deadline);
		if (rc == -ETIMEDOUT) {
			rc = vu_front_poll(f, q, cookie, len);
			break;
		}
		if (rc)
			break;
	}
	if (vq->busy_poll)
		vq->ops->set_notify(vq, false);
	return rc;
}

int vu_front_kick(struct vu_front *f, int q)
{
	struct vu_queue *vq = vu_front_queue(f, q);
	uint64_t one = 1;

	if (!vq)
		return -EINVAL;
	/* EAGAIN means the counter is saturated: the back-end has a kick pending anyway. */
	if (write(vq->kick_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return -errno;
	return 0;
}

int vu_front_call_fd(struct vu_front *f, int q)
{
	struct vu_queue *vq = vu_front_queue(f, q);

	return vq ? vq->call_fd : -EINVAL;
}

uint16_t vu_front_queue_size(const struct vu_front *f, int q)
{
	return vu_front_queue((struct vu_front *)f, q) ? f->queues[q].num : 0;
}

/* The indirect table of a slot, in guest memory. */
void *vu_queue_indirect(struct vu_queue *q, uint16_t slot, uint64_t *gpa)
{
	size_t off = (size_t)slot * VU_FRONT_INDIRECT_MAX * 16;

	*gpa = q->ind_gpa + off;
	return q->ind + off;
}
