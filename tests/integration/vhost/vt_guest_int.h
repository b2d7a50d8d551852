/* The hand-driven guest's state, shared by vt_guest.c (connection, messages, handshake) and
 * vt_ring.c (rings and requests). */
#ifndef VHOSTD_TESTS_VT_GUEST_INT_H
#define VHOSTD_TESTS_VT_GUEST_INT_H

#include "vt.h"

struct vt_queue {
	uint16_t num;
	int kick, call;
	uint32_t start;
	/* split */
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t avail_idx, used_idx, next_desc;
	/* packed */
	struct vring_packed_desc *ring;
	struct vring_packed_desc_event *driver, *device;
	uint16_t next_avail, next_used;
	bool avail_wrap, used_wrap;
	uint16_t *slots_of; /* ring slots the chain with this id took */
};

struct vt_guest {
	struct vu_front *f;
	int sock;
	struct vt_guest_opts o;
	uint8_t *mem;
	size_t mem_size, alloc_off;
	uint64_t offered, features, protocol_features;
	bool reply_ack;
	int backend_fd, inflight_fd;
	struct vt_wire_inflight {
		uint64_t mmap_size, mmap_offset;
		uint16_t num_queues, queue_size;
		uint32_t padding;
	} inflight;
	struct vt_queue q[VT_MAX_QUEUES];
};

/* vt_ring.c: a queue's rings in guest memory and its eventfds. */
int vt_queue_init(struct vt_guest *g, struct vt_queue *vq);
void vt_queue_fini(struct vt_queue *vq);

#endif
