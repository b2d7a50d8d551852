/*
 * A session's map of guest memory: the regions the front-end shared (SET_MEM_TABLE, ADD_MEM_REG),
 * mmap'ed here. Every address the guest gives is translated through it; a range that is not wholly
 * inside mapped regions does not translate. Changed only by the control thread while no queue of
 * the session runs; read by workers while queues run.
 */
#ifndef VHOSTD_VHOST_MEM_H
#define VHOSTD_VHOST_MEM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vhost/user_proto.h"

#define VHOST_MEM_MAX_REGIONS 32

struct vhost_mem_region {
	uint64_t gpa;
	uint64_t size;
	uint64_t uva; /* the front-end's own virtual address (ring addresses use these) */
	uint8_t *host; /* where gpa maps in this process */
	void *mmap_addr;
	size_t mmap_size;
	int guard; /* mem_guard slot */
};

struct vhost_mem {
	uint32_t nregions;
	struct vhost_mem_region regions[VHOST_MEM_MAX_REGIONS];
};

/* Maps one region from fd (the fd is not kept). -EINVAL for bad sizes, overlap or a file smaller
 * than the region claims; -ENOSPC when full. */
int vhost_mem_add(struct vhost_mem *m, const struct vhost_user_mem_region *r, int fd);
/* Unmaps the region with the same gpa and size; -ENOENT if none. */
int vhost_mem_remove(struct vhost_mem *m, const struct vhost_user_mem_region *r);
void vhost_mem_clear(struct vhost_mem *m);

/* True when the front-end shrank a region's file under us (see mem_guard.h). */
bool vhost_mem_tripped(const struct vhost_mem *m);
/* Host pointer for [gpa, gpa+len) when it lies inside one region, else NULL. */
void *vhost_mem_gpa_to_ptr(const struct vhost_mem *m, uint64_t gpa, uint64_t len);
/* Same for front-end virtual addresses (vring addresses). */
void *vhost_mem_uva_to_ptr(const struct vhost_mem *m, uint64_t uva, uint64_t len);
/* Appends iovecs covering [gpa, gpa+len), split where regions meet. Returns how many were added,
 * -EFAULT when part of the range is unmapped, -E2BIG when more than max would be needed. */
int vhost_mem_gpa_to_iov(const struct vhost_mem *m, uint64_t gpa, uint32_t len, struct iovec *iov, int max);

#endif
