/* Packed virtqueues (virtio 1.2 section 2.8). */
#include <errno.h>

#include "core/log.h"
#include "vhost/mem.h"
#include "vhost/session.h"
#include "vhost/vring_chain.h"

#define DESC_AVAIL (1u << VRING_PACKED_DESC_F_AVAIL)
#define DESC_USED (1u << VRING_PACKED_DESC_F_USED)

static int packed_attach(struct vhost_vq *vq)
{
	const struct vhost_mem *mem = &vq->session->mem;

	/* The driver area holds the driver's event suppression, the device area ours. */
	vq->packed.desc = vhost_mem_uva_to_ptr(mem, vq->desc_uva, (size_t)vq->size * sizeof(struct vring_packed_desc));
	vq->packed.driver_event = vhost_mem_uva_to_ptr(mem, vq->avail_uva, sizeof(struct vring_packed_desc_event));
	vq->packed.device_event = vhost_mem_uva_to_ptr(mem, vq->used_uva, sizeof(struct vring_packed_desc_event));
	if (!vq->packed.desc || !vq->packed.driver_event || !vq->packed.device_event)
		return -EINVAL;
	if (vq->last_avail_idx >= vq->size || vq->last_used_idx >= vq->size)
		return -EINVAL;
	if ((uintptr_t)vq->packed.desc % 16 || (uintptr_t)vq->packed.driver_event % 4 ||
	    (uintptr_t)vq->packed.device_event % 4)
		return -EINVAL;
	return 0;
}

static bool desc_is_avail(uint16_t flags, bool wrap)
{
	return !!(flags & DESC_AVAIL) == wrap && !!(flags & DESC_USED) != wrap;
}

static void advance(uint16_t *idx, bool *wrap, uint16_t by, uint16_t size)
{
	*idx += by;
	if (*idx >= size) {
		*idx -= size;
		*wrap = !*wrap;
	}
}

static int packed_walk_indirect(struct vhost_vq *vq, struct vhost_req *req, uint64_t addr, uint32_t len,
				const char **why)
{
	uint32_t count;
	const struct vring_desc *table = vring_indirect_table(vq, addr, len, &count);
	/* A packed indirect table uses the packed layout; both are 16 bytes per entry. */
	const struct vring_packed_desc *t = (const struct vring_packed_desc *)table;

	if (!table) {
		*why = "indirect table malformed or outside guest memory";
		return -EINVAL;
	}
	for (uint32_t i = 0; i < count; i++) {
		uint64_t a = GUEST_READ(t[i].addr);
		uint32_t l = GUEST_READ(t[i].len);
		uint16_t f = GUEST_READ(t[i].flags);

		if (f & VRING_DESC_F_INDIRECT) {
			*why = "nested indirect table";
			return -EINVAL;
		}
		if (vring_chain_add(vq, req, a, l, f & VRING_DESC_F_WRITE)) {
			*why = "buffer outside guest memory, out of order, or too many segments";
			return -EINVAL;
		}
	}
	return 0;
}

/* Walks the chain starting at last_avail_idx; always sets req->slots and req->id so a bad chain can
 * still be returned. */
static int packed_walk(struct vhost_vq *vq, struct vhost_req *req, uint16_t first_flags, const char **why)
{
	uint16_t idx = vq->last_avail_idx, flags = first_flags;
	bool wrap = vq->avail_wrap;
	int rc = 0;

	req->slots = 0;
	for (;;) {
		struct vring_packed_desc *d = &vq->packed.desc[idx];
		uint64_t addr = GUEST_READ(d->addr);
		uint32_t len = GUEST_READ(d->len);

		req->id = GUEST_READ(d->id);
		req->slots++;
		if (rc == 0) {
			if (flags & VRING_DESC_F_INDIRECT) {
				if (flags & VRING_DESC_F_NEXT || req->slots > 1) {
					*why = "indirect descriptor inside a chain";
					rc = -EINVAL;
				} else {
					rc = packed_walk_indirect(vq, req, addr, len, why);
				}
			} else if (vring_chain_add(vq, req, addr, len, flags & VRING_DESC_F_WRITE)) {
				*why = "buffer outside guest memory, out of order, or too many segments";
				rc = -EINVAL;
			}
		}
		if (!(flags & VRING_DESC_F_NEXT))
			return rc;
		if (req->slots >= vq->size) {
			*why = "chain longer than the queue";
			return -EIO;
		}
		advance(&idx, &wrap, 1, vq->size);
		flags = GUEST_READ_ACQUIRE(vq->packed.desc[idx].flags);
		if (!desc_is_avail(flags, wrap)) {
			*why = "chain continues into a descriptor that is not available";
			return -EIO;
		}
	}
}

static void packed_push(struct vhost_vq *vq, const struct vhost_req *req, uint32_t len)
{
	struct vring_packed_desc *d = &vq->packed.desc[vq->last_used_idx];
	uint16_t flags = vq->used_wrap ? DESC_AVAIL | DESC_USED : 0;

	if (len)
		flags |= VRING_DESC_F_WRITE;
	GUEST_WRITE(d->id, req->id);
	GUEST_WRITE(d->len, len);
	GUEST_WRITE_RELEASE(d->flags, flags); /* flags last: they hand the slot back */
	advance(&vq->last_used_idx, &vq->used_wrap, req->slots, vq->size);
	vq->call_pending = true;
}

static int packed_pop(struct vhost_vq *vq, struct vhost_req *req)
{
	for (;;) {
		uint16_t flags = GUEST_READ_ACQUIRE(vq->packed.desc[vq->last_avail_idx].flags);
		const char *why = NULL;
		int rc;

		if (!desc_is_avail(flags, vq->avail_wrap))
			return 0;
		vring_chain_begin(vq, req);
		rc = packed_walk(vq, req, flags, &why);
		if (rc == -EIO) {
			log_error("%s: queue %u: %s: ring corrupt", vhost_session_name(vq->session), vq->index, why);
			return -EIO;
		}
		advance(&vq->last_avail_idx, &vq->avail_wrap, req->slots, vq->size);
		if (rc == 0)
			return 1;
		vring_chain_reject(vq, why);
		packed_push(vq, req, 0);
	}
}

static bool packed_need_call(struct vhost_vq *vq)
{
	uint16_t new_idx = vq->last_used_idx, old_idx = vq->signalled_used, off_wrap, flags;
	bool valid = vq->signalled_valid;
	int event, old = old_idx;

	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	vq->signalled_used = new_idx;
	vq->signalled_valid = true;
	flags = GUEST_READ(vq->packed.driver_event->flags);
	if (flags != VRING_PACKED_EVENT_FLAG_DESC)
		return flags != VRING_PACKED_EVENT_FLAG_DISABLE;
	if (!valid)
		return true;
	off_wrap = GUEST_READ(vq->packed.driver_event->off_wrap);
	event = off_wrap & 0x7fff;
	/* Bring the three positions onto one line: indexes from before a wrap count negative. */
	if (new_idx <= old_idx)
		old -= vq->size;
	if (!!(off_wrap >> VRING_PACKED_EVENT_F_WRAP_CTR) != vq->used_wrap)
		event -= vq->size;
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

static void packed_set_notify(struct vhost_vq *vq, bool enable)
{
	GUEST_WRITE(vq->packed.device_event->flags,
		    enable ? VRING_PACKED_EVENT_FLAG_ENABLE : VRING_PACKED_EVENT_FLAG_DISABLE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* Bits 0-14: next available index, bit 15: its wrap counter (vhost-user.rst). */
static uint32_t packed_get_base(const struct vhost_vq *vq)
{
	return (uint32_t)vq->last_avail_idx | ((uint32_t)vq->avail_wrap << 15);
}

static void packed_set_base(struct vhost_vq *vq, uint32_t base)
{
	vq->last_avail_idx = base & 0x7fff;
	vq->avail_wrap = (base >> 15) & 1;
	vq->last_used_idx = vq->last_avail_idx;
	vq->used_wrap = vq->avail_wrap;
	vq->signalled_valid = false;
}

const struct vring_ops vring_packed_ops = {
	.attach = packed_attach,
	.pop = packed_pop,
	.push = packed_push,
	.need_call = packed_need_call,
	.set_notify = packed_set_notify,
	.get_base = packed_get_base,
	.set_base = packed_set_base,
};
