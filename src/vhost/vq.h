/*
 * A virtqueue's state and the ring code's interface (internal to src/vhost).
 *
 * Fields under "config" are written by the control thread while the queue is stopped; fields under
 * "runtime" belong to the worker while it runs. vring_split.c and vring_packed.c implement the same
 * five operations over the two ring layouts; dev.c picks one per queue.
 */
#ifndef VHOSTD_VHOST_VQ_H
#define VHOSTD_VHOST_VQ_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/virtio_ring.h>

#include "vhost/vhost.h"

struct vhost_session;
struct reactor;
struct poller;
struct reactor_fd;
struct vhost_inflight_queue;

struct vring_ops {
	/* Checks ring addresses once at start; 0 or -EINVAL. */
	int (*attach)(struct vhost_vq *vq);
	/* Pops the next request into req: 1 popped, 0 empty, -EIO ring corrupt (queue must stop).
	 * A request whose chain is malformed is returned to the guest here with length 0 and the
	 * call goes on to the next one. */
	int (*pop)(struct vhost_vq *vq, struct vhost_req *req);
	/* Returns req to the guest. A split ring only writes the used element: the index moves
	 * for a whole batch in publish (one store the guest's CPU sees, not one per request). */
	void (*push)(struct vhost_vq *vq, const struct vhost_req *req, uint32_t len);
	/* Makes what was pushed visible: split rings only (packed: NULL, push publishes). */
	void (*publish)(struct vhost_vq *vq);
	/* Should the guest be interrupted for what was pushed since the last call? */
	bool (*need_call)(struct vhost_vq *vq);
	void (*set_notify)(struct vhost_vq *vq, bool enable);
	/* Builds req from the chain at head without touching the avail ring (resubmission after a
	 * back-end restart): 1, or 0 when the chain was bad and went back empty. Split rings only. */
	int (*pop_head)(struct vhost_vq *vq, struct vhost_req *req, uint16_t head);
	/* Encodes/decodes the ring position for SET/GET_VRING_BASE. */
	uint32_t (*get_base)(const struct vhost_vq *vq);
	void (*set_base)(struct vhost_vq *vq, uint32_t base);
};

extern const struct vring_ops vring_split_ops;
extern const struct vring_ops vring_packed_ops;

struct vhost_vq {
	/* config */
	struct vhost_session *session;
	uint16_t index;
	uint16_t size;
	uint64_t desc_uva, avail_uva, used_uva;
	int kick_fd, call_fd;
	bool addr_set, kick_set, enabled;
	bool kick_polled; /* SET_VRING_KICK with the no-fd flag: poll only */
	uint64_t features; /* negotiated, copied at start */
	const struct vring_ops *ring;
	uint32_t base;      /* SET_VRING_BASE value, applied when the queue next starts */
	bool base_pending;

	/* ring position (config while stopped, runtime while started) */
	uint16_t last_avail_idx, last_used_idx, signalled_used;
	bool avail_wrap, used_wrap; /* packed */
	bool signalled_valid;

	/* ring pointers, resolved at start */
	union {
		struct {
			struct vring_desc *desc;
			struct vring_avail *avail;
			struct vring_used *used;
		} split;
		struct {
			struct vring_packed_desc *desc;
			struct vring_packed_desc_event *driver_event;
			struct vring_packed_desc_event *device_event;
		} packed;
	};

	/* runtime */
	struct reactor *worker;
	struct poller *poller;
	struct reactor_fd *kick_rfd;
	bool started, stopping, broken, call_pending;
	bool publish_pending; /* pushed since the last publish */
	bool memory_lost; /* the front-end shrank shared memory: the session is being dropped */
	bool notify_on; /* the reactor asked for guest notifications (kicks) */
	uint32_t inflight;
	void *priv;
	uint8_t *req_pool;
	struct vhost_req **free_reqs;
	uint32_t free_count;
	struct vhost_inflight_queue *inflight_log;
	uint64_t inflight_counter;
	uint16_t *returned; /* heads pushed but not yet published, for the inflight area */
	uint16_t returned_count;
	/* heads a previous back-end left in flight, to run before anything new */
	uint16_t *resubmit;
	uint16_t resubmit_count, resubmit_next;
	/* coalescing */
	uint32_t coalesce_delay_us, coalesce_iops_threshold;
	uint64_t coalesce_window_start_us, coalesce_window_ios, last_call_us;
	bool coalescing_active;
	uint64_t requests, bad_requests;
};

#endif
