/*
 * Inflight I/O tracking (INFLIGHT_SHMFD, vhost-user.rst "Inflight I/O tracking"): a shared memory
 * area, one region per queue, in which the back-end marks the split-ring heads it has taken and not
 * yet returned. It outlives a crash of the back-end: the front-end keeps the fd and hands it back
 * (SET_INFLIGHT_FD) to the next back-end instance, which can resubmit what was marked.
 */
#ifndef VHOSTD_VHOST_INFLIGHT_H
#define VHOSTD_VHOST_INFLIGHT_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/virtio_ring.h>

struct vhost_inflight;
struct vhost_inflight_queue;

/* GET_INFLIGHT_FD: creates a zeroed area for num_queues queues of queue_size; returns its fd
 * (the caller sends, then closes it) and size. */
int vhost_inflight_create(uint16_t num_queues, uint16_t queue_size, struct vhost_inflight **out,
			  int *fd, uint64_t *size);
/* SET_INFLIGHT_FD: maps an area the front-end kept. Takes the fd. */
int vhost_inflight_attach(int fd, uint64_t size, uint64_t offset, uint16_t num_queues,
			  uint16_t queue_size, struct vhost_inflight **out);
void vhost_inflight_free(struct vhost_inflight *inf);
/* True when the front-end shrank the area's file under us (see mem_guard.h). */
bool vhost_inflight_tripped(const struct vhost_inflight *inf);
/* The region of queue q (NULL when q is beyond the area or the queue size differs). */
struct vhost_inflight_queue *vhost_inflight_queue(struct vhost_inflight *inf, uint16_t q, uint16_t queue_size);

/* Worker, split rings: get when a head is taken (counter: a per-queue number that grows with every
 * head, so resubmission can keep the original order); put_batch once the used ring's index has
 * moved past a batch of returned heads, with that index. A back-end dying between the two leaves
 * the area's used index behind the guest's: recovery reads the heads in between from the ring. */
void vhost_inflight_get(struct vhost_inflight_queue *iq, uint16_t head, uint64_t counter);
void vhost_inflight_put_batch(struct vhost_inflight_queue *iq, const uint16_t *heads, unsigned n,
			      uint16_t used_idx);

/* Queue start: finishes the returns the previous back-end was cut off in (the heads between the
 * area's used index and the guest's used ring index), then lists the heads below size still in
 * flight, oldest first, into heads (room for size). Returns how many, and the highest counter
 * seen in *counter. */
int vhost_inflight_recover(struct vhost_inflight_queue *iq, uint16_t size,
			   const struct vring_used *used, uint16_t *heads, uint64_t *counter);

#endif
