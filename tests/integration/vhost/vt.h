/*
 * Helpers for the hostile vhost-user tests: a real vhostd with blk controllers (vt_daemon.c) and
 * a hand-driven guest (vt_guest.c, vt_ring.c) that speaks the handshake one message at a time,
 * owns its own split or packed rings in shared memory and can therefore put anything on them.
 *
 * The guest negotiates INDIRECT_DESC, REPLY_ACK and, when asked, RING_PACKED or EVENT_IDX
 * (without it, it kicks for every chain and the device interrupts for every used buffer).
 * Requests complete one at a time: chains are laid out from a cursor that moves on with every
 * chain.
 */
#ifndef VHOSTD_TESTS_VT_H
#define VHOSTD_TESTS_VT_H

#include "daemon.h"
#include "tap.h"
#include "test_clock.h"
#include "frontend/frontend.h"

#include <linux/virtio_blk.h>
#include <linux/virtio_ring.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VT_WAIT_MS 5000 /* for an answer that must come */
#define VT_QUIET_MS 300 /* for one that must not */
#define VT_BLOCKS 2048 /* every malloc bdev: 1 MiB of 512-byte blocks */
#define VT_BLOCK_SIZE 512
#define VT_MAX_QUEUES 4

/* --- the daemon (vt_daemon.c) --- */


/* A malloc bdev "<ctrlr>_bdev" and a blk controller on it; false (recorded) on failure. */
bool vt_ctrlr_create(struct test_daemon *d, const char *ctrlr, bool packed);
/* Calls method; true when it succeeds. */
bool vt_rpc_ok(struct test_daemon *d, const char *method, const char *params);
/* Calls method expecting an error; returns its code (0 if it succeeded) and its message in msg. */
int vt_rpc_error(struct test_daemon *d, const char *method, const char *params, char *msg,
		 size_t len);
void vt_socket_path(struct test_daemon *d, const char *ctrlr, char *buf, size_t len);
/* Waits until the controller has no front-end any more. */
bool vt_wait_disconnected(struct test_daemon *d, const char *ctrlr);
/* The log so far: a mark, and whether a line containing needle was written after a mark. */
size_t vt_log_mark(struct test_daemon *d);
bool vt_log_has(struct test_daemon *d, size_t mark, const char *needle);
/* Waits up to VT_WAIT_MS for such a line. */
bool vt_log_wait(struct test_daemon *d, size_t mark, const char *needle);
/* The daemon's open fds, and its mappings of shared memory (guest memory, inflight areas: the
 * memfds; the allocator's own mappings come and go, under ASan especially). */
int vt_fd_count(struct test_daemon *d);
/* Waits (up to VT_WAIT_MS) for the fd count to be want; returns the last count seen. want < 0:
 * waits for it to hold still for a while and returns it. */
int vt_fd_settle(struct test_daemon *d, int want);
int vt_map_count(struct test_daemon *d);

/* main() of a hostile-test program: a daemon with a controller "bystander" connected through the
 * front-end library (*d and *bystander, for the tests), the tests, then proof that the bystander
 * still works and that the daemon stops cleanly. Returns the exit status. */
int vt_main(const struct tap_test *tests, int count, int argc, char **argv, struct test_daemon **d,
	    struct vu_front **bystander);
/* A connection by the front-end library (everything done right) and a write-read check on it. */
struct vu_front *vt_front_connect(struct test_daemon *d, const char *ctrlr, int nq, bool packed);
bool vt_front_io_ok(struct vu_front *f, int q, uint64_t sector);

/* --- the hand-driven guest (vt_guest.c) --- */

struct vt_guest_opts {
	int nq; /* queues (default 2) */
	uint16_t qsize; /* default 64 */
	bool packed;
	size_t mem_size; /* default 4 MiB */
	bool two_regions; /* memory in two regions: [0, M/2) at gpa 0, [M/2, M) at gpa M */
	bool dribble; /* every message goes out one byte per write */
	bool event_idx; /* split rings: negotiate EVENT_IDX and kick only when the device asks */
};

struct vt_guest;

/* Connects and runs the whole handshake; NULL (recorded) on failure. */
struct vt_guest *vt_guest_connect(struct test_daemon *d, const char *ctrlr,
				  const struct vt_guest_opts *o);
/* Connects only; then steps run one by one. */
struct vt_guest *vt_guest_open(struct test_daemon *d, const char *ctrlr,
			       const struct vt_guest_opts *o);
int vt_guest_nsteps(const struct vt_guest *g);
const char *vt_guest_step_name(const struct vt_guest *g, int i);
/* Runs step i of a QEMU-like handshake; 0, 1 (refused by a non-zero ack) or -errno. */
int vt_guest_step(struct vt_guest *g, int i);
/* The index of the step called name (for queue q when it is per queue), or -1. */
int vt_guest_step_index(const struct vt_guest *g, const char *name, int q);
/* Runs steps [from, to); true when all succeed (a failure is recorded). */
bool vt_guest_run(struct vt_guest *g, int from, int to);
/* Closes the socket at once (no stop sequence) and frees everything. */
void vt_guest_close(struct vt_guest *g);

int vt_guest_sock(struct vt_guest *g);
/* Sends a message; with NEED_REPLY waits for the ack and returns 0 (ack 0), 1 (ack non-zero) or
 * -errno. fds may be NULL. */
int vt_guest_call(struct vt_guest *g, uint32_t req, const void *payload, uint32_t size,
		  const int *fds, int nfds);
/* Sends without asking for an ack. */
int vt_guest_send(struct vt_guest *g, uint32_t req, uint32_t flags, const void *payload,
		  uint32_t size, const int *fds, int nfds);
/* Receives a message; returns its payload size or -errno (-ETIMEDOUT, -ECONNRESET on EOF). Fds
 * that come with it land in *fd (the first) or are closed. */
int vt_guest_recv(struct vt_guest *g, uint32_t *req, void *payload, uint32_t max, int *fd,
		  int timeout_ms);
/* Sends req and receives its reply into reply; returns the reply's size or -errno. */
int vt_guest_get(struct vt_guest *g, uint32_t req, const void *payload, uint32_t size, void *reply,
		 uint32_t max);
/* True when the back-end closed the connection (nothing else arrives) within VT_WAIT_MS. */
bool vt_guest_wait_eof(struct vt_guest *g);
/* The front-end addresses of queue q's descriptor, driver and device areas, and SET_VRING_ADDR
 * with any three (returns as vt_guest_call). */
void vt_guest_ring_addrs(struct vt_guest *g, int q, uint64_t uva[3]);
int vt_guest_set_ring_addrs(struct vt_guest *g, int q, const uint64_t uva[3]);
/* GET_VRING_BASE of queue q (stops it); -errno on failure. */
long vt_guest_get_base(struct vt_guest *g, int q);
/* Guest memory. */
void *vt_alloc(struct vt_guest *g, size_t size, size_t align);
uint64_t vt_gpa(struct vt_guest *g, const void *ptr);
uint8_t *vt_mem(struct vt_guest *g);
size_t vt_mem_size(struct vt_guest *g);
int vt_mem_fd(struct vt_guest *g);
/* Where the guest's own ring position starts (before the handshake): avail/used index (split) or
 * position and wrap counter (packed) in the SET_VRING_BASE encoding. */
void vt_guest_set_start(struct vt_guest *g, int q, uint32_t base);

/* A buffer of a chain. */
struct vt_buf {
	uint64_t gpa;
	uint32_t len;
	bool write;
};

/* Puts a well-formed chain (or one indirect descriptor pointing at a table holding it) on queue q
 * and makes it available; returns its head/id. */
int vt_put_chain(struct vt_guest *g, int q, const struct vt_buf *bufs, int n, bool indirect);
/* Waits for the next used buffer: 1 (id, len filled), 0 on timeout. */
int vt_wait_used(struct vt_guest *g, int q, int timeout_ms, uint16_t *id, uint32_t *len);
int vt_kick(struct vt_guest *g, int q);

/* Split rings, raw: the descriptor table, and publishing any head; the avail index may also be
 * set to anything. Raw chains use descriptors from vt_split_next_desc() on. */
struct vring_desc *vt_split_desc(struct vt_guest *g, int q);
uint16_t vt_split_next_desc(struct vt_guest *g, int q, uint16_t n);
void vt_split_publish(struct vt_guest *g, int q, uint16_t head);
void vt_split_set_avail_idx(struct vt_guest *g, int q, uint16_t idx);

/* Packed rings, raw: puts n descriptors (flags without AVAIL/USED, which are added) at the next
 * positions, the first one last, and kicks. All get the same id, the first one's position, which
 * is returned. */
int vt_packed_put(struct vt_guest *g, int q, const struct vring_packed_desc *descs, int n);

/* A virtio-blk request in guest memory: header, data (len bytes, may be 0), status byte. */
struct vt_blk {
	struct virtio_blk_outhdr *hdr;
	uint8_t *data;
	uint8_t *status;
	uint64_t hdr_gpa, data_gpa, status_gpa;
	uint32_t len;
};

void vt_blk_prepare(struct vt_guest *g, struct vt_blk *b, uint32_t type, uint64_t sector,
		    uint32_t len);
/* Its normal chain: header, data (device-writable for IN), status. Returns the buffer count. */
int vt_blk_bufs(const struct vt_blk *b, struct vt_buf *bufs);
/* A 4 KiB read on queue q through a well-formed chain: true when it completes with status OK
 * and the expected used length. */
bool vt_guest_io_ok(struct vt_guest *g, int q);

#endif
