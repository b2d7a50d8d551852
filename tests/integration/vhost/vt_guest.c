/*
 * A guest driven by hand: the socket and shared memory come from the front-end library's raw
 * connection; the handshake, the rings and the requests are our own, so that a test can stop
 * anywhere, send anything, and put any descriptor on a ring.
 */
#include "vt_guest_int.h"

#include "frontend/vu_wire.h"
#include "tap.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BIT(n) (1ULL << (n))
#define VIRTIO_F_VERSION_1_BIT 32
#define VIRTIO_F_RING_PACKED_BIT 34
#define GUEST_PROTOCOL_FEATURES                                                                    \
	(BIT(VU_PROTO_F_MQ) | BIT(VU_PROTO_F_REPLY_ACK) | BIT(VU_PROTO_F_BACKEND_REQ) |            \
	 BIT(VU_PROTO_F_CONFIG) | BIT(VU_PROTO_F_INFLIGHT_SHMFD) | BIT(VU_PROTO_F_STATUS))
#define CONFIG_LEN 60
#define STATUS_FEATURES_OK 0xb /* ACKNOWLEDGE | DRIVER | FEATURES_OK */
#define STATUS_DRIVER_OK 0xf

enum step {
	ST_GET_FEATURES,
	ST_GET_PROTOCOL_FEATURES,
	ST_SET_PROTOCOL_FEATURES,
	ST_GET_QUEUE_NUM,
	ST_SET_BACKEND_REQ_FD,
	ST_SET_OWNER,
	ST_GET_CONFIG,
	ST_GET_INFLIGHT_FD,
	ST_SET_INFLIGHT_FD,
	ST_SET_FEATURES,
	ST_SET_STATUS_FEATURES_OK,
	ST_SET_MEM_TABLE,
	ST_FIXED_COUNT,
	/* per queue */
	ST_VRING_NUM = ST_FIXED_COUNT,
	ST_VRING_BASE,
	ST_VRING_ADDR,
	ST_VRING_KICK,
	ST_VRING_CALL,
	ST_VRING_ENABLE,
	ST_DRIVER_OK,
};
#define PER_QUEUE_SETUP 5 /* NUM .. CALL */

static const char *const step_names[] = {
	"GET_FEATURES",
	"GET_PROTOCOL_FEATURES",
	"SET_PROTOCOL_FEATURES",
	"GET_QUEUE_NUM",
	"SET_BACKEND_REQ_FD",
	"SET_OWNER",
	"GET_CONFIG",
	"GET_INFLIGHT_FD",
	"SET_INFLIGHT_FD",
	"SET_FEATURES",
	"SET_STATUS(FEATURES_OK)",
	"SET_MEM_TABLE",
	"SET_VRING_NUM",
	"SET_VRING_BASE",
	"SET_VRING_ADDR",
	"SET_VRING_KICK",
	"SET_VRING_CALL",
	"SET_VRING_ENABLE",
	"SET_STATUS(DRIVER_OK)",
};

/* --- memory --- */

uint8_t *vt_mem(struct vt_guest *g)
{
	return g->mem;
}

size_t vt_mem_size(struct vt_guest *g)
{
	return g->mem_size;
}

int vt_mem_fd(struct vt_guest *g)
{
	return vu_front_mem_fd(g->f);
}

uint64_t vt_gpa(struct vt_guest *g, const void *ptr)
{
	uint64_t off = (uint64_t)((const uint8_t *)ptr - g->mem);

	/* With two regions the second half of the memfd sits at gpa M: a hole [M/2, M) between. */
	if (g->o.two_regions && off >= g->mem_size / 2)
		return off + g->mem_size / 2;
	return off;
}

void *vt_alloc(struct vt_guest *g, size_t size, size_t align)
{
	size_t off = (g->alloc_off + align - 1) & ~(align - 1);

	/* Never across the end of the first region: the two halves are not contiguous in gpa. */
	if (g->o.two_regions && off < g->mem_size / 2 && off + size > g->mem_size / 2)
		off = g->mem_size / 2;
	if (off + size > g->mem_size) {
		tap_fail(__FILE__, __LINE__, "guest memory exhausted");
		abort();
	}
	g->alloc_off = off + size;
	memset(g->mem + off, 0, size);
	return g->mem + off;
}

/* --- messages --- */

int vt_guest_sock(struct vt_guest *g)
{
	return g->sock;
}

/* Sends buf; fds ride on the first byte. One byte per write when dribbling. */
static int send_bytes(struct vt_guest *g, const uint8_t *buf, size_t len, const int *fds, int nfds)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 16)];
		struct cmsghdr align;
	} ctl;
	size_t done = 0;

	if (nfds < 0 || nfds > 16)
		return -EINVAL;
	while (done < len) {
		struct iovec iov = { (void *)(buf + done), g->o.dribble ? 1 : len - done };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t n;

		if (done == 0 && nfds) {
			struct cmsghdr *cm;

			memset(&ctl, 0, sizeof(ctl));
			mh.msg_control = ctl.buf;
			mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
			cm = CMSG_FIRSTHDR(&mh);
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
			memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
		}
		n = sendmsg(g->sock, &mh, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		done += (size_t)n;
	}
	return 0;
}

int vt_guest_send(struct vt_guest *g, uint32_t req, uint32_t flags, const void *payload,
		  uint32_t size, const int *fds, int nfds)
{
	struct vu_msg_hdr hdr = { .request = req, .flags = flags, .size = size };
	uint8_t *buf = malloc(sizeof(hdr) + size);
	int rc;

	if (!buf)
		return -ENOMEM;
	memcpy(buf, &hdr, sizeof(hdr));
	if (size)
		memcpy(buf + sizeof(hdr), payload, size);
	rc = send_bytes(g, buf, sizeof(hdr) + size, fds, nfds);
	free(buf);
	return rc;
}

static int wait_readable(int fd, long long deadline)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	long long left = deadline - test_now_ms();
	int rc = poll(&pfd, 1, left > 0 ? (int)left : 0);

	if (rc < 0)
		return -errno;
	return rc ? 0 : -ETIMEDOUT;
}

static int read_full(int fd, void *buf, size_t len, long long deadline)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n;
		int rc = wait_readable(fd, deadline);

		if (rc)
			return rc;
		n = read(fd, (uint8_t *)buf + done, len - done);
		if (n == 0)
			return -ECONNRESET;
		if (n < 0 && errno != EINTR && errno != EAGAIN)
			return -errno;
		done += n > 0 ? (size_t)n : 0;
	}
	return 0;
}

int vt_guest_recv(struct vt_guest *g, uint32_t *req, void *payload, uint32_t max, int *fd,
		  int timeout_ms)
{
	long long deadline = test_now_ms() + timeout_ms;
	union {
		char buf[CMSG_SPACE(sizeof(int) * 16)];
		struct cmsghdr align;
	} ctl;
	struct vu_msg_hdr hdr;
	struct iovec iov = { &hdr, sizeof(hdr) };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = ctl.buf,
			     .msg_controllen = sizeof(ctl.buf) };
	ssize_t n;
	int rc;

	if (fd)
		*fd = -1;
	rc = wait_readable(g->sock, deadline);
	if (rc)
		return rc;
	n = recvmsg(g->sock, &mh, MSG_CMSG_CLOEXEC);
	if (n < 0)
		return errno == ECONNRESET ? -ECONNRESET : -errno;
	if (n == 0)
		return -ECONNRESET;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		int count = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int)), fds[16];

		memcpy(fds, CMSG_DATA(cm), sizeof(int) * (count < 16 ? count : 16));
		for (int i = 0; i < count && i < 16; i++) {
			if (fd && *fd < 0)
				*fd = fds[i];
			else
				close(fds[i]);
		}
	}
	if ((size_t)n < sizeof(hdr) &&
	    (rc = read_full(g->sock, (uint8_t *)&hdr + n, sizeof(hdr) - n, deadline)))
		return rc;
	if (hdr.size > max)
		return -EMSGSIZE;
	rc = read_full(g->sock, payload, hdr.size, deadline);
	if (rc)
		return rc;
	if (!(hdr.flags & VU_FLAG_REPLY))
		return -EPROTO;
	*req = hdr.request;
	return (int)hdr.size;
}

int vt_guest_get(struct vt_guest *g, uint32_t req, const void *payload, uint32_t size, void *reply,
		 uint32_t max)
{
	uint32_t got;
	int rc = vt_guest_send(g, req, VU_FLAG_VERSION, payload, size, NULL, 0);

	if (rc)
		return rc;
	rc = vt_guest_recv(g, &got, reply, max, NULL, VT_WAIT_MS);
	if (rc >= 0 && got != req)
		return -EPROTO;
	return rc;
}

int vt_guest_call(struct vt_guest *g, uint32_t req, const void *payload, uint32_t size,
		  const int *fds, int nfds)
{
	uint32_t flags = VU_FLAG_VERSION | (g->reply_ack ? VU_FLAG_NEED_REPLY : 0), got;
	uint64_t ack;
	int rc = vt_guest_send(g, req, flags, payload, size, fds, nfds);

	if (rc || !g->reply_ack)
		return rc;
	rc = vt_guest_recv(g, &got, &ack, sizeof(ack), NULL, VT_WAIT_MS);
	if (rc < 0)
		return rc;
	if (got != req || rc != sizeof(ack))
		return -EPROTO;
	return ack ? 1 : 0;
}

static int call_u64(struct vt_guest *g, uint32_t req, uint64_t value, const int *fds, int nfds)
{
	return vt_guest_call(g, req, &value, sizeof(value), fds, nfds);
}

static int call_state(struct vt_guest *g, uint32_t req, uint32_t index, uint32_t num)
{
	struct vu_wire_vring_state s = { index, num };

	return vt_guest_call(g, req, &s, sizeof(s), NULL, 0);
}

bool vt_guest_wait_eof(struct vt_guest *g)
{
	long long deadline = test_now_ms() + VT_WAIT_MS;
	uint8_t buf[256];
	ssize_t n;

	if (wait_readable(g->sock, deadline))
		return false;
	n = read(g->sock, buf, sizeof(buf));
	return n == 0 || (n < 0 && errno == ECONNRESET);
}

long vt_guest_get_base(struct vt_guest *g, int q)
{
	struct vu_wire_vring_state s = { (uint32_t)q, 0 };
	int rc = vt_guest_get(g, VU_REQ_GET_VRING_BASE, &s, sizeof(s), &s, sizeof(s));

	if (rc < 0)
		return rc;
	return rc == sizeof(s) && s.index == (uint32_t)q ? (long)s.num : -EPROTO;
}

/* --- the handshake --- */

int vt_guest_nsteps(const struct vt_guest *g)
{
	return ST_FIXED_COUNT + (PER_QUEUE_SETUP + 1) * g->o.nq + 1;
}

/* Step i as its kind and queue. */
static enum step step_of(const struct vt_guest *g, int i, int *q)
{
	int j = i - ST_FIXED_COUNT;

	*q = 0;
	if (i < ST_FIXED_COUNT)
		return (enum step)i;
	if (j < PER_QUEUE_SETUP * g->o.nq) {
		*q = j / PER_QUEUE_SETUP;
		return (enum step)(ST_VRING_NUM + j % PER_QUEUE_SETUP);
	}
	j -= PER_QUEUE_SETUP * g->o.nq;
	if (j < g->o.nq) {
		*q = j;
		return ST_VRING_ENABLE;
	}
	return ST_DRIVER_OK;
}

const char *vt_guest_step_name(const struct vt_guest *g, int i)
{
	int q;

	return step_names[step_of(g, i, &q)];
}

int vt_guest_step_index(const struct vt_guest *g, const char *name, int q)
{
	for (int i = 0; i < vt_guest_nsteps(g); i++) {
		int sq;
		enum step s = step_of(g, i, &sq);

		if (strcmp(step_names[s], name) == 0 &&
		    (s < ST_VRING_NUM || s == ST_DRIVER_OK || sq == q))
			return i;
	}
	return -1;
}

bool vt_guest_run(struct vt_guest *g, int from, int to)
{
	for (int i = from; i < to; i++) {
		int rc = vt_guest_step(g, i);

		if (rc) {
			tap_fail(__FILE__, __LINE__, "handshake step %d %s: %s", i,
				 vt_guest_step_name(g, i), rc > 0 ? "refused" : strerror(-rc));
			return false;
		}
	}
	return true;
}

static int step_get_u64(struct vt_guest *g, uint32_t req, uint64_t *value)
{
	int rc = vt_guest_get(g, req, NULL, 0, value, sizeof(*value));

	return rc < 0 ? rc : rc == sizeof(*value) ? 0 : -EPROTO;
}

static int step_backend_channel(struct vt_guest *g)
{
	int sv[2], rc;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	rc = vt_guest_call(g, VU_REQ_SET_BACKEND_REQ_FD, NULL, 0, &sv[1], 1);
	close(sv[1]);
	if (g->backend_fd >= 0)
		close(g->backend_fd);
	g->backend_fd = sv[0];
	return rc;
}

static int step_get_config(struct vt_guest *g)
{
	struct vu_wire_config c = { .size = CONFIG_LEN };
	int rc = vt_guest_get(g, VU_REQ_GET_CONFIG, &c, VU_WIRE_CONFIG_HDR + CONFIG_LEN, &c,
			      sizeof(c));

	return rc < 0 ? rc : rc == VU_WIRE_CONFIG_HDR + CONFIG_LEN ? 0 : -EPROTO;
}

static int step_get_inflight(struct vt_guest *g)
{
	uint32_t got;
	int rc;

	g->inflight = (struct vt_wire_inflight){ .num_queues = (uint16_t)g->o.nq,
						 .queue_size = g->o.qsize };
	rc = vt_guest_send(g, VU_REQ_GET_INFLIGHT_FD, VU_FLAG_VERSION, &g->inflight,
			   sizeof(g->inflight), NULL, 0);
	if (rc)
		return rc;
	if (g->inflight_fd >= 0)
		close(g->inflight_fd);
	rc = vt_guest_recv(g, &got, &g->inflight, sizeof(g->inflight), &g->inflight_fd, VT_WAIT_MS);
	if (rc < 0)
		return rc;
	return rc == sizeof(g->inflight) && got == VU_REQ_GET_INFLIGHT_FD && g->inflight_fd >= 0
		       ? 0
		       : -EPROTO;
}

static int step_mem_table(struct vt_guest *g)
{
	struct vu_wire_mem_table t = { .nregions = g->o.two_regions ? 2 : 1 };
	int fd = vt_mem_fd(g), fds[2] = { fd, fd };
	size_t half = g->mem_size / 2;

	if (g->o.two_regions) {
		t.regions[0] = (struct vu_wire_mem_region){ 0, half, (uintptr_t)g->mem, 0 };
		t.regions[1] = (struct vu_wire_mem_region){ g->mem_size, half,
							    (uintptr_t)(g->mem + half), half };
	} else {
		t.regions[0] = (struct vu_wire_mem_region){ 0, g->mem_size, (uintptr_t)g->mem, 0 };
	}
	return vt_guest_call(g, VU_REQ_SET_MEM_TABLE, &t, 8 + sizeof(t.regions[0]) * t.nregions,
			     fds, (int)t.nregions);
}

void vt_guest_ring_addrs(struct vt_guest *g, int q, uint64_t uva[3])
{
	struct vt_queue *vq = &g->q[q];

	uva[0] = (uintptr_t)(g->o.packed ? (void *)vq->ring : (void *)vq->desc);
	uva[1] = (uintptr_t)(g->o.packed ? (void *)vq->driver : (void *)vq->avail);
	uva[2] = (uintptr_t)(g->o.packed ? (void *)vq->device : (void *)vq->used);
}

int vt_guest_set_ring_addrs(struct vt_guest *g, int q, const uint64_t uva[3])
{
	struct vu_wire_vring_addr a = {
		.index = (uint32_t)q,
		.desc_uaddr = uva[0],
		.avail_uaddr = uva[1],
		.used_uaddr = uva[2],
	};

	return vt_guest_call(g, VU_REQ_SET_VRING_ADDR, &a, sizeof(a), NULL, 0);
}

static int step_vring_addr(struct vt_guest *g, int q)
{
	uint64_t uva[3];

	vt_guest_ring_addrs(g, q, uva);
	return vt_guest_set_ring_addrs(g, q, uva);
}

int vt_guest_step(struct vt_guest *g, int i)
{
	int q, rc;
	enum step s = step_of(g, i, &q);

	switch (s) {
	case ST_GET_FEATURES:
		return step_get_u64(g, VU_REQ_GET_FEATURES, &g->offered);
	case ST_GET_PROTOCOL_FEATURES:
		rc = step_get_u64(g, VU_REQ_GET_PROTOCOL_FEATURES, &g->protocol_features);
		g->protocol_features &= GUEST_PROTOCOL_FEATURES;
		return rc;
	case ST_SET_PROTOCOL_FEATURES:
		/* As QEMU: no ack asked for, REPLY_ACK is not agreed before this lands. */
		rc = vt_guest_send(g, VU_REQ_SET_PROTOCOL_FEATURES, VU_FLAG_VERSION,
				   &g->protocol_features, sizeof(uint64_t), NULL, 0);
		g->reply_ack = g->protocol_features & BIT(VU_PROTO_F_REPLY_ACK);
		return rc;
	case ST_GET_QUEUE_NUM: {
		uint64_t n;

		rc = step_get_u64(g, VU_REQ_GET_QUEUE_NUM, &n);
		return rc ? rc : n >= (uint64_t)g->o.nq ? 0 : -ERANGE;
	}
	case ST_SET_BACKEND_REQ_FD:
		return step_backend_channel(g);
	case ST_SET_OWNER:
		return vt_guest_call(g, VU_REQ_SET_OWNER, NULL, 0, NULL, 0);
	case ST_GET_CONFIG:
		return step_get_config(g);
	case ST_GET_INFLIGHT_FD:
		return step_get_inflight(g);
	case ST_SET_INFLIGHT_FD:
		return vt_guest_call(g, VU_REQ_SET_INFLIGHT_FD, &g->inflight, sizeof(g->inflight),
				     &g->inflight_fd, 1);
	case ST_SET_FEATURES:
		g->features = BIT(VIRTIO_F_VERSION_1_BIT) | BIT(VIRTIO_RING_F_INDIRECT_DESC) |
			      BIT(VU_F_PROTOCOL_FEATURES) | BIT(VIRTIO_BLK_F_SEG_MAX) |
			      BIT(VIRTIO_BLK_F_FLUSH) |
			      (g->o.packed ? BIT(VIRTIO_F_RING_PACKED_BIT) : 0) |
			      (g->o.event_idx ? BIT(VIRTIO_RING_F_EVENT_IDX) : 0);
		g->features &= g->offered;
		return call_u64(g, VU_REQ_SET_FEATURES, g->features, NULL, 0);
	case ST_SET_STATUS_FEATURES_OK:
		return call_u64(g, VU_REQ_SET_STATUS, STATUS_FEATURES_OK, NULL, 0);
	case ST_SET_MEM_TABLE:
		return step_mem_table(g);
	case ST_VRING_NUM:
		return call_state(g, VU_REQ_SET_VRING_NUM, (uint32_t)q, g->q[q].num);
	case ST_VRING_BASE:
		return call_state(g, VU_REQ_SET_VRING_BASE, (uint32_t)q, g->q[q].start);
	case ST_VRING_ADDR:
		return step_vring_addr(g, q);
	case ST_VRING_KICK:
		return call_u64(g, VU_REQ_SET_VRING_KICK, (uint64_t)q, &g->q[q].kick, 1);
	case ST_VRING_CALL:
		return call_u64(g, VU_REQ_SET_VRING_CALL, (uint64_t)q, &g->q[q].call, 1);
	case ST_VRING_ENABLE:
		return call_state(g, VU_REQ_SET_VRING_ENABLE, (uint32_t)q, 1);
	case ST_DRIVER_OK:
		return call_u64(g, VU_REQ_SET_STATUS, STATUS_DRIVER_OK, NULL, 0);
	default:
		return -EINVAL;
	}
}

/* --- connection --- */

struct vt_guest *vt_guest_open(struct test_daemon *d, const char *ctrlr,
			       const struct vt_guest_opts *o)
{
	struct vt_guest *g = calloc(1, sizeof(*g));
	char path[256];

	if (!g)
		return NULL;
	g->o = *o;
	g->o.nq = o->nq ? o->nq : 2;
	g->o.qsize = o->qsize ? o->qsize : 64;
	g->o.mem_size = o->mem_size ? o->mem_size : 4 << 20;
	g->backend_fd = g->inflight_fd = -1;
	for (int i = 0; i < VT_MAX_QUEUES; i++)
		g->q[i].kick = g->q[i].call = -1;
	vt_socket_path(d, ctrlr, path, sizeof(path));
	g->f = vu_front_connect_raw(path, g->o.mem_size, VT_WAIT_MS);
	if (!g->f || g->o.nq > VT_MAX_QUEUES) {
		tap_fail(__FILE__, __LINE__, "cannot connect to %s: %s", path, strerror(errno));
		vt_guest_close(g);
		return NULL;
	}
	g->sock = vu_front_socket_fd(g->f);
	g->mem = vu_front_mem_base(g->f);
	g->mem_size = vu_front_mem_size(g->f);
	for (int i = 0; i < g->o.nq; i++) {
		/* A fresh packed ring starts at position 0 with wrap counter 1. */
		g->q[i].start = g->o.packed ? 0x8000 : 0;
		if (vt_queue_init(g, &g->q[i])) {
			tap_fail(__FILE__, __LINE__, "cannot set up queue %d", i);
			vt_guest_close(g);
			return NULL;
		}
	}
	return g;
}

struct vt_guest *vt_guest_connect(struct test_daemon *d, const char *ctrlr,
				  const struct vt_guest_opts *o)
{
	struct vt_guest *g = vt_guest_open(d, ctrlr, o);

	if (g && !vt_guest_run(g, 0, vt_guest_nsteps(g))) {
		vt_guest_close(g);
		return NULL;
	}
	return g;
}

void vt_guest_close(struct vt_guest *g)
{
	if (!g)
		return;
	for (int i = 0; i < VT_MAX_QUEUES; i++)
		vt_queue_fini(&g->q[i]);
	if (g->backend_fd >= 0)
		close(g->backend_fd);
	if (g->inflight_fd >= 0)
		close(g->inflight_fd);
	vu_front_close(g->f);
	free(g);
}
