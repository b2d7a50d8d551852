/* A fake guest for ring unit tests: one memfd region mapped both as "guest" memory (for building
 * rings) and through the session's memory map (as the back-end sees it). */
#ifndef VHOSTD_TEST_RING_FIXTURE_H
#define VHOSTD_TEST_RING_FIXTURE_H

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vhost/session.h"

#define GUEST_GPA 0x100000ULL
#define GUEST_UVA 0x7f0000000000ULL
#define GUEST_SIZE (1u << 20)

struct ring_fixture {
	struct vhost_session s;
	struct vhost_vq *vq;
	uint8_t *guest; /* our view of guest memory */
	int fd;
};

static inline uint64_t fx_gpa(const struct ring_fixture *fx, const void *p)
{
	return GUEST_GPA + (uint64_t)((const uint8_t *)p - fx->guest);
}

static inline int fx_init(struct ring_fixture *fx, uint16_t qsize, uint64_t features)
{
	struct vhost_user_mem_region r = {
		.guest_phys_addr = GUEST_GPA, .memory_size = GUEST_SIZE, .userspace_addr = GUEST_UVA,
	};

	memset(fx, 0, sizeof(*fx));
	fx->fd = memfd_create("ring-test", 0);
	if (fx->fd < 0 || ftruncate(fx->fd, GUEST_SIZE) < 0)
		return -1;
	fx->guest = mmap(NULL, GUEST_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fx->fd, 0);
	if (fx->guest == MAP_FAILED || vhost_mem_add(&fx->s.mem, &r, fx->fd))
		return -1;
	strcpy(fx->s.name, "test");
	fx->vq = &fx->s.vqs[0];
	fx->vq->session = &fx->s;
	fx->vq->size = qsize;
	fx->vq->features = features;
	/* desc table at 0, driver area at 64 KiB, device area at 128 KiB (all inside the region) */
	fx->vq->desc_uva = GUEST_UVA;
	fx->vq->avail_uva = GUEST_UVA + 0x10000;
	fx->vq->used_uva = GUEST_UVA + 0x20000;
	return 0;
}

static inline void fx_fini(struct ring_fixture *fx)
{
	vhost_mem_clear(&fx->s.mem);
	munmap(fx->guest, GUEST_SIZE);
	close(fx->fd);
}

#endif
