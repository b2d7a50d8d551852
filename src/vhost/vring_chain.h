/* Building a request from a descriptor chain: the checks both ring layouts share. */
#ifndef VHOSTD_VHOST_VRING_CHAIN_H
#define VHOSTD_VHOST_VRING_CHAIN_H

#include <stdatomic.h>

#include "vhost/vq.h"

/* Guest-shared fields are read once with these (no double fetch, no tearing). */
#define GUEST_READ(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define GUEST_READ_ACQUIRE(x) __atomic_load_n(&(x), __ATOMIC_ACQUIRE)
#define GUEST_WRITE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
#define GUEST_WRITE_RELEASE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELEASE)

/* Clears req before a chain is walked. */
void vring_chain_begin(struct vhost_vq *vq, struct vhost_req *req);
/* Adds one buffer: device-readable buffers must come before device-writable ones; lengths must not
 * overflow; the range must be mapped. 0 or -EINVAL. */
int vring_chain_add(struct vhost_vq *vq, struct vhost_req *req, uint64_t addr, uint32_t len, bool write);
/* Translates an indirect table (len a non-zero multiple of 16, mapped); NULL when invalid. */
const struct vring_desc *vring_indirect_table(struct vhost_vq *vq, uint64_t addr, uint32_t len, uint32_t *count);
/* Logs a malformed request (rate-limited) and counts it. */
void vring_chain_reject(struct vhost_vq *vq, const char *why);

#endif
