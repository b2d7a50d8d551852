/*
 * A vhost-user front-end (the role QEMU plays), as a small library for tests, fuzzers and
 * vhost-bench.
 *
 * It owns a memfd "guest memory" shared with the back-end (one region, guest-physical address 0,
 * or several regions when asked), negotiates features, sets up N split or packed virtqueues with
 * kick/call eventfds, and offers request helpers for virtio-blk (and later virtio-scsi). Raw access
 * (descriptor tables, rings, arbitrary vhost-user messages) lets tests build hostile input on
 * purpose. Wire constants for raw messages are in frontend/vu_wire.h.
 *
 * Not thread-safe: one thread drives one front-end.
 */
#ifndef VHOSTD_FRONTEND_H
#define VHOSTD_FRONTEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct vu_front;

struct vu_front_opts {
	const char *path;          /* back-end's Unix socket */
	size_t mem_size;           /* guest memory bytes (default 64 MiB) */
	int num_queues;            /* request queues to enable (default 1) */
	uint16_t queue_size;       /* default 128 */
	bool packed;               /* VIRTIO_F_RING_PACKED */
	bool no_event_idx;         /* do not negotiate VIRTIO_RING_F_EVENT_IDX */
	bool no_indirect;          /* do not negotiate VIRTIO_RING_F_INDIRECT_DESC */
	uint64_t want_features;    /* device feature bits (0-23) to ask for; ~0 = all offered. The
				    * transport bits follow the options above. */
	uint64_t want_protocol_features; /* 0 = every one this library knows */
	bool busy_poll;            /* suppress call notifications and poll the used ring */
	int connect_timeout_ms;    /* default 5000; also the wait for each reply */
	/* Guest memory regions (default 1, at most 8). With several, region i sits at gpa
	 * 2*i*size (holes between them); each goes in its own ADD_MEM_REG when
	 * CONFIGURE_MEM_SLOTS is agreed, else all in one SET_MEM_TABLE. */
	int mem_regions;
};

/* want_protocol_features value that asks for no protocol feature at all. */
#define VU_FRONT_PROTO_NONE (1ULL << 63)

/* Connects and runs the whole handshake up to DRIVER_OK with every queue started. NULL + errno
 * on failure; *err (if given) gets a static description. */
struct vu_front *vu_front_connect(const struct vu_front_opts *opts, const char **err);
/* Connects the socket only (no messages); the caller drives the handshake with the raw calls. */
struct vu_front *vu_front_connect_raw(const char *path, size_t mem_size, int timeout_ms);
void vu_front_close(struct vu_front *f);

uint64_t vu_front_features(const struct vu_front *f);          /* negotiated virtio features */
uint64_t vu_front_protocol_features(const struct vu_front *f);
int vu_front_num_queues(const struct vu_front *f);
/* GET_CONFIG of len bytes (<= 256) from offset 0; -EOPNOTSUPP without the CONFIG feature. */
int vu_front_get_config(struct vu_front *f, void *buf, uint32_t len);
/* Bytes of the inflight area the back-end handed over (0 when none). */
size_t vu_front_inflight_size(const struct vu_front *f);

/* Guest memory: bump allocator inside the shared region. Returns a host pointer, gpa in *gpa. */
void *vu_front_alloc(struct vu_front *f, size_t size, size_t align, uint64_t *gpa);
void vu_front_free_all_buffers(struct vu_front *f); /* resets the allocator past the rings */
void *vu_front_gpa_to_ptr(struct vu_front *f, uint64_t gpa);  /* NULL outside guest memory */
/* The host mapping of all regions back to back (gpa 0 is base only for region 0). */
void *vu_front_mem_base(struct vu_front *f);
size_t vu_front_mem_size(struct vu_front *f);
int vu_front_mem_fd(struct vu_front *f);

/* A buffer in a descriptor chain: gpa and length, device-writable or not. */
struct vu_buf {
	uint64_t gpa;
	uint32_t len;
	bool write;
};

/* Adds a chain (indirect if indirect=true) and makes it available; kicks unless the device
 * suppressed notifications. Returns the head id (>= 0) or -ENOSPC. cookie comes back from poll. */
int vu_front_submit(struct vu_front *f, int q, const struct vu_buf *bufs, int n, bool indirect,
		    void *cookie);
/* The same in two steps, to batch: enqueue adds a chain without telling the device (a packed ring
 * exposes it at once, a split ring on notify); notify publishes what was added and kicks unless
 * the device suppressed notifications (event idx aware). */
int vu_front_enqueue(struct vu_front *f, int q, const struct vu_buf *bufs, int n, bool indirect,
		     void *cookie);
int vu_front_notify(struct vu_front *f, int q);
/* Pops one used element: returns 1 with cookie/len, 0 when none, -errno on error (-EPROTO when
 * the device returns an id that is not in flight). */
int vu_front_poll(struct vu_front *f, int q, void **cookie, uint32_t *len);
/* Blocks until a used element arrives or timeout_ms passes (uses the call eventfd). 1/0/-errno. */
int vu_front_wait(struct vu_front *f, int q, int timeout_ms, void **cookie, uint32_t *len);
int vu_front_kick(struct vu_front *f, int q);   /* unconditional */
int vu_front_call_fd(struct vu_front *f, int q);
/* Asks for a call notification on the next used element (for a caller that sleeps on call fds
 * itself); returns 1 if used elements are already pending, so do not sleep. On a busy_poll
 * front-end notifications then stay on until the next vu_front_wait returns. */
int vu_front_arm(struct vu_front *f, int q);

/* Raw ring access (split rings): build hostile chains on purpose. The library's free list does
 * not know about raw chains: use a queue with nothing of its own in flight. */
struct vring_desc;
struct vring_desc *vu_front_split_desc(struct vu_front *f, int q);
/* Publishes head as the next avail entry (no validation) and kicks. */
void vu_front_split_publish(struct vu_front *f, int q, uint16_t head);
uint16_t vu_front_queue_size(const struct vu_front *f, int q);

/* Raw vhost-user messages. recv returns payload size or -errno. */
int vu_front_send_msg(struct vu_front *f, uint32_t request, uint32_t flags, const void *payload,
		      uint32_t size, const int *fds, int nfds);
int vu_front_recv_msg(struct vu_front *f, uint32_t *request, uint32_t *flags, void *payload,
		      uint32_t max, int timeout_ms);
int vu_front_socket_fd(struct vu_front *f);
/* The back-end request channel (BACKEND_REQ): fd of our end, or -1. */
int vu_front_backend_fd(struct vu_front *f);
/* Receives one back-end request (e.g. VU_BACKEND_CONFIG_CHANGE_MSG), acking it when the back-end
 * asked for a reply. Returns payload size or -errno (-ETIMEDOUT, -ENOTCONN without channel). */
int vu_front_backend_recv(struct vu_front *f, uint32_t *request, void *payload, uint32_t max,
			  int timeout_ms);

/* virtio-blk helpers: synchronous single request on queue q. Returns the virtio status byte
 * (VIRTIO_BLK_S_*) or -errno. For IN/OUT, buf/len is the data; for DISCARD/WRITE_ZEROES buf holds
 * the segments. */
int vu_blk_request(struct vu_front *f, int q, uint32_t type, uint64_t sector, void *buf,
		   uint32_t len);
/* The same, optionally through an indirect table. buf may point into guest memory (no bounce).
 * The queue should have nothing else in flight: other completions are dropped. */
int vu_blk_request_opt(struct vu_front *f, int q, uint32_t type, uint64_t sector, void *buf,
		       uint32_t len, bool indirect);

#endif
