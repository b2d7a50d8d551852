/* The hand-driven guest's rings (split and packed, well-formed or not) and virtio-blk requests. */
#include "vt_guest_int.h"

#include "tap.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define PACKED_AVAIL (1u << VRING_PACKED_DESC_F_AVAIL)
#define PACKED_USED (1u << VRING_PACKED_DESC_F_USED)
#define MAX_CHAIN 256 /* descriptors of one packed chain we lay out */

/* With EVENT_IDX the device's wishes sit after the rings: used_event after the avail ring,
 * avail_event after the used ring. */
static uint16_t *avail_event_of(struct vt_queue *vq)
{
	return (uint16_t *)&vq->used->ring[vq->num];
}

static uint16_t *used_event_of(struct vt_queue *vq)
{
	return &vq->avail->ring[vq->num];
}

/* The ring as a driver that stopped at position start leaves it. Packed: the descriptors before
 * it were used in this lap, the others in the previous one (zeroed memory is that for lap 1). */
static void ring_position(struct vt_queue *vq, bool packed)
{
	if (packed) {
		uint16_t pos = vq->start & 0x7fff;
		bool wrap = (vq->start >> 15) & 1;

		vq->next_avail = vq->next_used = pos;
		vq->avail_wrap = vq->used_wrap = wrap;
		for (uint16_t i = 0; i < vq->num; i++)
			vq->ring[i].flags = (i < pos) == wrap ? PACKED_AVAIL | PACKED_USED : 0;
	} else {
		vq->avail_idx = vq->used_idx = (uint16_t)vq->start;
		vq->avail->idx = vq->used->idx = (uint16_t)vq->start;
		*used_event_of(vq) = (uint16_t)vq->start;
	}
}

void vt_guest_set_start(struct vt_guest *g, int q, uint32_t base)
{
	g->q[q].start = base;
	ring_position(&g->q[q], g->o.packed);
}

int vt_queue_init(struct vt_guest *g, struct vt_queue *vq)
{
	uint16_t n = g->o.qsize;

	vq->num = n;
	vq->kick = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	vq->call = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	vq->slots_of = calloc(n, sizeof(*vq->slots_of));
	if (vq->kick < 0 || vq->call < 0 || !vq->slots_of)
		return -ENOMEM;
	if (g->o.packed) {
		vq->ring = vt_alloc(g, 16u * n, 4096);
		vq->driver = vt_alloc(g, sizeof(*vq->driver), 4);
		vq->device = vt_alloc(g, sizeof(*vq->device), 4);
	} else {
		vq->desc = vt_alloc(g, 16u * n, 4096);
		vq->avail = vt_alloc(g, 4 + 2u * n + 2, 4096);
		vq->used = vt_alloc(g, 4 + 8u * n + 2, 4096);
	}
	ring_position(vq, g->o.packed);
	return 0;
}

void vt_queue_fini(struct vt_queue *vq)
{
	if (vq->kick >= 0)
		close(vq->kick);
	if (vq->call >= 0)
		close(vq->call);
	free(vq->slots_of);
}

int vt_kick(struct vt_guest *g, int q)
{
	return eventfd_write(g->q[q].kick, 1) < 0 ? -errno : 0;
}

struct vring_desc *vt_split_desc(struct vt_guest *g, int q)
{
	return g->q[q].desc;
}

uint16_t vt_split_next_desc(struct vt_guest *g, int q, uint16_t n)
{
	struct vt_queue *vq = &g->q[q];
	uint16_t first;

	if (vq->next_desc + n > vq->num)
		vq->next_desc = 0;
	first = vq->next_desc;
	vq->next_desc = (uint16_t)((first + n) % vq->num);
	return first;
}

void vt_split_publish(struct vt_guest *g, int q, uint16_t head)
{
	struct vt_queue *vq = &g->q[q];
	uint16_t old = vq->avail_idx, event;

	vq->avail->ring[vq->avail_idx % vq->num] = head;
	vq->avail_idx++;
	__atomic_store_n(&vq->avail->idx, vq->avail_idx, __ATOMIC_RELEASE);
	/* As a Linux driver does: the index visible before the device's wish is read. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	event = __atomic_load_n(avail_event_of(vq), __ATOMIC_RELAXED);
	if (!g->o.event_idx || vring_need_event(event, vq->avail_idx, old))
		vt_kick(g, q);
}

void vt_split_set_avail_idx(struct vt_guest *g, int q, uint16_t idx)
{
	struct vt_queue *vq = &g->q[q];

	vq->avail_idx = idx;
	__atomic_store_n(&vq->avail->idx, idx, __ATOMIC_RELEASE);
	vt_kick(g, q);
}

static uint16_t packed_avail_bits(bool wrap)
{
	return wrap ? PACKED_AVAIL : PACKED_USED;
}

int vt_packed_put(struct vt_guest *g, int q, const struct vring_packed_desc *descs, int n)
{
	struct vt_queue *vq = &g->q[q];
	uint16_t head = vq->next_avail, pos = head, head_flags = 0;
	bool wrap = vq->avail_wrap;

	for (int i = 0; i < n; i++) {
		struct vring_packed_desc *d = &vq->ring[pos];
		uint16_t flags = descs[i].flags | packed_avail_bits(wrap);

		d->addr = descs[i].addr;
		d->len = descs[i].len;
		d->id = head;
		if (i == 0)
			head_flags = flags;
		else
			__atomic_store_n(&d->flags, flags, __ATOMIC_RELEASE);
		if (++pos == vq->num) {
			pos = 0;
			wrap = !wrap;
		}
	}
	vq->slots_of[head] = (uint16_t)n;
	/* The head's flags last: they hand the whole chain over. */
	__atomic_store_n(&vq->ring[head].flags, head_flags, __ATOMIC_RELEASE);
	vq->next_avail = pos;
	vq->avail_wrap = wrap;
	vt_kick(g, q);
	return head;
}

static int split_put_chain(struct vt_guest *g, int q, const struct vt_buf *bufs, int n,
			   bool indirect)
{
	struct vt_queue *vq = &g->q[q];
	uint16_t head = vt_split_next_desc(g, q, indirect ? 1 : (uint16_t)n);

	if (indirect) {
		struct vring_desc *table = vt_alloc(g, 16u * n, 16);

		for (int i = 0; i < n; i++)
			table[i] = (struct vring_desc){ bufs[i].gpa, bufs[i].len,
							(bufs[i].write ? VRING_DESC_F_WRITE : 0) |
								(i + 1 < n ? VRING_DESC_F_NEXT : 0),
							(uint16_t)(i + 1 < n ? i + 1 : 0) };
		vq->desc[head] =
			(struct vring_desc){ vt_gpa(g, table), 16u * n, VRING_DESC_F_INDIRECT, 0 };
	} else {
		for (int i = 0; i < n; i++)
			vq->desc[head + i] =
				(struct vring_desc){ bufs[i].gpa, bufs[i].len,
						     (bufs[i].write ? VRING_DESC_F_WRITE : 0) |
							     (i + 1 < n ? VRING_DESC_F_NEXT : 0),
						     (uint16_t)(head + i + 1) };
	}
	vt_split_publish(g, q, head);
	return head;
}

static int packed_put_chain(struct vt_guest *g, int q, const struct vt_buf *bufs, int n,
			    bool indirect)
{
	struct vring_packed_desc descs[MAX_CHAIN];

	if (indirect) {
		struct vring_packed_desc *table = vt_alloc(g, 16u * n, 16);

		for (int i = 0; i < n; i++)
			table[i] = (struct vring_packed_desc){ bufs[i].gpa, bufs[i].len, 0,
							       bufs[i].write ? VRING_DESC_F_WRITE
									     : 0 };
		descs[0] = (struct vring_packed_desc){ vt_gpa(g, table), 16u * n, 0,
						       VRING_DESC_F_INDIRECT };
		return vt_packed_put(g, q, descs, 1);
	}
	if (n > MAX_CHAIN)
		return -E2BIG;
	for (int i = 0; i < n; i++)
		descs[i] =
			(struct vring_packed_desc){ bufs[i].gpa, bufs[i].len, 0,
						    (bufs[i].write ? VRING_DESC_F_WRITE : 0) |
							    (i + 1 < n ? VRING_DESC_F_NEXT : 0) };
	return vt_packed_put(g, q, descs, n);
}

int vt_put_chain(struct vt_guest *g, int q, const struct vt_buf *bufs, int n, bool indirect)
{
	return g->o.packed ? packed_put_chain(g, q, bufs, n, indirect)
			   : split_put_chain(g, q, bufs, n, indirect);
}

/* One used buffer if there is one: 1, else 0. */
static int used_pop(struct vt_guest *g, struct vt_queue *vq, uint16_t *id, uint32_t *len)
{
	if (g->o.packed) {
		struct vring_packed_desc *d = &vq->ring[vq->next_used];
		uint16_t flags = __atomic_load_n(&d->flags, __ATOMIC_ACQUIRE), slots;

		if (!!(flags & PACKED_AVAIL) != vq->used_wrap ||
		    !!(flags & PACKED_USED) != vq->used_wrap)
			return 0;
		*id = d->id;
		*len = d->len;
		slots = *id < vq->num && vq->slots_of[*id] ? vq->slots_of[*id] : 1;
		vq->next_used += slots;
		if (vq->next_used >= vq->num) {
			vq->next_used -= vq->num;
			vq->used_wrap = !vq->used_wrap;
		}
		return 1;
	}
	if (__atomic_load_n(&vq->used->idx, __ATOMIC_ACQUIRE) == vq->used_idx)
		return 0;
	*id = (uint16_t)vq->used->ring[vq->used_idx % vq->num].id;
	*len = vq->used->ring[vq->used_idx % vq->num].len;
	vq->used_idx++;
	if (g->o.event_idx) /* interrupt for the next one */
		__atomic_store_n(used_event_of(vq), vq->used_idx, __ATOMIC_RELEASE);
	return 1;
}

int vt_wait_used(struct vt_guest *g, int q, int timeout_ms, uint16_t *id, uint32_t *len)
{
	struct vt_queue *vq = &g->q[q];
	long long deadline = test_now_ms() + timeout_ms;

	for (;;) {
		struct pollfd pfd = { .fd = vq->call, .events = POLLIN };
		eventfd_t v;

		if (used_pop(g, vq, id, len))
			return 1;
		if (test_now_ms() >= deadline)
			return 0;
		if (poll(&pfd, 1, 10) > 0)
			eventfd_read(vq->call, &v);
	}
}

/* --- virtio-blk --- */

void vt_blk_prepare(struct vt_guest *g, struct vt_blk *b, uint32_t type, uint64_t sector,
		    uint32_t len)
{
	b->hdr = vt_alloc(g, sizeof(*b->hdr), 16);
	b->data = len ? vt_alloc(g, len, 512) : NULL;
	b->status = vt_alloc(g, 1, 1);
	b->hdr_gpa = vt_gpa(g, b->hdr);
	b->data_gpa = len ? vt_gpa(g, b->data) : 0;
	b->status_gpa = vt_gpa(g, b->status);
	b->len = len;
	b->hdr->type = type;
	b->hdr->sector = sector;
	/* Poison: a device that never writes them is caught. */
	*b->status = 0xff;
	if (len && type == VIRTIO_BLK_T_IN)
		memset(b->data, 0xee, len);
}

int vt_blk_bufs(const struct vt_blk *b, struct vt_buf *bufs)
{
	int n = 0;

	bufs[n++] = (struct vt_buf){ b->hdr_gpa, sizeof(*b->hdr), false };
	if (b->len)
		bufs[n++] = (struct vt_buf){ b->data_gpa, b->len, b->hdr->type == VIRTIO_BLK_T_IN };
	bufs[n++] = (struct vt_buf){ b->status_gpa, 1, true };
	return n;
}

bool vt_guest_io_ok(struct vt_guest *g, int q)
{
	struct vt_blk b;
	struct vt_buf bufs[3];
	uint16_t id;
	uint32_t len;
	int n, head;

	vt_blk_prepare(g, &b, VIRTIO_BLK_T_IN, 8, 4096);
	n = vt_blk_bufs(&b, bufs);
	head = vt_put_chain(g, q, bufs, n, false);
	if (vt_wait_used(g, q, VT_WAIT_MS, &id, &len) != 1) {
		printf("# queue %d: a good read got no answer\n", q);
		return false;
	}
	if (id != head || len != 4096 + 1 || *b.status != VIRTIO_BLK_S_OK) {
		printf("# queue %d: good read: id %u (want %d) len %u status %u\n", q, id, head,
		       len, *b.status);
		return false;
	}
	return true;
}
