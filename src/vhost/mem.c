#include "vhost/mem.h"
#include "core/mem_guard.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

static int ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

static int region_valid(const struct vhost_mem *m, const struct vhost_user_mem_region *r, int fd)
{
	struct stat st;

	if (r->memory_size == 0 || r->guest_phys_addr + r->memory_size < r->guest_phys_addr ||
	    r->userspace_addr + r->memory_size < r->userspace_addr ||
	    r->mmap_offset + r->memory_size < r->mmap_offset)
		return -EINVAL;
	/* Touching pages past the end of the file would raise SIGBUS: refuse a short file. */
	if (fstat(fd, &st) < 0)
		return -errno;
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size < r->mmap_offset + r->memory_size)
		return -EINVAL;
	for (uint32_t i = 0; i < m->nregions; i++)
		if (ranges_overlap(m->regions[i].gpa, m->regions[i].size, r->guest_phys_addr,
				   r->memory_size))
			return -EINVAL;
	return 0;
}

int vhost_mem_add(struct vhost_mem *m, const struct vhost_user_mem_region *r, int fd)
{
	struct vhost_mem_region *reg;
	size_t len;
	void *addr;
	int rc;

	if (m->nregions == VHOST_MEM_MAX_REGIONS)
		return -ENOSPC;
	rc = region_valid(m, r, fd);
	if (rc)
		return rc;
	len = r->mmap_offset + r->memory_size;
	addr = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
	if (addr == MAP_FAILED)
		return -errno;
	reg = &m->regions[m->nregions++];
	reg->gpa = r->guest_phys_addr;
	reg->size = r->memory_size;
	reg->uva = r->userspace_addr;
	reg->mmap_addr = addr;
	reg->mmap_size = len;
	reg->host = (uint8_t *)addr + r->mmap_offset;
	reg->guard = mem_guard_add(addr, len);
	return 0;
}

int vhost_mem_remove(struct vhost_mem *m, const struct vhost_user_mem_region *r)
{
	for (uint32_t i = 0; i < m->nregions; i++) {
		struct vhost_mem_region *reg = &m->regions[i];

		if (reg->gpa != r->guest_phys_addr || reg->size != r->memory_size)
			continue;
		mem_guard_remove(reg->guard);
		munmap(reg->mmap_addr, reg->mmap_size);
		m->regions[i] = m->regions[--m->nregions];
		return 0;
	}
	return -ENOENT;
}

void vhost_mem_clear(struct vhost_mem *m)
{
	for (uint32_t i = 0; i < m->nregions; i++) {
		mem_guard_remove(m->regions[i].guard);
		munmap(m->regions[i].mmap_addr, m->regions[i].mmap_size);
	}
	m->nregions = 0;
}

bool vhost_mem_tripped(const struct vhost_mem *m)
{
	for (uint32_t i = 0; i < m->nregions; i++)
		if (mem_guard_tripped(m->regions[i].guard))
			return true;
	return false;
}

void *vhost_mem_gpa_to_ptr(const struct vhost_mem *m, uint64_t gpa, uint64_t len)
{
	for (uint32_t i = 0; i < m->nregions; i++) {
		const struct vhost_mem_region *reg = &m->regions[i];

		if (gpa >= reg->gpa && gpa - reg->gpa < reg->size && len <= reg->size - (gpa - reg->gpa))
			return reg->host + (gpa - reg->gpa);
	}
	return NULL;
}

void *vhost_mem_uva_to_ptr(const struct vhost_mem *m, uint64_t uva, uint64_t len)
{
	for (uint32_t i = 0; i < m->nregions; i++) {
		const struct vhost_mem_region *reg = &m->regions[i];

		if (uva >= reg->uva && uva - reg->uva < reg->size && len <= reg->size - (uva - reg->uva))
			return reg->host + (uva - reg->uva);
	}
	return NULL;
}

int vhost_mem_gpa_to_iov(const struct vhost_mem *m, uint64_t gpa, uint32_t len, struct iovec *iov, int max)
{
	int n = 0;

	while (len > 0) {
		const struct vhost_mem_region *reg = NULL;
		uint64_t chunk;

		for (uint32_t i = 0; i < m->nregions; i++) {
			if (gpa >= m->regions[i].gpa && gpa - m->regions[i].gpa < m->regions[i].size) {
				reg = &m->regions[i];
				break;
			}
		}
		if (!reg)
			return -EFAULT;
		if (n == max)
			return -E2BIG;
		chunk = reg->size - (gpa - reg->gpa);
		if (chunk > len)
			chunk = len;
		iov[n].iov_base = reg->host + (gpa - reg->gpa);
		iov[n].iov_len = chunk;
		n++;
		gpa += chunk;
		len -= chunk;
	}
	return n;
}
