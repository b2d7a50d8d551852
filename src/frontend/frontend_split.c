/*
 * Split virtqueue, driver side (virtio 1.2 section 2.7): descriptor table, available ring, used
 * ring. The free list lives in private memory so a back-end scribbling on the table cannot corrupt
 * our bookkeeping. With EVENT_IDX, used_event sits after avail->ring[num] and avail_event after
 * used->ring[num].
 */
#include "frontend/frontend_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define RING_ALIGN 4096

static struct vring_desc *desc_of(struct vu_queue *q)
{
	return q->desc;
}

static struct vring_avail *avail_of(struct vu_queue *q)
{
	return q->driver;
}

static struct vring_used *used_of(struct vu_queue *q)
{
	return q->device;
}

static uint16_t *used_event_of(struct vu_queue *q)
{
	return &avail_of(q)->ring[q->num];
}

static uint16_t *avail_event_of(struct vu_queue *q)
{
	return (uint16_t *)&used_of(q)->ring[q->num];
}

static uint16_t used_idx_load(struct vu_queue *q)
{
	return __atomic_load_n(&used_of(q)->idx, __ATOMIC_ACQUIRE);
}

static void write_notify_fields(struct vu_queue *q, bool enable)
{
	/* With EVENT_IDX the device ignores avail->flags: "off" is an event index it will not reach
	 * before we move it again - half the index space ahead. (Just behind last_used, as this
	 * once wrote, is passed by every batch the device returns after we consumed some.) */
	if (q->event_idx)
		*used_event_of(q) = enable ? q->last_used : (uint16_t)(q->last_used + 0x8000);
	else
		avail_of(q)->flags = enable ? 0 : VRING_AVAIL_F_NO_INTERRUPT;
}

static int split_init(struct vu_queue *q)
{
	struct vu_mem *m = &q->f->mem;
	size_t dsize = 16u * q->num, asize = 6 + 2u * q->num, usize = 6 + 8u * q->num;

	q->desc = vu_mem_alloc(m, dsize, RING_ALIGN, &q->desc_gpa);
	q->driver = vu_mem_alloc(m, asize, RING_ALIGN, &q->driver_gpa);
	q->device = vu_mem_alloc(m, usize, RING_ALIGN, &q->device_gpa);
	q->next_free = malloc(sizeof(*q->next_free) * q->num);
	if (!q->desc || !q->driver || !q->device || !q->next_free)
		return -ENOMEM;
	memset(q->desc, 0, dsize);
	memset(q->driver, 0, asize);
	memset(q->device, 0, usize);
	for (uint16_t i = 0; i < q->num; i++)
		q->next_free[i] = i + 1;
	q->free_head = 0;
	q->num_free = q->num;
	q->notify_on = !q->busy_poll;
	write_notify_fields(q, q->notify_on);
	return 0;
}

static void split_fini(struct vu_queue *q)
{
	free(q->next_free);
	q->next_free = NULL;
}

static void fill_desc(struct vring_desc *d, const struct vu_buf *b, bool more, uint16_t next)
{
	d->addr = b->gpa;
	d->len = b->len;
	d->flags = (b->write ? VRING_DESC_F_WRITE : 0) | (more ? VRING_DESC_F_NEXT : 0);
	d->next = more ? next : 0;
}

static int split_add(struct vu_queue *q, const struct vu_buf *bufs, int n, bool indirect,
		     void *cookie)
{
	int need = indirect ? 1 : n;
	uint16_t head = q->free_head, last = head;
	struct vring_desc *desc = desc_of(q);

	if (need > q->num)
		return -EINVAL;
	if (need > q->num_free)
		return -ENOSPC;
	if (indirect) {
		uint64_t gpa;
		struct vring_desc *table = vu_queue_indirect(q, head, &gpa);

		for (int i = 0; i < n; i++)
			fill_desc(&table[i], &bufs[i], i + 1 < n, i + 1);
		desc[head].addr = gpa;
		desc[head].len = n * sizeof(struct vring_desc);
		desc[head].flags = VRING_DESC_F_INDIRECT;
		desc[head].next = 0;
	} else {
		uint16_t idx = head;

		for (int i = 0; i < n; i++) {
			fill_desc(&desc[idx], &bufs[i], i + 1 < n, q->next_free[idx]);
			last = idx;
			idx = q->next_free[idx];
		}
	}
	q->free_head = q->next_free[last];
	q->num_free -= need;
	q->slots[head] =
		(struct vu_slot){ .cookie = cookie, .ndesc = need, .last = last, .busy = true };
	avail_of(q)->ring[q->avail_idx % q->num] = head;
	q->avail_idx++;
	return head;
}

static bool split_publish(struct vu_queue *q)
{
	uint16_t old = q->kicked, new = q->avail_idx;

	__atomic_store_n(&avail_of(q)->idx, new, __ATOMIC_RELEASE);
	vu_mb(); /* the index must be visible before we read the device's suppression fields */
	q->kicked = new;
	if (old == new)
		return false;
	if (q->event_idx)
		return vring_need_event(*(volatile uint16_t *)avail_event_of(q), new, old);
	return !(*(volatile uint16_t *)&used_of(q)->flags & VRING_USED_F_NO_NOTIFY);
}

static int split_poll(struct vu_queue *q, void **cookie, uint32_t *len)
{
	struct vring_used_elem e;
	struct vu_slot *s;

	if (used_idx_load(q) == q->last_used)
		return 0;
	e = used_of(q)->ring[q->last_used % q->num];
	if (e.id >= q->num || !q->slots[e.id].busy)
		return -EPROTO;
	s = &q->slots[e.id];
	q->last_used++;
	*cookie = s->cookie;
	*len = e.len;
	if (s->ndesc) { /* raw chains (ndesc 0) were never taken from the free list */
		q->next_free[s->last] = q->free_head;
		q->free_head = e.id;
		q->num_free += s->ndesc;
	}
	s->busy = false;
	if (q->event_idx)
		write_notify_fields(q, q->notify_on);
	return 1;
}

static bool split_set_notify(struct vu_queue *q, bool enable)
{
	q->notify_on = enable;
	write_notify_fields(q, enable);
	vu_mb(); /* publish our wish before re-checking the ring: no lost wake-up */
	return used_idx_load(q) != q->last_used;
}

static uint32_t split_base(const struct vu_queue *q)
{
	return q->avail_idx;
}

const struct vu_ring_ops vu_split_ops = {
	.init = split_init,
	.fini = split_fini,
	.add = split_add,
	.publish = split_publish,
	.poll = split_poll,
	.set_notify = split_set_notify,
	.base = split_base,
};

struct vring_desc *vu_front_split_desc(struct vu_front *f, int q)
{
	struct vu_queue *vq = vu_front_queue(f, q);

	return vq && vq->ops == &vu_split_ops ? desc_of(vq) : NULL;
}

void vu_front_split_publish(struct vu_front *f, int q, uint16_t head)
{
	struct vu_queue *vq = vu_front_queue(f, q);

	if (!vq || vq->ops != &vu_split_ops)
		return;
	if (head < vq->num) /* lets poll() hand the element back without touching the free list */
		vq->slots[head] = (struct vu_slot){ .busy = true };
	avail_of(vq)->ring[vq->avail_idx % vq->num] = head;
	vq->avail_idx++;
	split_publish(vq);
	vu_front_kick(f, q);
}
