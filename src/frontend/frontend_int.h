/*
 * Private state of the front-end library, shared by its files: frontend_msg.c (socket, messages),
 * frontend_mem.c (guest memory), frontend_queue.c (queues, dispatch to a ring layout),
 * frontend_split.c / frontend_packed.c (the two ring layouts), frontend_connect.c (handshake).
 */
#ifndef VHOSTD_FRONTEND_INT_H
#define VHOSTD_FRONTEND_INT_H

#include "frontend/frontend.h"
#include "frontend/vu_wire.h"

#include <linux/virtio_ring.h>

#define VU_FRONT_MAX_REGIONS VU_MEM_TABLE_MAX_REGIONS
#define VU_FRONT_MAX_QUEUES 64
/* Descriptors per indirect table: one table per in-flight request, preallocated. */
#define VU_FRONT_INDIRECT_MAX 64

struct vu_region {
	uint64_t gpa;
	uint64_t size;
	uint64_t offset; /* into the memfd, also the region's offset in the host mapping */
};

struct vu_mem {
	int fd;
	uint8_t *base;   /* one mapping of the whole memfd */
	size_t size;
	int nregions;
	struct vu_region regions[VU_FRONT_MAX_REGIONS];
	size_t alloc_off;   /* bump allocator position (memfd offset) */
	size_t buffers_off; /* where buffers start, past the rings */
};

/* One in-flight request, indexed by head descriptor (split) or buffer id (packed). */
struct vu_slot {
	void *cookie;
	uint16_t ndesc; /* ring descriptors the chain holds */
	uint16_t last;  /* split: last descriptor of the chain */
	bool busy;
};

struct vu_queue;

/* A ring layout: split or packed. */
struct vu_ring_ops {
	int (*init)(struct vu_queue *q);
	void (*fini)(struct vu_queue *q);
	/* Adds a chain; the device may not see it before publish(). Returns slot or -errno. */
	int (*add)(struct vu_queue *q, const struct vu_buf *bufs, int n, bool indirect,
		   void *cookie);
	/* Makes every added chain visible; returns true when the device wants a kick. */
	bool (*publish)(struct vu_queue *q);
	int (*poll)(struct vu_queue *q, void **cookie, uint32_t *len);
	/* Enables or suppresses used notifications; returns true if used entries are pending. */
	bool (*set_notify)(struct vu_queue *q, bool enable);
	uint32_t (*base)(const struct vu_queue *q); /* SET_VRING_BASE value */
};

extern const struct vu_ring_ops vu_split_ops;
extern const struct vu_ring_ops vu_packed_ops;

struct vu_queue {
	struct vu_front *f;
	const struct vu_ring_ops *ops;
	int index;
	uint16_t num;
	bool event_idx;
	bool indirect_ok;
	bool busy_poll;
	bool notify_on;         /* used notifications currently wanted */
	int kick_fd;
	int call_fd;
	/* Guest memory of the ring: descriptor area, driver area, device area. */
	uint64_t desc_gpa, driver_gpa, device_gpa;
	void *desc, *driver, *device;
	/* Indirect tables, VU_FRONT_INDIRECT_MAX entries per slot. */
	uint64_t ind_gpa;
	uint8_t *ind;
	struct vu_slot *slots;
	uint16_t num_free;      /* free ring descriptors */
	uint16_t last_used;     /* next used entry to read */
	uint16_t kicked;        /* avail position at the last notification decision */
	/* split */
	uint16_t *next_free;    /* private free list / chain links of descriptors */
	uint16_t free_head;
	uint16_t avail_idx;     /* shadow of avail->idx including unpublished chains */
	/* packed */
	uint16_t *free_ids;     /* stack of free buffer ids */
	uint16_t nfree_ids;
	uint16_t next_avail;
	bool avail_wrap;
	bool used_wrap;
	bool kicked_wrap;
};

struct vu_front {
	int sock;
	int backend_fd; /* our end of the BACKEND_REQ socketpair */
	int timeout_ms;
	uint64_t features;       /* negotiated virtio features */
	uint64_t protocol_features;
	bool reply_ack;
	bool vring_enable; /* protocol features in use: rings wait for SET_VRING_ENABLE */
	bool busy_poll;
	bool started;
	struct vu_mem mem;
	int nqueues;
	struct vu_queue queues[VU_FRONT_MAX_QUEUES];
	void *inflight;
	size_t inflight_size;
	int inflight_fd;
};

/* frontend_msg.c */
int vu_msg_send_fd(int fd, uint32_t request, uint32_t flags, const void *payload, uint32_t size,
		   const int *fds, int nfds);
/* Receives one message; *nfds in: room in fds, out: fds kept. A payload beyond max is an error. */
int vu_msg_recv_fd(int fd, struct vu_msg_hdr *hdr, void *payload, uint32_t max, int *fds,
		   int *nfds, int timeout_ms);
/* Sends a request that has no reply of its own, waiting for the REPLY_ACK when negotiated. */
int vu_msg_call(struct vu_front *f, uint32_t request, const void *payload, uint32_t size,
		const int *fds, int nfds);
/* Sends a request whose reply (same request, exactly reply_size bytes) lands in reply. */
int vu_msg_get(struct vu_front *f, uint32_t request, const void *payload, uint32_t size,
	       void *reply, uint32_t reply_size, int *fd_out);
int vu_msg_call_u64(struct vu_front *f, uint32_t request, uint64_t value);
int vu_msg_get_u64(struct vu_front *f, uint32_t request, uint64_t *value);

/* frontend_mem.c */
int vu_mem_init(struct vu_mem *m, size_t size, int nregions);
void vu_mem_fini(struct vu_mem *m);
void *vu_mem_alloc(struct vu_mem *m, size_t size, size_t align, uint64_t *gpa);
void *vu_mem_translate(const struct vu_mem *m, uint64_t gpa, uint64_t len);
/* gpa of a host pointer into guest memory whose [ptr, ptr+len) lies in one region, or -EFAULT. */
int vu_mem_host_to_gpa(const struct vu_mem *m, const void *ptr, size_t len, uint64_t *gpa);
void vu_mem_wire_region(const struct vu_mem *m, int i, struct vu_wire_mem_region *out);

/* frontend_queue.c */
int vu_queue_init(struct vu_front *f, int index, uint16_t num, bool packed);
void vu_queue_fini(struct vu_queue *q);
/* The indirect table of a slot (VU_FRONT_INDIRECT_MAX entries of 16 bytes) and its gpa. */
void *vu_queue_indirect(struct vu_queue *q, uint16_t slot, uint64_t *gpa);
/* The queue, or NULL when q is out of range. */
struct vu_queue *vu_front_queue(struct vu_front *f, int q);

/* Full barrier between our ring writes and reading the device's notification fields. */
static inline void vu_mb(void)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

#endif
