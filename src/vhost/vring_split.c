/* Split virtqueues (virtio 1.2 section 2.7). */
#include <errno.h>
#include <stddef.h>

#include "core/log.h"
#include "vhost/mem.h"
#include "vhost/session.h"
#include "vhost/vring_chain.h"

static int split_attach(struct vhost_vq *vq)
{
	const struct vhost_mem *mem = &vq->session->mem;
	size_t n = vq->size;
	bool event_idx = vq->features & (1ULL << VIRTIO_RING_F_EVENT_IDX);

	vq->split.desc = vhost_mem_uva_to_ptr(mem, vq->desc_uva, n * sizeof(struct vring_desc));
	vq->split.avail = vhost_mem_uva_to_ptr(mem, vq->avail_uva, 4 + 2 * n + (event_idx ? 2 : 0));
	vq->split.used = vhost_mem_uva_to_ptr(mem, vq->used_uva,
					      4 + sizeof(struct vring_used_elem) * n + (event_idx ? 2 : 0));
	if (!vq->split.desc || !vq->split.avail || !vq->split.used)
		return -EINVAL;
	if ((uintptr_t)vq->split.desc % 16 || (uintptr_t)vq->split.avail % 2 || (uintptr_t)vq->split.used % 4)
		return -EINVAL;
	return 0;
}

/* Walks a chain (in the ring's table or an indirect one) into req. */
static int split_walk(struct vhost_vq *vq, struct vhost_req *req, uint16_t head, const char **why)
{
	const struct vring_desc *table = vq->split.desc;
	uint32_t table_size = vq->size, idx = head, steps = 0;
	bool indirect = false;

	for (;;) {
		struct vring_desc d;

		d.addr = GUEST_READ(table[idx].addr);
		d.len = GUEST_READ(table[idx].len);
		d.flags = GUEST_READ(table[idx].flags);
		d.next = GUEST_READ(table[idx].next);
		if (++steps > table_size) {
			*why = "descriptor loop or chain longer than the queue";
			return -EINVAL;
		}
		if (d.flags & VRING_DESC_F_INDIRECT) {
			if (indirect) {
				*why = "nested indirect table";
				return -EINVAL;
			}
			if (d.flags & VRING_DESC_F_NEXT) {
				*why = "indirect descriptor with NEXT";
				return -EINVAL;
			}
			table = vring_indirect_table(vq, d.addr, d.len, &table_size);
			if (!table) {
				*why = "indirect table malformed or outside guest memory";
				return -EINVAL;
			}
			indirect = true;
			idx = 0;
			steps = 0;
			continue;
		}
		if (vring_chain_add(vq, req, d.addr, d.len, d.flags & VRING_DESC_F_WRITE)) {
			*why = "buffer outside guest memory, out of order, or too many segments";
			return -EINVAL;
		}
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 0;
		if (d.next >= table_size) {
			*why = "next index out of range";
			return -EINVAL;
		}
		idx = d.next;
	}
}

static void split_push(struct vhost_vq *vq, const struct vhost_req *req, uint32_t len)
{
	struct vring_used *used = vq->split.used;
	struct vring_used_elem *e = &used->ring[vq->last_used_idx % vq->size];

	GUEST_WRITE(e->id, req->id);
	GUEST_WRITE(e->len, len);
	vq->last_used_idx++;
	vq->publish_pending = vq->call_pending = true;
}

static void split_publish(struct vhost_vq *vq)
{
	GUEST_WRITE_RELEASE(vq->split.used->idx, vq->last_used_idx);
	vq->publish_pending = false;
}

static int split_pop_head(struct vhost_vq *vq, struct vhost_req *req, uint16_t head)
{
	const char *why = NULL;

	vring_chain_begin(vq, req);
	req->id = head;
	if (split_walk(vq, req, head, &why) == 0)
		return 1;
	vring_chain_reject(vq, why);
	split_push(vq, req, 0);
	return 0;
}

static int split_pop(struct vhost_vq *vq, struct vhost_req *req)
{
	struct vring_avail *avail = vq->split.avail;
	uint16_t avail_idx = GUEST_READ_ACQUIRE(avail->idx);

	for (;;) {
		uint16_t pending = avail_idx - vq->last_avail_idx;
		uint16_t head;

		if (pending == 0)
			return 0;
		if (pending > vq->size) {
			log_error("%s: queue %u: avail index jumped by %u (queue size %u): ring corrupt",
				  vhost_session_name(vq->session), vq->index, pending, vq->size);
			return -EIO;
		}
		head = GUEST_READ(avail->ring[vq->last_avail_idx % vq->size]);
		if (head >= vq->size) {
			log_error("%s: queue %u: head %u out of range (queue size %u): ring corrupt",
				  vhost_session_name(vq->session), vq->index, head, vq->size);
			return -EIO;
		}
		vq->last_avail_idx++;
		if (split_pop_head(vq, req, head))
			return 1;
	}
}

static bool split_need_call(struct vhost_vq *vq)
{
	uint16_t new_idx = vq->last_used_idx, old_idx = vq->signalled_used, event;
	bool valid = vq->signalled_valid;

	/* The used index must be visible before the guest's suppression fields are read. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	vq->signalled_used = new_idx;
	vq->signalled_valid = true;
	if (!(vq->features & (1ULL << VIRTIO_RING_F_EVENT_IDX)))
		return !(GUEST_READ(vq->split.avail->flags) & VRING_AVAIL_F_NO_INTERRUPT);
	event = GUEST_READ(vq->split.avail->ring[vq->size]); /* used_event */
	return !valid || (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old_idx);
}

static void split_set_notify(struct vhost_vq *vq, bool enable)
{
	struct vring_used *used = vq->split.used;

	if (vq->features & (1ULL << VIRTIO_RING_F_EVENT_IDX)) {
		/* avail_event sits right after the used ring: kick us for anything past what we saw. */
		uint16_t *avail_event = (uint16_t *)((uint8_t *)used + 4 + sizeof(used->ring[0]) * vq->size);

		if (enable)
			GUEST_WRITE(*avail_event, vq->last_avail_idx);
	} else {
		uint16_t flags = GUEST_READ(used->flags);

		GUEST_WRITE(used->flags, enable ? flags & ~VRING_USED_F_NO_NOTIFY : flags | VRING_USED_F_NO_NOTIFY);
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

static uint32_t split_get_base(const struct vhost_vq *vq)
{
	return vq->last_avail_idx;
}

static void split_set_base(struct vhost_vq *vq, uint32_t base)
{
	vq->last_avail_idx = (uint16_t)base;
	vq->last_used_idx = (uint16_t)base;
	vq->signalled_valid = false;
}

const struct vring_ops vring_split_ops = {
	.attach = split_attach,
	.pop = split_pop,
	.pop_head = split_pop_head,
	.push = split_push,
	.publish = split_publish,
	.need_call = split_need_call,
	.set_notify = split_set_notify,
	.get_base = split_get_base,
	.set_base = split_set_base,
};
