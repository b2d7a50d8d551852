#include "vhost/inflight.h"
#include "core/mem_guard.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Layout of one queue's region for split rings, as vhost-user.rst defines it. */
struct inflight_desc {
	uint8_t inflight;
	uint8_t padding[5];
	uint16_t next;
	uint64_t counter;
};

struct vhost_inflight_queue {
	uint64_t features;
	uint16_t version;
	uint16_t desc_num;
	uint16_t last_batch_head;
	uint16_t used_idx;
	struct inflight_desc desc[];
};

struct vhost_inflight {
	void *addr;     /* the mapping, from file offset 0 */
	uint64_t size;  /* of the mapping */
	uint8_t *base;  /* the area, at the front-end's mmap_offset */
	uint16_t num_queues;
	uint16_t queue_size;
	int guard; /* mem_guard slot: the front-end owns the file */
};

static uint64_t queue_region_size(uint16_t queue_size)
{
	uint64_t n = sizeof(struct vhost_inflight_queue) + (uint64_t)queue_size * sizeof(struct inflight_desc);

	return (n + 63) & ~63ULL;
}

static int inflight_map(int fd, uint64_t size, uint64_t offset, uint16_t num_queues, uint16_t queue_size,
			struct vhost_inflight **out)
{
	struct vhost_inflight *inf;
	void *addr;

	addr = mmap(NULL, size + offset, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (addr == MAP_FAILED)
		return -errno;
	inf = calloc(1, sizeof(*inf));
	if (!inf) {
		munmap(addr, size + offset);
		return -ENOMEM;
	}
	inf->addr = addr;
	inf->size = size + offset;
	inf->base = (uint8_t *)addr + offset;
	inf->guard = mem_guard_add(addr, size + offset);
	inf->num_queues = num_queues;
	inf->queue_size = queue_size;
	*out = inf;
	return 0;
}

int vhost_inflight_create(uint16_t num_queues, uint16_t queue_size, struct vhost_inflight **out, int *fd,
			  uint64_t *size)
{
	uint64_t len;
	int rc;

	if (num_queues == 0 || queue_size == 0 || queue_size > 32768)
		return -EINVAL;
	len = queue_region_size(queue_size) * num_queues;
	*fd = memfd_create("vhostd-inflight", MFD_CLOEXEC);
	if (*fd < 0)
		return -errno;
	if (ftruncate(*fd, (off_t)len) < 0) {
		rc = -errno;
		goto fail;
	}
	rc = inflight_map(*fd, len, 0, num_queues, queue_size, out);
	if (rc)
		goto fail;
	for (uint16_t q = 0; q < num_queues; q++) {
		struct vhost_inflight_queue *iq = vhost_inflight_queue(*out, q, queue_size);

		iq->version = 1;
		iq->desc_num = queue_size;
	}
	*size = len;
	return 0;
fail:
	close(*fd);
	*fd = -1;
	return rc;
}

int vhost_inflight_attach(int fd, uint64_t size, uint64_t offset, uint16_t num_queues, uint16_t queue_size,
			  struct vhost_inflight **out)
{
	struct stat st;
	int rc = -EINVAL;

	if (num_queues == 0 || queue_size == 0 || size < queue_region_size(queue_size) * num_queues ||
	    offset + size < offset || fstat(fd, &st) < 0 || (uint64_t)st.st_size < offset + size)
		goto out;
	rc = inflight_map(fd, size, offset, num_queues, queue_size, out);
out:
	close(fd);
	return rc;
}

void vhost_inflight_free(struct vhost_inflight *inf)
{
	if (!inf)
		return;
	mem_guard_remove(inf->guard);
	munmap(inf->addr, inf->size);
	free(inf);
}

bool vhost_inflight_tripped(const struct vhost_inflight *inf)
{
	return inf && mem_guard_tripped(inf->guard);
}

struct vhost_inflight_queue *vhost_inflight_queue(struct vhost_inflight *inf, uint16_t q, uint16_t queue_size)
{
	if (!inf || q >= inf->num_queues || queue_size != inf->queue_size)
		return NULL;
	return (struct vhost_inflight_queue *)(inf->base + queue_region_size(queue_size) * q);
}

/* Heads come validated against the queue size, which the area was checked to hold: desc_num, in
 * memory the front-end can write, is never trusted. */
void vhost_inflight_get(struct vhost_inflight_queue *iq, uint16_t head, uint64_t counter)
{
	iq->desc[head].counter = counter;
	__atomic_store_n(&iq->desc[head].inflight, 1, __ATOMIC_RELEASE);
}

void vhost_inflight_put_batch(struct vhost_inflight_queue *iq, const uint16_t *heads, unsigned n,
			      uint16_t used_idx)
{
	for (unsigned i = 0; i < n; i++)
		__atomic_store_n(&iq->desc[heads[i]].inflight, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&iq->used_idx, used_idx, __ATOMIC_RELEASE);
}

int vhost_inflight_recover(struct vhost_inflight_queue *iq, uint16_t size,
			   const struct vring_used *used, uint16_t *heads, uint64_t *counter)
{
	uint16_t guest_used_idx = __atomic_load_n(&used->idx, __ATOMIC_ACQUIRE);
	uint16_t returned = (uint16_t)(guest_used_idx - iq->used_idx);
	int n = 0;

	/* The guest got these heads back but the area was not told. More than a ring's worth is
	 * not a cut-off return but a corrupt area or ring: nothing of it is believed. */
	for (uint16_t i = 0; returned <= size && i < returned; i++) {
		uint32_t id = __atomic_load_n(&used->ring[(uint16_t)(iq->used_idx + i) % size].id,
					      __ATOMIC_RELAXED);

		if (id < size)
			iq->desc[id].inflight = 0;
	}
	iq->used_idx = guest_used_idx;
	*counter = 0;
	for (uint16_t i = 0; i < size; i++) {
		if (!iq->desc[i].inflight)
			continue;
		heads[n++] = i;
		if (iq->desc[i].counter > *counter)
			*counter = iq->desc[i].counter;
	}
	/* Oldest first (insertion sort: the list is short and usually sorted already). */
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && iq->desc[heads[j - 1]].counter > iq->desc[heads[j]].counter; j--) {
			uint16_t t = heads[j];

			heads[j] = heads[j - 1];
			heads[j - 1] = t;
		}
	return n;
}
