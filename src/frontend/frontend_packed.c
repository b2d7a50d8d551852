/*
 * Packed virtqueue, driver side (virtio 1.2 section 2.8): one descriptor ring written by both
 * sides, availability and use told by the AVAIL/USED flag bits against wrap counters, plus the
 * driver and device event suppression areas. Buffer ids are ours; the device writes one used
 * descriptor per buffer and skips as many ring slots as the buffer's chain took.
 */
#include "frontend/frontend_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define F_AVAIL (1u << VRING_PACKED_DESC_F_AVAIL)
#define F_USED (1u << VRING_PACKED_DESC_F_USED)
#define WRAP_BIT (1u << VRING_PACKED_EVENT_F_WRAP_CTR)

static struct vring_packed_desc *ring_of(struct vu_queue *q)
{
	return q->desc;
}

static struct vring_packed_desc_event *driver_event(struct vu_queue *q)
{
	return q->driver;
}

static struct vring_packed_desc_event *device_event(struct vu_queue *q)
{
	return q->device;
}

/* The AVAIL/USED bits that make a descriptor available in the lap of wrap counter `wrap`. */
static uint16_t avail_bits(bool wrap)
{
	return wrap ? F_AVAIL : F_USED;
}

static bool desc_is_used(struct vu_queue *q, uint16_t pos)
{
	uint16_t flags = __atomic_load_n(&ring_of(q)[pos].flags, __ATOMIC_ACQUIRE);
	bool avail = flags & F_AVAIL, used = flags & F_USED;

	return avail == used && used == q->used_wrap;
}

static void write_notify_fields(struct vu_queue *q, bool enable)
{
	struct vring_packed_desc_event *ev = driver_event(q);

	if (!enable) {
		ev->flags = VRING_PACKED_EVENT_FLAG_DISABLE;
	} else if (q->event_idx) {
		ev->off_wrap = q->last_used | (q->used_wrap ? WRAP_BIT : 0);
		__atomic_store_n(&ev->flags, VRING_PACKED_EVENT_FLAG_DESC, __ATOMIC_RELEASE);
	} else {
		ev->flags = VRING_PACKED_EVENT_FLAG_ENABLE;
	}
}

static int packed_init(struct vu_queue *q)
{
	struct vu_mem *m = &q->f->mem;

	q->desc = vu_mem_alloc(m, 16u * q->num, 4096, &q->desc_gpa);
	q->driver = vu_mem_alloc(m, sizeof(struct vring_packed_desc_event), 4, &q->driver_gpa);
	q->device = vu_mem_alloc(m, sizeof(struct vring_packed_desc_event), 4, &q->device_gpa);
	q->free_ids = malloc(sizeof(*q->free_ids) * q->num);
	if (!q->desc || !q->driver || !q->device || !q->free_ids)
		return -ENOMEM;
	memset(q->desc, 0, 16u * q->num);
	memset(q->driver, 0, sizeof(struct vring_packed_desc_event));
	memset(q->device, 0, sizeof(struct vring_packed_desc_event));
	for (uint16_t i = 0; i < q->num; i++)
		q->free_ids[i] = q->num - 1 - i;
	q->nfree_ids = q->num;
	q->num_free = q->num;
	q->avail_wrap = q->used_wrap = q->kicked_wrap = true;
	q->notify_on = !q->busy_poll;
	write_notify_fields(q, q->notify_on);
	return 0;
}

static void packed_fini(struct vu_queue *q)
{
	free(q->free_ids);
	q->free_ids = NULL;
}

static void fill_desc(struct vring_packed_desc *d, const struct vu_buf *b, uint16_t id)
{
	d->addr = b->gpa;
	d->len = b->len;
	d->id = id;
}

static int packed_add(struct vu_queue *q, const struct vu_buf *bufs, int n, bool indirect,
		      void *cookie)
{
	int need = indirect ? 1 : n;
	struct vring_packed_desc *ring = ring_of(q);
	uint16_t head = q->next_avail, pos = head, id, head_flags;
	bool wrap = q->avail_wrap;

	if (need > q->num)
		return -EINVAL;
	if (need > q->num_free || !q->nfree_ids)
		return -ENOSPC;
	id = q->free_ids[--q->nfree_ids];
	if (indirect) {
		uint64_t gpa;
		struct vring_packed_desc *table = vu_queue_indirect(q, id, &gpa);

		/* Entries of an indirect table are chained by position: no NEXT flag. */
		for (int i = 0; i < n; i++) {
			fill_desc(&table[i], &bufs[i], 0);
			table[i].flags = bufs[i].write ? VRING_DESC_F_WRITE : 0;
		}
		ring[head].addr = gpa;
		ring[head].len = n * sizeof(struct vring_packed_desc);
		ring[head].id = id;
		head_flags = VRING_DESC_F_INDIRECT;
		pos = head + 1;
	} else {
		head_flags = (bufs[0].write ? VRING_DESC_F_WRITE : 0) |
			     (n > 1 ? VRING_DESC_F_NEXT : 0);
		for (int i = 0; i < n; i++) {
			fill_desc(&ring[pos], &bufs[i], id);
			if (i) /* the head's flags go last: they hand the whole chain over */
				ring[pos].flags = (bufs[i].write ? VRING_DESC_F_WRITE : 0) |
						  (i + 1 < n ? VRING_DESC_F_NEXT : 0) |
						  avail_bits(wrap);
			if (++pos == q->num) {
				pos = 0;
				wrap = !wrap;
			}
		}
	}
	if (pos == q->num) {
		pos = 0;
		wrap = !wrap;
	}
	head_flags |= avail_bits(q->avail_wrap);
	__atomic_store_n(&ring[head].flags, head_flags, __ATOMIC_RELEASE);
	q->next_avail = pos;
	q->avail_wrap = wrap;
	q->num_free -= need;
	q->slots[id] = (struct vu_slot){ .cookie = cookie, .ndesc = need, .busy = true };
	return id;
}

static bool packed_publish(struct vu_queue *q)
{
	struct vring_packed_desc_event *ev = device_event(q);
	uint16_t old = q->kicked, new = q->next_avail, flags, off_wrap, event;
	bool old_wrap = q->kicked_wrap;

	vu_mb(); /* our descriptors must be visible before we read the device's wishes */
	flags = *(volatile uint16_t *)&ev->flags;
	off_wrap = *(volatile uint16_t *)&ev->off_wrap;
	q->kicked = new;
	q->kicked_wrap = q->avail_wrap;
	if (old == new && old_wrap == q->avail_wrap)
		return false;
	if (flags != VRING_PACKED_EVENT_FLAG_DESC || !q->event_idx)
		return flags != VRING_PACKED_EVENT_FLAG_DISABLE;
	/* Put old and the event offset on the current lap's scale, modulo 2^16. */
	event = off_wrap & ~WRAP_BIT;
	if (!!(off_wrap & WRAP_BIT) != q->avail_wrap)
		event -= q->num;
	if (old_wrap != q->avail_wrap)
		old -= q->num;
	return vring_need_event(event, new, old);
}

static int packed_poll(struct vu_queue *q, void **cookie, uint32_t *len)
{
	struct vring_packed_desc *d;
	struct vu_slot *s;
	uint16_t id;

	if (!desc_is_used(q, q->last_used))
		return 0;
	d = &ring_of(q)[q->last_used];
	id = d->id;
	if (id >= q->num || !q->slots[id].busy)
		return -EPROTO;
	s = &q->slots[id];
	*cookie = s->cookie;
	*len = d->len;
	q->last_used += s->ndesc;
	if (q->last_used >= q->num) {
		q->last_used -= q->num;
		q->used_wrap = !q->used_wrap;
	}
	q->num_free += s->ndesc;
	q->free_ids[q->nfree_ids++] = id;
	s->busy = false;
	if (q->event_idx && q->notify_on)
		write_notify_fields(q, true);
	return 1;
}

static bool packed_set_notify(struct vu_queue *q, bool enable)
{
	q->notify_on = enable;
	write_notify_fields(q, enable);
	vu_mb(); /* no lost wake-up: re-check after publishing the wish */
	return desc_is_used(q, q->last_used);
}

static uint32_t packed_base(const struct vu_queue *q)
{
	return q->next_avail | (q->avail_wrap ? WRAP_BIT : 0);
}

const struct vu_ring_ops vu_packed_ops = {
	.init = packed_init,
	.fini = packed_fini,
	.add = packed_add,
	.publish = packed_publish,
	.poll = packed_poll,
	.set_notify = packed_set_notify,
	.base = packed_base,
};
