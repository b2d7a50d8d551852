/*
 * Guest memory: one memfd mapped once, cut into regions. One region sits at guest-physical 0; with
 * several, region i sits at gpa 2*i*size so guest-physical space has holes and every region has a
 * different mmap_offset into the same fd, as QEMU's RAM below/above 4 GiB does.
 */
#include "frontend/frontend_int.h"

#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#define REGION_ALIGN (64u * 1024)

int vu_mem_init(struct vu_mem *m, size_t size, int nregions)
{
	size_t rsize;

	m->fd = -1;
	m->base = MAP_FAILED;
	if (nregions < 1 || nregions > VU_FRONT_MAX_REGIONS ||
	    size < (size_t)nregions * REGION_ALIGN)
		return -EINVAL;
	rsize = (size / nregions + REGION_ALIGN - 1) & ~(size_t)(REGION_ALIGN - 1);
	m->size = rsize * nregions;
	m->nregions = nregions;
	for (int i = 0; i < nregions; i++) {
		m->regions[i].gpa = 2 * (uint64_t)i * rsize;
		m->regions[i].size = rsize;
		m->regions[i].offset = (uint64_t)i * rsize;
	}
	m->fd = memfd_create("vu-front-guest", MFD_CLOEXEC);
	if (m->fd < 0)
		return -errno;
	if (ftruncate(m->fd, m->size) < 0)
		goto fail;
	m->base = mmap(NULL, m->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, m->fd, 0);
	if (m->base == MAP_FAILED)
		goto fail;
	m->alloc_off = 0;
	m->buffers_off = 0;
	return 0;
fail:;
	int err = -errno;

	vu_mem_fini(m);
	return err;
}

void vu_mem_fini(struct vu_mem *m)
{
	if (m->base != MAP_FAILED)
		munmap(m->base, m->size);
	if (m->fd >= 0)
		close(m->fd);
	m->base = MAP_FAILED;
	m->fd = -1;
}

static const struct vu_region *region_of_offset(const struct vu_mem *m, size_t off)
{
	for (int i = 0; i < m->nregions; i++)
		if (off >= m->regions[i].offset && off < m->regions[i].offset + m->regions[i].size)
			return &m->regions[i];
	return NULL;
}

/* Allocations never straddle two regions: their guest-physical addresses are not contiguous. */
void *vu_mem_alloc(struct vu_mem *m, size_t size, size_t align, uint64_t *gpa)
{
	size_t off = m->alloc_off;

	if (!align || (align & (align - 1)) || align > REGION_ALIGN)
		return NULL;
	if (!size)
		size = 1;
	for (;;) {
		off = (off + align - 1) & ~(align - 1);
		const struct vu_region *r = region_of_offset(m, off);

		if (!r)
			return NULL;
		if (size <= r->offset + r->size - off) {
			m->alloc_off = off + size;
			if (gpa)
				*gpa = r->gpa + (off - r->offset);
			return m->base + off;
		}
		off = r->offset + r->size; /* next region */
	}
}

void *vu_mem_translate(const struct vu_mem *m, uint64_t gpa, uint64_t len)
{
	for (int i = 0; i < m->nregions; i++) {
		const struct vu_region *r = &m->regions[i];

		if (gpa >= r->gpa && gpa - r->gpa < r->size && len <= r->size - (gpa - r->gpa))
			return m->base + r->offset + (gpa - r->gpa);
	}
	return NULL;
}

int vu_mem_host_to_gpa(const struct vu_mem *m, const void *ptr, size_t len, uint64_t *gpa)
{
	const uint8_t *p = ptr;
	const struct vu_region *r;
	size_t off;

	if (p < m->base || p >= m->base + m->size)
		return -EFAULT;
	off = p - m->base;
	r = region_of_offset(m, off);
	if (!r || len > r->offset + r->size - off)
		return -EFAULT;
	*gpa = r->gpa + (off - r->offset);
	return 0;
}

void vu_mem_wire_region(const struct vu_mem *m, int i, struct vu_wire_mem_region *out)
{
	const struct vu_region *r = &m->regions[i];

	out->gpa = r->gpa;
	out->size = r->size;
	out->uaddr = (uint64_t)(uintptr_t)(m->base + r->offset);
	out->mmap_offset = r->offset;
}

void *vu_front_alloc(struct vu_front *f, size_t size, size_t align, uint64_t *gpa)
{
	void *p = vu_mem_alloc(&f->mem, size, align, gpa);

	if (!p)
		errno = ENOMEM;
	return p;
}

void vu_front_free_all_buffers(struct vu_front *f)
{
	f->mem.alloc_off = f->mem.buffers_off;
}

void *vu_front_gpa_to_ptr(struct vu_front *f, uint64_t gpa)
{
	return vu_mem_translate(&f->mem, gpa, 1);
}

void *vu_front_mem_base(struct vu_front *f)
{
	return f->mem.base;
}

size_t vu_front_mem_size(struct vu_front *f)
{
	return f->mem.size;
}

int vu_front_mem_fd(struct vu_front *f)
{
	return f->mem.fd;
}
