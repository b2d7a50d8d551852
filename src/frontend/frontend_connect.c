/*
 * Connection and handshake, in the order QEMU 7.2 drives a vhost-user-blk-pci device: back-end
 * init (features, protocol features, queue count, memory slots, back-end channel), SET_OWNER,
 * GET_CONFIG, then at start the inflight area, SET_FEATURES, the memory table, every vring, the
 * enables and the status. Close mirrors QEMU's stop: disable rings, reset status, GET_VRING_BASE.
 */
#include "frontend/frontend_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_MEM_SIZE (64u << 20)
#define DEFAULT_QUEUE_SIZE 128
#define DEFAULT_TIMEOUT_MS 5000
/* virtio-blk config space up to the secure-erase fields: what QEMU 7.2 reads with GET_CONFIG. */
#define DEFAULT_CONFIG_LEN 60

#define BIT(n) (1ULL << (n))
#define KNOWN_PROTOCOL_FEATURES                                                          \
	(BIT(VU_PROTO_F_MQ) | BIT(VU_PROTO_F_REPLY_ACK) | BIT(VU_PROTO_F_BACKEND_REQ) |  \
	 BIT(VU_PROTO_F_CONFIG) | BIT(VU_PROTO_F_INFLIGHT_SHMFD) |                       \
	 BIT(VU_PROTO_F_CONFIGURE_MEM_SLOTS) | BIT(VU_PROTO_F_STATUS))
#define VIRTIO_F_VERSION_1_BIT 32
#define VIRTIO_F_RING_PACKED_BIT 34
#define DEVICE_FEATURES_MASK 0xffffffULL /* bits 0-23 are the device type's own */

#define STATUS_ACKNOWLEDGE 1
#define STATUS_DRIVER 2
#define STATUS_DRIVER_OK 4
#define STATUS_FEATURES_OK 8

static int socket_connect(const char *path, int timeout_ms)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct timespec pause = { .tv_nsec = 10 * 1000 * 1000 };
	int waited = 0;

	if (!path || strlen(path) >= sizeof(addr.sun_path))
		return -EINVAL;
	strcpy(addr.sun_path, path);
	for (;;) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0)
			return -errno;
		if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0)
			return fd;
		int err = -errno;

		close(fd);
		/* A back-end still starting up has no socket yet, or is not listening yet. */
		if ((err != -ENOENT && err != -ECONNREFUSED) || waited >= timeout_ms)
			return err;
		nanosleep(&pause, NULL);
		waited += 10;
	}
}

static struct vu_front *front_new(const char *path, size_t mem_size, int nregions, int timeout_ms)
{
	struct vu_front *f = calloc(1, sizeof(*f));
	int rc;

	if (!f) {
		errno = ENOMEM;
		return NULL;
	}
	f->backend_fd = -1;
	f->inflight_fd = -1;
	f->timeout_ms = timeout_ms > 0 ? timeout_ms : DEFAULT_TIMEOUT_MS;
	rc = vu_mem_init(&f->mem, mem_size ? mem_size : DEFAULT_MEM_SIZE, nregions);
	if (rc) {
		free(f);
		errno = -rc;
		return NULL;
	}
	f->sock = socket_connect(path, f->timeout_ms);
	if (f->sock < 0) {
		rc = f->sock;
		vu_mem_fini(&f->mem);
		free(f);
		errno = -rc;
		return NULL;
	}
	return f;
}

struct vu_front *vu_front_connect_raw(const char *path, size_t mem_size, int timeout_ms)
{
	return front_new(path, mem_size, 1, timeout_ms);
}

static bool has_proto(const struct vu_front *f, int bit)
{
	return f->protocol_features & BIT(bit);
}

/* Runs one step; on failure records what failed for the caller. */
#define STEP(call, what)                                                                 \
	do {                                                                             \
		int rc_ = (call);                                                        \
		if (rc_ < 0) {                                                           \
			*why = (what);                                                   \
			return rc_;                                                      \
		}                                                                        \
	} while (0)
/* Runs a helper that records its own reason. */
#define TRY(call)                                                                        \
	do {                                                                             \
		int rc_ = (call);                                                        \
		if (rc_ < 0)                                                             \
			return rc_;                                                      \
	} while (0)

static int negotiate_protocol(struct vu_front *f, const struct vu_front_opts *o, const char **why)
{
	uint64_t offered, want = o->want_protocol_features ? o->want_protocol_features
							   : KNOWN_PROTOCOL_FEATURES;

	STEP(vu_msg_get_u64(f, VU_REQ_GET_PROTOCOL_FEATURES, &offered), "GET_PROTOCOL_FEATURES");
	f->protocol_features = offered & want & KNOWN_PROTOCOL_FEATURES;
	/* QEMU sends this one without asking for an ack: REPLY_ACK is not agreed until it lands. */
	STEP(vu_msg_send_fd(f->sock, VU_REQ_SET_PROTOCOL_FEATURES, VU_FLAG_VERSION,
			    &f->protocol_features, sizeof(uint64_t), NULL, 0),
	     "SET_PROTOCOL_FEATURES");
	f->reply_ack = has_proto(f, VU_PROTO_F_REPLY_ACK);
	return 0;
}

static int check_limits(struct vu_front *f, const char **why)
{
	uint64_t n;

	if (has_proto(f, VU_PROTO_F_MQ)) {
		STEP(vu_msg_get_u64(f, VU_REQ_GET_QUEUE_NUM, &n), "GET_QUEUE_NUM");
		if ((uint64_t)f->nqueues > n) {
			*why = "back-end has fewer queues than asked for";
			return -EINVAL;
		}
	} else if (f->nqueues > 1) {
		*why = "back-end does not offer VHOST_USER_PROTOCOL_F_MQ";
		return -EOPNOTSUPP;
	}
	if (has_proto(f, VU_PROTO_F_CONFIGURE_MEM_SLOTS)) {
		STEP(vu_msg_get_u64(f, VU_REQ_GET_MAX_MEM_SLOTS, &n), "GET_MAX_MEM_SLOTS");
		if ((uint64_t)f->mem.nregions > n) {
			*why = "back-end has fewer memory slots than regions";
			return -EINVAL;
		}
	}
	return 0;
}

static int open_backend_channel(struct vu_front *f, const char **why)
{
	int sv[2], rc;

	if (!has_proto(f, VU_PROTO_F_BACKEND_REQ))
		return 0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		*why = "socketpair";
		return -errno;
	}
	rc = vu_msg_call(f, VU_REQ_SET_BACKEND_REQ_FD, NULL, 0, &sv[1], 1);
	close(sv[1]);
	if (rc) {
		close(sv[0]);
		*why = "SET_BACKEND_REQ_FD";
		return rc;
	}
	f->backend_fd = sv[0];
	return 0;
}

static int choose_features(struct vu_front *f, const struct vu_front_opts *o, uint64_t offered,
			   const char **why)
{
	uint64_t want = (o->want_features & DEVICE_FEATURES_MASK) | BIT(VIRTIO_F_VERSION_1_BIT);

	if (o->packed)
		want |= BIT(VIRTIO_F_RING_PACKED_BIT);
	if (!o->no_event_idx)
		want |= BIT(VIRTIO_RING_F_EVENT_IDX);
	if (!o->no_indirect)
		want |= BIT(VIRTIO_RING_F_INDIRECT_DESC);
	f->features = offered & want;
	if (!(f->features & BIT(VIRTIO_F_VERSION_1_BIT))) {
		*why = "back-end does not offer VIRTIO_F_VERSION_1";
		return -EOPNOTSUPP;
	}
	if (o->packed && !(f->features & BIT(VIRTIO_F_RING_PACKED_BIT))) {
		*why = "back-end does not offer VIRTIO_F_RING_PACKED";
		return -EOPNOTSUPP;
	}
	return 0;
}

/* Like QEMU: allocate the inflight area only when the back-end offers INFLIGHT_SHMFD. */
static int setup_inflight(struct vu_front *f, uint16_t queue_size, const char **why)
{
	struct vu_wire_inflight in = { .num_queues = f->nqueues, .queue_size = queue_size };
	int fd = -1, rc;

	if (!has_proto(f, VU_PROTO_F_INFLIGHT_SHMFD))
		return 0;
	STEP(vu_msg_get(f, VU_REQ_GET_INFLIGHT_FD, &in, sizeof(in), &in, sizeof(in), &fd),
	     "GET_INFLIGHT_FD");
	if (!in.mmap_size) { /* the back-end keeps no inflight state */
		if (fd >= 0)
			close(fd);
		return 0;
	}
	if (fd < 0) {
		*why = "GET_INFLIGHT_FD reply carries no fd";
		return -EPROTO;
	}
	f->inflight_fd = fd;
	f->inflight = mmap(NULL, in.mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			   in.mmap_offset);
	if (f->inflight == MAP_FAILED) {
		f->inflight = NULL;
		*why = "mmap of the inflight area";
		return -errno;
	}
	f->inflight_size = in.mmap_size;
	rc = vu_msg_call(f, VU_REQ_SET_INFLIGHT_FD, &in, sizeof(in), &fd, 1);
	if (rc)
		*why = "SET_INFLIGHT_FD";
	return rc;
}

static int send_memory(struct vu_front *f, const char **why)
{
	if (has_proto(f, VU_PROTO_F_CONFIGURE_MEM_SLOTS)) {
		for (int i = 0; i < f->mem.nregions; i++) {
			struct vu_wire_mem_single reg = { 0 };

			vu_mem_wire_region(&f->mem, i, &reg.region);
			STEP(vu_msg_call(f, VU_REQ_ADD_MEM_REG, &reg, sizeof(reg), &f->mem.fd, 1),
			     "ADD_MEM_REG");
		}
		return 0;
	}
	struct vu_wire_mem_table t = { .nregions = f->mem.nregions };
	int fds[VU_MEM_TABLE_MAX_REGIONS];

	for (int i = 0; i < f->mem.nregions; i++) {
		vu_mem_wire_region(&f->mem, i, &t.regions[i]);
		fds[i] = f->mem.fd;
	}
	/* The payload carries only the regions in use, as QEMU sends it. */
	STEP(vu_msg_call(f, VU_REQ_SET_MEM_TABLE, &t,
			 8 + sizeof(t.regions[0]) * f->mem.nregions, fds, f->mem.nregions),
	     "SET_MEM_TABLE");
	return 0;
}

static int vring_state(struct vu_front *f, uint32_t request, uint32_t index, uint32_t num)
{
	struct vu_wire_vring_state s = { .index = index, .num = num };

	return vu_msg_call(f, request, &s, sizeof(s), NULL, 0);
}

static int start_vring(struct vu_front *f, struct vu_queue *q, const char **why)
{
	struct vu_wire_vring_addr a = {
		.index = q->index,
		.desc_uaddr = (uintptr_t)q->desc,
		.used_uaddr = (uintptr_t)q->device,
		.avail_uaddr = (uintptr_t)q->driver,
	};
	uint64_t idx = q->index;

	STEP(vring_state(f, VU_REQ_SET_VRING_NUM, q->index, q->num), "SET_VRING_NUM");
	STEP(vring_state(f, VU_REQ_SET_VRING_BASE, q->index, q->ops->base(q)), "SET_VRING_BASE");
	STEP(vu_msg_call(f, VU_REQ_SET_VRING_ADDR, &a, sizeof(a), NULL, 0), "SET_VRING_ADDR");
	STEP(vu_msg_call(f, VU_REQ_SET_VRING_KICK, &idx, sizeof(idx), &q->kick_fd, 1),
	     "SET_VRING_KICK");
	STEP(vu_msg_call(f, VU_REQ_SET_VRING_CALL, &idx, sizeof(idx), &q->call_fd, 1),
	     "SET_VRING_CALL");
	return 0;
}

static int handshake(struct vu_front *f, const struct vu_front_opts *o, const char **why)
{
	uint16_t qsize = o->queue_size ? o->queue_size : DEFAULT_QUEUE_SIZE;
	uint64_t offered;
	uint8_t config[DEFAULT_CONFIG_LEN];

	if (!o->packed && (qsize & (qsize - 1))) {
		*why = "split queue size must be a power of two";
		return -EINVAL;
	}
	if (qsize > 32768) {
		*why = "queue size above 32768";
		return -EINVAL;
	}
	STEP(vu_msg_get_u64(f, VU_REQ_GET_FEATURES, &offered), "GET_FEATURES");
	if (offered & BIT(VU_F_PROTOCOL_FEATURES)) {
		f->vring_enable = true;
		TRY(negotiate_protocol(f, o, why));
	}
	TRY(check_limits(f, why));
	TRY(open_backend_channel(f, why));
	STEP(vu_msg_call(f, VU_REQ_SET_OWNER, NULL, 0, NULL, 0), "SET_OWNER");
	if (has_proto(f, VU_PROTO_F_CONFIG))
		STEP(vu_front_get_config(f, config, sizeof(config)), "GET_CONFIG");
	TRY(choose_features(f, o, offered, why));
	for (int i = 0; i < f->nqueues; i++)
		STEP(vu_queue_init(f, i, qsize, o->packed), "allocating the rings");
	f->mem.buffers_off = f->mem.alloc_off;
	TRY(setup_inflight(f, qsize, why));
	/* Bit 30 stays set in SET_FEATURES once protocol features are in use, as QEMU does. */
	STEP(vu_msg_call_u64(f, VU_REQ_SET_FEATURES,
			     f->features | (offered & BIT(VU_F_PROTOCOL_FEATURES))),
	     "SET_FEATURES");
	if (has_proto(f, VU_PROTO_F_STATUS))
		STEP(vu_msg_call_u64(f, VU_REQ_SET_STATUS,
				     STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK),
		     "SET_STATUS");
	TRY(send_memory(f, why));
	for (int i = 0; i < f->nqueues; i++)
		TRY(start_vring(f, &f->queues[i], why));
	/* With protocol features rings start disabled and wait for SET_VRING_ENABLE. */
	if (f->vring_enable)
		for (int i = 0; i < f->nqueues; i++)
			STEP(vring_state(f, VU_REQ_SET_VRING_ENABLE, i, 1), "SET_VRING_ENABLE");
	f->started = true;
	if (has_proto(f, VU_PROTO_F_STATUS))
		STEP(vu_msg_call_u64(f, VU_REQ_SET_STATUS,
				     STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK |
					     STATUS_DRIVER_OK),
		     "SET_STATUS");
	return 0;
}

struct vu_front *vu_front_connect(const struct vu_front_opts *opts, const char **err)
{
	const char *why = "invalid options";
	struct vu_front *f;
	int rc;

	if (!opts || !opts->path || opts->num_queues < 0 ||
	    opts->num_queues > VU_FRONT_MAX_QUEUES || opts->mem_regions < 0 ||
	    opts->mem_regions > VU_FRONT_MAX_REGIONS) {
		rc = -EINVAL;
		goto fail_early;
	}
	f = front_new(opts->path, opts->mem_size, opts->mem_regions ? opts->mem_regions : 1,
		      opts->connect_timeout_ms);
	if (!f) {
		rc = -errno;
		why = "cannot connect to the back-end socket or map guest memory";
		goto fail_early;
	}
	f->nqueues = opts->num_queues ? opts->num_queues : 1;
	f->busy_poll = opts->busy_poll;
	rc = handshake(f, opts, &why);
	if (rc) {
		vu_front_close(f);
		goto fail_early;
	}
	return f;
fail_early:
	if (err)
		*err = why;
	errno = -rc;
	return NULL;
}

/* QEMU's stop: rings disabled, status reset, then GET_VRING_BASE waits for in-flight requests. */
static void stop(struct vu_front *f)
{
	struct vu_wire_vring_state s;
	int rc = 0;

	for (int i = 0; i < f->nqueues && !rc && f->vring_enable; i++)
		rc = vring_state(f, VU_REQ_SET_VRING_ENABLE, i, 0);
	if (!rc && has_proto(f, VU_PROTO_F_STATUS))
		rc = vu_msg_call_u64(f, VU_REQ_SET_STATUS, 0);
	for (int i = 0; i < f->nqueues && !rc; i++) {
		s = (struct vu_wire_vring_state){ .index = i };
		rc = vu_msg_get(f, VU_REQ_GET_VRING_BASE, &s, sizeof(s), &s, sizeof(s), NULL);
	}
}

void vu_front_close(struct vu_front *f)
{
	if (!f)
		return;
	if (f->started)
		stop(f);
	close(f->sock);
	if (f->backend_fd >= 0)
		close(f->backend_fd);
	for (int i = 0; i < f->nqueues; i++)
		vu_queue_fini(&f->queues[i]);
	if (f->inflight)
		munmap(f->inflight, f->inflight_size);
	if (f->inflight_fd >= 0)
		close(f->inflight_fd);
	vu_mem_fini(&f->mem);
	free(f);
}

uint64_t vu_front_features(const struct vu_front *f)
{
	return f->features;
}

uint64_t vu_front_protocol_features(const struct vu_front *f)
{
	return f->protocol_features;
}

int vu_front_num_queues(const struct vu_front *f)
{
	return f->nqueues;
}

size_t vu_front_inflight_size(const struct vu_front *f)
{
	return f->inflight_size;
}

int vu_front_get_config(struct vu_front *f, void *buf, uint32_t len)
{
	struct vu_wire_config c = { .size = len };

	if (!buf || !len || len > VU_CONFIG_MAX)
		return -EINVAL;
	if (!has_proto(f, VU_PROTO_F_CONFIG))
		return -EOPNOTSUPP;
	int rc = vu_msg_get(f, VU_REQ_GET_CONFIG, &c, VU_WIRE_CONFIG_HDR + len, &c,
			    VU_WIRE_CONFIG_HDR + len, NULL);

	if (rc)
		return rc; /* a back-end that fails GET_CONFIG answers with an empty payload */
	memcpy(buf, c.payload, len);
	return 0;
}
