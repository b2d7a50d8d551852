#include "fake_backend.h"

#include <errno.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_ring.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Wire values from QEMU docs/interop/vhost-user.rst, spelled out here on purpose: this side does
 * not share the library's headers. */
enum {
	GET_FEATURES = 1, SET_FEATURES = 2, SET_MEM_TABLE = 5, SET_VRING_NUM = 8,
	SET_VRING_ADDR = 9, SET_VRING_BASE = 10, GET_VRING_BASE = 11, SET_VRING_KICK = 12,
	SET_VRING_CALL = 13, GET_PROTOCOL_FEATURES = 15, SET_PROTOCOL_FEATURES = 16,
	GET_QUEUE_NUM = 17, SET_VRING_ENABLE = 18, GET_CONFIG = 24, GET_INFLIGHT_FD = 31,
	SET_INFLIGHT_FD = 32, SET_STATUS = 39,
};
#define FLAG_REPLY 0x4u
#define FLAG_NEED_REPLY 0x8u
#define OFFERED_FEATURES                                                                  \
	((1ULL << 32) | (1ULL << 34) | (1ULL << 30) | (1ULL << VIRTIO_RING_F_EVENT_IDX) |  \
	 (1ULL << VIRTIO_RING_F_INDIRECT_DESC) | (1ULL << VIRTIO_BLK_F_FLUSH) |             \
	 (1ULL << VIRTIO_BLK_F_MQ))
/* MQ, REPLY_ACK, CONFIG, INFLIGHT_SHMFD, STATUS */
#define OFFERED_PROTOCOL ((1ULL << 0) | (1ULL << 3) | (1ULL << 9) | (1ULL << 12) | (1ULL << 16))
#define F_AVAIL (1u << VRING_PACKED_DESC_F_AVAIL)
#define F_USED (1u << VRING_PACKED_DESC_F_USED)

struct hdr {
	uint32_t request, flags, size;
} __attribute__((packed));

struct region {
	uint64_t gpa, size, uaddr;
	uint8_t *host;
	uint8_t *map;
	size_t maplen;
};

struct fq {
	uint16_t num;
	bool enabled;
	struct vring_packed_desc *ring;
	int kick, call;
	uint16_t avail_pos, used_pos;
	bool avail_wrap, used_wrap;
};

struct conn {
	struct fake_backend *b;
	int fd;
	struct region regs[8];
	int nregs;
	struct fq q[FAKE_QUEUES];
};

struct seg {
	uint8_t *p;
	uint32_t len;
	bool write;
};

static void *gpa_ptr(struct conn *c, uint64_t gpa, uint64_t len)
{
	for (int i = 0; i < c->nregs; i++)
		if (gpa >= c->regs[i].gpa && gpa + len <= c->regs[i].gpa + c->regs[i].size)
			return c->regs[i].host + (gpa - c->regs[i].gpa);
	return NULL;
}

static void *uva_ptr(struct conn *c, uint64_t uva)
{
	for (int i = 0; i < c->nregs; i++)
		if (uva >= c->regs[i].uaddr && uva < c->regs[i].uaddr + c->regs[i].size)
			return c->regs[i].host + (uva - c->regs[i].uaddr);
	return NULL;
}

static int recv_msg(int fd, struct hdr *h, uint8_t *payload, int *fds, int *nfds)
{
	char ctl[CMSG_SPACE(8 * sizeof(int))];
	struct iovec iov = { h, sizeof(*h) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
			    .msg_controllen = sizeof(ctl) };
	ssize_t n = recvmsg(fd, &m, 0);

	*nfds = 0;
	if (n != sizeof(*h) || h->size > 4096)
		return -1;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm)) {
		*nfds = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		memcpy(fds, CMSG_DATA(cm), *nfds * sizeof(int));
	}
	return h->size && recv(fd, payload, h->size, MSG_WAITALL) != h->size ? -1 : 0;
}

static void send_reply(int fd, uint32_t request, const void *payload, uint32_t size, int pass_fd)
{
	struct hdr h = { request, 0x1 | FLAG_REPLY, size };
	char ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)payload, size } };
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2 };

	if (pass_fd >= 0) {
		m.msg_control = ctl;
		m.msg_controllen = sizeof(ctl);
		struct cmsghdr *cm = CMSG_FIRSTHDR(&m);

		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &pass_fd, sizeof(int));
	}
	if (sendmsg(fd, &m, MSG_NOSIGNAL) < 0)
		perror("fake backend: sendmsg");
}

/* Executes one virtio-blk request; returns the bytes written into device-writable buffers. */
static uint32_t blk_execute(struct fake_backend *b, struct seg *s, int n)
{
	struct virtio_blk_outhdr h;
	uint8_t status = VIRTIO_BLK_S_OK;
	uint32_t written = 1;
	uint64_t off;

	if (n < 2 || s[0].len < sizeof(h) || !s[n - 1].write)
		return 0;
	memcpy(&h, s[0].p, sizeof(h));
	off = h.sector * 512;
	if (h.type != VIRTIO_BLK_T_IN && h.type != VIRTIO_BLK_T_OUT &&
	    h.type != VIRTIO_BLK_T_FLUSH) {
		*s[n - 1].p = VIRTIO_BLK_S_UNSUPP;
		return 1;
	}
	for (int i = 1; i < n - 1; i++) {
		if (off + s[i].len > sizeof(b->disk) || s[i].write != (h.type == VIRTIO_BLK_T_IN)) {
			status = VIRTIO_BLK_S_IOERR;
			break;
		}
		if (h.type == VIRTIO_BLK_T_IN) {
			memcpy(s[i].p, b->disk + off, s[i].len);
			written += s[i].len;
		} else {
			memcpy(b->disk + off, s[i].p, s[i].len);
		}
		off += s[i].len;
	}
	*s[n - 1].p = status;
	return written;
}

static int add_seg(struct conn *c, struct seg *s, int n, uint64_t addr, uint32_t len, bool write)
{
	if (n >= 16 || !(s[n].p = gpa_ptr(c, addr, len)))
		return -1;
	s[n].len = len;
	s[n].write = write;
	return n + 1;
}

/* Serves every available chain of a packed ring (virtio 1.2 section 2.8). */
static void serve_queue(struct conn *c, struct fq *q)
{
	for (;;) {
		struct vring_packed_desc *ring = q->ring, d;
		uint16_t flags = __atomic_load_n(&ring[q->avail_pos].flags, __ATOMIC_ACQUIRE);
		struct seg s[16];
		int n = 0, ndesc = 0;
		uint16_t id = 0;
		bool next;

		if (!!(flags & F_AVAIL) != q->avail_wrap || !!(flags & F_USED) == q->avail_wrap)
			return;
		do {
			d = ring[q->avail_pos];
			id = d.id;
			ndesc++;
			next = d.flags & VRING_DESC_F_NEXT;
			if (d.flags & VRING_DESC_F_INDIRECT) {
				struct vring_packed_desc *t = gpa_ptr(c, d.addr, d.len);

				for (uint32_t i = 0; t && i < d.len / sizeof(*t) && n >= 0; i++)
					n = add_seg(c, s, n, t[i].addr, t[i].len,
						    t[i].flags & VRING_DESC_F_WRITE);
			} else if (n >= 0) {
				n = add_seg(c, s, n, d.addr, d.len, d.flags & VRING_DESC_F_WRITE);
			}
			if (++q->avail_pos == q->num) {
				q->avail_pos = 0;
				q->avail_wrap = !q->avail_wrap;
			}
		} while (next);
		uint32_t written = n > 0 ? blk_execute(c->b, s, n) : 0;
		struct vring_packed_desc *u = &ring[q->used_pos];

		u->id = c->b->bad_used_id ? q->num + 1 : id;
		u->len = written;
		__atomic_store_n(&u->flags, q->used_wrap ? F_AVAIL | F_USED : 0, __ATOMIC_RELEASE);
		q->used_pos += ndesc;
		if (q->used_pos >= q->num) {
			q->used_pos -= q->num;
			q->used_wrap = !q->used_wrap;
		}
		c->b->requests_seen++;
		uint64_t one = 1;

		if (write(q->call, &one, sizeof(one)) < 0)
			perror("fake backend: call");
	}
}

static void map_regions(struct conn *c, const uint8_t *p, const int *fds, int nfds)
{
	uint32_t n;

	memcpy(&n, p, 4);
	for (uint32_t i = 0; i < n && (int)i < nfds && i < 8; i++) {
		struct region *r = &c->regs[c->nregs];
		uint64_t v[4];

		memcpy(v, p + 8 + 32 * i, sizeof(v));
		r->gpa = v[0];
		r->size = v[1];
		r->uaddr = v[2];
		r->maplen = v[1] + v[3];
		r->map = mmap(NULL, r->maplen, PROT_READ | PROT_WRITE, MAP_SHARED, fds[i], 0);
		if (r->map == MAP_FAILED)
			continue;
		r->host = r->map + v[3];
		c->nregs++;
	}
	c->b->nregions = c->nregs;
}

/* Handles one front-end message; returns -1 when the connection is gone. */
static int handle_msg(struct conn *c)
{
	uint8_t p[4096];
	struct hdr h;
	int fds[8], nfds;
	uint64_t u64 = 0;
	uint32_t idx;
	bool replied = false;

	memset(p, 0, 8); /* messages without payload read index 0 */
	if (recv_msg(c->fd, &h, p, fds, &nfds))
		return -1;
	memcpy(&idx, p, 4);
	idx %= FAKE_QUEUES;
	switch (h.request) {
	case GET_FEATURES:
	case GET_PROTOCOL_FEATURES:
	case GET_QUEUE_NUM:
		u64 = h.request == GET_FEATURES ? OFFERED_FEATURES
		      : h.request == GET_QUEUE_NUM ? FAKE_QUEUES : OFFERED_PROTOCOL;
		send_reply(c->fd, h.request, &u64, 8, -1);
		replied = true;
		break;
	case SET_FEATURES:
		memcpy(&c->b->acked_features, p, 8);
		break;
	case SET_PROTOCOL_FEATURES:
		memcpy(&c->b->acked_protocol, p, 8);
		break;
	case GET_CONFIG: {
		uint64_t capacity = FAKE_SECTORS;

		memset(p + 12, 0, h.size - 12);
		memcpy(p + 12, &capacity, 8);
		send_reply(c->fd, h.request, p, h.size, -1);
		replied = true;
		break;
	}
	case GET_INFLIGHT_FD: {
		int mfd = memfd_create("fake-inflight", MFD_CLOEXEC);

		u64 = 4096 * FAKE_QUEUES;
		if (ftruncate(mfd, u64) < 0)
			perror("fake backend: ftruncate");
		memcpy(p, &u64, 8);
		memset(p + 8, 0, 8);
		send_reply(c->fd, h.request, p, h.size, mfd);
		close(mfd);
		replied = true;
		break;
	}
	case SET_INFLIGHT_FD:
		c->b->inflight_set = nfds == 1;
		break;
	case SET_MEM_TABLE:
		map_regions(c, p, fds, nfds);
		break;
	case SET_VRING_NUM:
		memcpy(&c->q[idx].num, p + 4, 2);
		break;
	case SET_VRING_BASE: {
		uint32_t base;

		memcpy(&base, p + 4, 4);
		c->q[idx].avail_pos = c->q[idx].used_pos = base & 0x7fff;
		c->q[idx].avail_wrap = c->q[idx].used_wrap = base >> 15;
		break;
	}
	case SET_VRING_ADDR: {
		uint64_t desc;

		memcpy(&desc, p + 8, 8);
		c->q[idx].ring = uva_ptr(c, desc);
		break;
	}
	case SET_VRING_KICK:
	case SET_VRING_CALL:
		*(h.request == SET_VRING_KICK ? &c->q[idx].kick : &c->q[idx].call) = fds[0];
		nfds = 0;
		break;
	case SET_VRING_ENABLE: {
		uint32_t on;

		memcpy(&on, p + 4, 4);
		c->q[idx].enabled = on && c->q[idx].ring;
		break;
	}
	case GET_VRING_BASE: {
		struct fq *q = &c->q[idx];
		uint32_t st[2] = { idx, q->avail_pos | (uint32_t)q->avail_wrap << 15 };

		c->q[idx].enabled = false;
		send_reply(c->fd, h.request, st, 8, -1);
		replied = true;
		break;
	}
	case SET_STATUS:
		c->b->status = p[0];
		break;
	}
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	if (!replied && (h.flags & FLAG_NEED_REPLY))
		send_reply(c->fd, h.request, &u64, 8, -1);
	return 0;
}

static void serve(struct conn *c)
{
	while (!c->b->stop) {
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };

		if (poll(&pfd, 1, 1) > 0 && handle_msg(c))
			return;
		for (int i = 0; i < FAKE_QUEUES; i++)
			if (c->q[i].enabled)
				serve_queue(c, &c->q[i]);
	}
}

static void *fake_thread(void *arg)
{
	struct fake_backend *b = arg;
	struct conn c = { .b = b };
	struct pollfd pfd = { .fd = b->listen_fd, .events = POLLIN };

	while (!b->stop && poll(&pfd, 1, 10) <= 0)
		;
	if (b->stop)
		return NULL;
	c.fd = accept(b->listen_fd, NULL, NULL);
	if (c.fd < 0)
		return NULL;
	for (int i = 0; i < FAKE_QUEUES; i++)
		c.q[i].kick = c.q[i].call = -1;
	serve(&c);
	close(c.fd);
	for (int i = 0; i < FAKE_QUEUES; i++) {
		if (c.q[i].kick >= 0)
			close(c.q[i].kick);
		if (c.q[i].call >= 0)
			close(c.q[i].call);
	}
	for (int i = 0; i < c.nregs; i++)
		munmap(c.regs[i].map, c.regs[i].maplen);
	return NULL;
}

int fake_start(struct fake_backend *b)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };

	snprintf(b->path, sizeof(b->path), "/tmp/vu-front-fake-%d.sock", (int)getpid());
	unlink(b->path);
	b->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (b->listen_fd < 0)
		return -errno;
	memcpy(addr.sun_path, b->path, sizeof(b->path));
	if (bind(b->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    listen(b->listen_fd, 1) < 0) {
		int err = -errno;

		close(b->listen_fd);
		return err;
	}
	b->stop = false;
	return -pthread_create(&b->thread, NULL, fake_thread, b);
}

void fake_stop(struct fake_backend *b)
{
	b->stop = true;
	pthread_join(b->thread, NULL);
	close(b->listen_fd);
	unlink(b->path);
}
