/* The vhost-user protocol on the control thread: receive, validate, apply and answer messages. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/virtio_config.h>

#include "core/log.h"
#include "core/reactor.h"
#include "vhost/inflight.h"
#include "vhost/session.h"

#define TRANSPORT_FEATURES                                                                         \
	((1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_RING_F_INDIRECT_DESC) |                    \
	 (1ULL << VIRTIO_RING_F_EVENT_IDX) | (1ULL << VHOST_USER_F_PROTOCOL_FEATURES))

#define PROTOCOL_FEATURES                                                                          \
	((1ULL << VHOST_USER_PROTOCOL_F_MQ) | (1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK) |         \
	 (1ULL << VHOST_USER_PROTOCOL_F_BACKEND_REQ) | (1ULL << VHOST_USER_PROTOCOL_F_CONFIG) |   \
	 (1ULL << VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD) |                                          \
	 (1ULL << VHOST_USER_PROTOCOL_F_RESET_DEVICE) |                                            \
	 (1ULL << VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS) |                                     \
	 (1ULL << VHOST_USER_PROTOCOL_F_STATUS))

static const char *const request_names[VHOST_USER_REQUEST_MAX] = {
	[VHOST_USER_GET_FEATURES] = "GET_FEATURES",
	[VHOST_USER_SET_FEATURES] = "SET_FEATURES",
	[VHOST_USER_SET_OWNER] = "SET_OWNER",
	[VHOST_USER_RESET_OWNER] = "RESET_OWNER",
	[VHOST_USER_SET_MEM_TABLE] = "SET_MEM_TABLE",
	[VHOST_USER_SET_LOG_BASE] = "SET_LOG_BASE",
	[VHOST_USER_SET_LOG_FD] = "SET_LOG_FD",
	[VHOST_USER_SET_VRING_NUM] = "SET_VRING_NUM",
	[VHOST_USER_SET_VRING_ADDR] = "SET_VRING_ADDR",
	[VHOST_USER_SET_VRING_BASE] = "SET_VRING_BASE",
	[VHOST_USER_GET_VRING_BASE] = "GET_VRING_BASE",
	[VHOST_USER_SET_VRING_KICK] = "SET_VRING_KICK",
	[VHOST_USER_SET_VRING_CALL] = "SET_VRING_CALL",
	[VHOST_USER_SET_VRING_ERR] = "SET_VRING_ERR",
	[VHOST_USER_GET_PROTOCOL_FEATURES] = "GET_PROTOCOL_FEATURES",
	[VHOST_USER_SET_PROTOCOL_FEATURES] = "SET_PROTOCOL_FEATURES",
	[VHOST_USER_GET_QUEUE_NUM] = "GET_QUEUE_NUM",
	[VHOST_USER_SET_VRING_ENABLE] = "SET_VRING_ENABLE",
	[VHOST_USER_SET_BACKEND_REQ_FD] = "SET_BACKEND_REQ_FD",
	[VHOST_USER_GET_CONFIG] = "GET_CONFIG",
	[VHOST_USER_SET_CONFIG] = "SET_CONFIG",
	[VHOST_USER_GET_INFLIGHT_FD] = "GET_INFLIGHT_FD",
	[VHOST_USER_SET_INFLIGHT_FD] = "SET_INFLIGHT_FD",
	[VHOST_USER_RESET_DEVICE] = "RESET_DEVICE",
	[VHOST_USER_GET_MAX_MEM_SLOTS] = "GET_MAX_MEM_SLOTS",
	[VHOST_USER_ADD_MEM_REG] = "ADD_MEM_REG",
	[VHOST_USER_REM_MEM_REG] = "REM_MEM_REG",
	[VHOST_USER_SET_STATUS] = "SET_STATUS",
	[VHOST_USER_GET_STATUS] = "GET_STATUS",
};

static const char *request_name(uint32_t req)
{
	return req < VHOST_USER_REQUEST_MAX && request_names[req] ? request_names[req] : "UNKNOWN";
}

const char *vhost_session_name(const struct vhost_session *s)
{
	return s->name;
}

static uint64_t offered_features(const struct vhost_session *s)
{
	uint64_t f = TRANSPORT_FEATURES | vhost_session_ops(s)->features(s->dev);

	if (vhost_dev_packed_ring(s->dev))
		f |= 1ULL << VIRTIO_F_RING_PACKED;
	return f;
}

static int send_msg(int fd, const struct vhost_user_header *hdr, const void *payload, const int *fds, int nfds)
{
	char control[CMSG_SPACE(sizeof(int) * VHOST_USER_MAX_FDS)] = { 0 };
	struct iovec iov[2] = { { (void *)hdr, sizeof(*hdr) }, { (void *)payload, hdr->size } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = hdr->size ? 2 : 1 };
	ssize_t n;

	if (nfds > 0) {
		struct cmsghdr *cm;

		mh.msg_control = control;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}
	/* Never wait: the back-end channel is a socket the front-end made (blocking, maybe
	 * full). */
	do {
		n = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == (ssize_t)(sizeof(*hdr) + hdr->size) ? 0 : -EIO;
}

static int reply(struct vhost_session *s, const struct vhost_user_msg *msg, const void *payload, uint32_t size,
		 const int *fds, int nfds)
{
	struct vhost_user_header hdr = {
		.request = msg->hdr.request,
		.flags = VHOST_USER_VERSION | VHOST_USER_REPLY_FLAG,
		.size = size,
	};

	return send_msg(s->fd, &hdr, payload, fds, nfds);
}

static int reply_u64(struct vhost_session *s, const struct vhost_user_msg *msg, uint64_t value)
{
	return reply(s, msg, &value, sizeof(value), NULL, 0);
}

/* Takes ownership of received fd i (the dispatcher closes the ones not taken). */
static int take_fd(struct vhost_user_msg *msg, int i)
{
	int fd = msg->fds[i];

	msg->fds[i] = -1;
	return fd;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* --- per-message validation --- */

static uint32_t min_payload(uint32_t req)
{
	switch (req) {
	case VHOST_USER_SET_FEATURES:
	case VHOST_USER_SET_PROTOCOL_FEATURES:
	case VHOST_USER_SET_VRING_KICK:
	case VHOST_USER_SET_VRING_CALL:
	case VHOST_USER_SET_VRING_ERR:
	case VHOST_USER_SET_STATUS:
	case VHOST_USER_SET_LOG_BASE:
		return sizeof(uint64_t);
	case VHOST_USER_SET_VRING_NUM:
	case VHOST_USER_SET_VRING_BASE:
	case VHOST_USER_GET_VRING_BASE:
	case VHOST_USER_SET_VRING_ENABLE:
		return sizeof(struct vhost_user_vring_state);
	case VHOST_USER_SET_VRING_ADDR:
		return sizeof(struct vhost_user_vring_addr);
	case VHOST_USER_SET_MEM_TABLE:
		return 8;
	case VHOST_USER_ADD_MEM_REG:
	case VHOST_USER_REM_MEM_REG:
		return sizeof(struct vhost_user_mem_single);
	case VHOST_USER_GET_CONFIG:
	case VHOST_USER_SET_CONFIG:
		return VHOST_USER_CONFIG_HDR_SIZE;
	case VHOST_USER_GET_INFLIGHT_FD:
	case VHOST_USER_SET_INFLIGHT_FD:
		return VHOST_USER_INFLIGHT_MIN_SIZE;
	default:
		return 0;
	}
}

/* How many fds the message must carry; -1 when it depends on the payload (checked by its handler). */
static int expected_fds(const struct vhost_user_msg *msg)
{
	switch (msg->hdr.request) {
	case VHOST_USER_SET_MEM_TABLE:
		return (int)msg->payload.mem.nregions;
	case VHOST_USER_ADD_MEM_REG:
	case VHOST_USER_SET_BACKEND_REQ_FD:
	case VHOST_USER_SET_INFLIGHT_FD:
	case VHOST_USER_SET_LOG_FD:
		return 1;
	case VHOST_USER_REM_MEM_REG:
		return -1; /* QEMU attaches the region's fd, other front-ends do not */
	case VHOST_USER_SET_VRING_KICK:
	case VHOST_USER_SET_VRING_CALL:
	case VHOST_USER_SET_VRING_ERR:
		return (msg->payload.u64 & VHOST_USER_VRING_NOFD_MASK) ? 0 : 1;
	default:
		return 0;
	}
}

static int msg_check(const struct vhost_session *s, const struct vhost_user_msg *msg)
{
	int want;

	if ((msg->hdr.flags & VHOST_USER_VERSION_MASK) != VHOST_USER_VERSION) {
		log_error("%s: %s: bad protocol version %u", s->name, request_name(msg->hdr.request),
			  msg->hdr.flags & VHOST_USER_VERSION_MASK);
		return -EPROTO;
	}
	if (msg->hdr.size < min_payload(msg->hdr.request)) {
		log_error("%s: %s: payload of %u bytes, need %u", s->name, request_name(msg->hdr.request),
			  msg->hdr.size, min_payload(msg->hdr.request));
		return -EPROTO;
	}
	if (msg->hdr.request == VHOST_USER_SET_MEM_TABLE &&
	    (msg->payload.mem.nregions > VHOST_USER_MAX_FDS ||
	     msg->hdr.size < 8 + msg->payload.mem.nregions * sizeof(struct vhost_user_mem_region))) {
		log_error("%s: SET_MEM_TABLE: %u regions in %u bytes", s->name, msg->payload.mem.nregions,
			  msg->hdr.size);
		return -EPROTO;
	}
	want = expected_fds(msg);
	if (want >= 0 && want != msg->nfds) {
		log_error("%s: %s: carries %d fds, expected %d", s->name, request_name(msg->hdr.request),
			  msg->nfds, want);
		return -EPROTO;
	}
	return 0;
}

/* The queue a message names, or NULL (logged) when out of range. */
static struct vhost_vq *msg_vq(struct vhost_session *s, const struct vhost_user_msg *msg, uint32_t index)
{
	uint16_t max = vhost_session_ops(s)->num_queues(s->dev);

	if (index >= max || index >= VHOST_MAX_QUEUES) {
		log_error("%s: %s: queue %u out of range (%u queues)", s->name, request_name(msg->hdr.request),
			  index, max);
		return NULL;
	}
	return &s->vqs[index];
}

/* Queues that must stop before msg can be applied. */
static uint64_t msg_affected_queues(const struct vhost_user_msg *msg)
{
	uint32_t index;

	switch (msg->hdr.request) {
	case VHOST_USER_SET_VRING_NUM:
	case VHOST_USER_SET_VRING_BASE:
	case VHOST_USER_GET_VRING_BASE:
	case VHOST_USER_SET_VRING_ADDR:
		index = msg->payload.state.index;
		break;
	case VHOST_USER_SET_VRING_ENABLE:
		if (msg->payload.state.num)
			return 0;
		index = msg->payload.state.index;
		break;
	case VHOST_USER_SET_VRING_KICK:
		index = msg->payload.u64 & VHOST_USER_VRING_IDX_MASK;
		break;
	case VHOST_USER_SET_FEATURES:
	case VHOST_USER_SET_MEM_TABLE:
	case VHOST_USER_ADD_MEM_REG:
	case VHOST_USER_REM_MEM_REG:
	case VHOST_USER_RESET_OWNER:
	case VHOST_USER_RESET_DEVICE:
	case VHOST_USER_SET_INFLIGHT_FD:
		return ~0ULL;
	default:
		return 0;
	}
	return index < VHOST_MAX_QUEUES ? 1ULL << index : 0;
}

/* --- handlers: each returns 0, a negative errno (the request failed), or 1 when it replied itself --- */

static void vq_reset(struct vhost_vq *vq)
{
	close_fd(&vq->kick_fd);
	close_fd(&vq->call_fd);
	vq->addr_set = vq->kick_set = vq->enabled = vq->kick_polled = false;
	vq->broken = false;
	vq->size = 0;
	vq->last_avail_idx = vq->last_used_idx = 0;
	vq->avail_wrap = vq->used_wrap = true;
}

static void session_reset(struct vhost_session *s)
{
	for (int i = 0; i < VHOST_MAX_QUEUES; i++)
		vq_reset(&s->vqs[i]);
	s->features = 0;
	s->features_set = false;
	s->status = 0;
}

static int handle_set_features(struct vhost_session *s, struct vhost_user_msg *msg)
{
	uint64_t f = msg->payload.u64;

	if (f & ~offered_features(s)) {
		log_error("%s: SET_FEATURES 0x%llx asks for features not offered (0x%llx)", s->name,
			  (unsigned long long)f, (unsigned long long)offered_features(s));
		return -EINVAL;
	}
	s->features = f;
	s->features_set = true;
	return 0;
}

static int handle_set_protocol_features(struct vhost_session *s, struct vhost_user_msg *msg)
{
	if (msg->payload.u64 & ~PROTOCOL_FEATURES) {
		log_error("%s: SET_PROTOCOL_FEATURES 0x%llx asks for features not offered", s->name,
			  (unsigned long long)msg->payload.u64);
		return -EINVAL;
	}
	s->protocol_features = msg->payload.u64;
	return 0;
}

static int handle_set_mem_table(struct vhost_session *s, struct vhost_user_msg *msg)
{
	vhost_mem_clear(&s->mem);
	for (uint32_t i = 0; i < msg->payload.mem.nregions; i++) {
		int rc = vhost_mem_add(&s->mem, &msg->payload.mem.regions[i], msg->fds[i]);

		if (rc) {
			log_error("%s: SET_MEM_TABLE: region %u rejected: %s", s->name, i, strerror(-rc));
			vhost_mem_clear(&s->mem);
			return rc;
		}
	}
	return 0;
}

static int handle_add_mem_reg(struct vhost_session *s, struct vhost_user_msg *msg)
{
	int rc = vhost_mem_add(&s->mem, &msg->payload.mem_single.region, msg->fds[0]);

	if (rc)
		log_error("%s: ADD_MEM_REG rejected: %s", s->name, strerror(-rc));
	return rc;
}

static int handle_rem_mem_reg(struct vhost_session *s, struct vhost_user_msg *msg)
{
	int rc = vhost_mem_remove(&s->mem, &msg->payload.mem_single.region);

	if (rc)
		log_error("%s: REM_MEM_REG: no such region", s->name);
	return rc;
}

static int handle_set_vring_num(struct vhost_session *s, struct vhost_user_msg *msg)
{
	struct vhost_vq *vq = msg_vq(s, msg, msg->payload.state.index);
	uint32_t num = msg->payload.state.num;

	if (!vq)
		return -EINVAL;
	/* Split rings need a power of two (free-running 16-bit indexes); packed ones do not. */
	if (num == 0 || num > 32768 ||
	    (!(s->features & (1ULL << VIRTIO_F_RING_PACKED)) && (num & (num - 1)))) {
		log_error("%s: SET_VRING_NUM: bad size %u for queue %u", s->name, num, vq->index);
		return -EINVAL;
	}
	vq->size = (uint16_t)num;
	return 0;
}

static int handle_set_vring_addr(struct vhost_session *s, struct vhost_user_msg *msg)
{
	struct vhost_vq *vq = msg_vq(s, msg, msg->payload.addr.index);

	if (!vq)
		return -EINVAL;
	vq->desc_uva = msg->payload.addr.desc_user_addr;
	vq->avail_uva = msg->payload.addr.avail_user_addr;
	vq->used_uva = msg->payload.addr.used_user_addr;
	vq->addr_set = true;
	return 0;
}

static int handle_set_vring_base(struct vhost_session *s, struct vhost_user_msg *msg)
{
	struct vhost_vq *vq = msg_vq(s, msg, msg->payload.state.index);

	if (!vq)
		return -EINVAL;
	vq->base = msg->payload.state.num;
	vq->base_pending = true;
	return 0;
}

static int handle_get_vring_base(struct vhost_session *s, struct vhost_user_msg *msg)
{
	struct vhost_user_vring_state state = { .index = msg->payload.state.index };
	struct vhost_vq *vq = msg_vq(s, msg, state.index);

	if (vq) {
		if (vq->base_pending)
			state.num = vq->base;
		else if (vq->ring)
			state.num = vq->ring->get_base(vq);
		/* The ring is stopped now: it starts again only after a new SET_VRING_KICK. */
		close_fd(&vq->kick_fd);
		vq->kick_set = false;
		vq->broken = false;
	}
	reply(s, msg, &state, sizeof(state), NULL, 0);
	return 1;
}

static int handle_vring_fd(struct vhost_session *s, struct vhost_user_msg *msg)
{
	struct vhost_vq *vq = msg_vq(s, msg, msg->payload.u64 & VHOST_USER_VRING_IDX_MASK);
	bool nofd = msg->payload.u64 & VHOST_USER_VRING_NOFD_MASK;
	int fd;

	if (!vq)
		return -EINVAL;
	fd = nofd ? -1 : take_fd(msg, 0);
	/* The worker reads kicks and writes calls: a blocking fd (a full pipe, a drained eventfd)
	 * would stall every queue it serves. */
	if (fd >= 0 && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
		log_error("%s: %s: fd unusable: %s", s->name, request_name(msg->hdr.request),
			  strerror(errno));
		close_fd(&fd);
		return -EINVAL;
	}
	switch (msg->hdr.request) {
	case VHOST_USER_SET_VRING_KICK:
		close_fd(&vq->kick_fd);
		vq->kick_fd = fd;
		vq->kick_polled = nofd;
		vq->kick_set = true;
		break;
	case VHOST_USER_SET_VRING_CALL:
		if (vq->started) {
			vhost_vq_update_call_fd(vq, fd);
		} else {
			close_fd(&vq->call_fd);
			vq->call_fd = fd;
		}
		break;
	default: /* SET_VRING_ERR: we never report ring errors through it */
		close_fd(&fd);
		break;
	}
	return 0;
}

static int handle_set_vring_enable(struct vhost_session *s, struct vhost_user_msg *msg)
{
	struct vhost_vq *vq = msg_vq(s, msg, msg->payload.state.index);

	if (!vq)
		return -EINVAL;
	vq->enabled = msg->payload.state.num != 0;
	return 0;
}

static int handle_get_config(struct vhost_session *s, struct vhost_user_msg *msg)
{
	struct vhost_user_config *cfg = &msg->payload.config;
	uint8_t space[VHOST_USER_CONFIG_MAX] = { 0 };
	uint32_t off = cfg->offset, size = cfg->size;
	int len;

	len = vhost_session_ops(s)->get_config(s->dev, space, sizeof(space));
	/* Answer with an empty payload on failure, as the protocol asks. */
	if (len < 0 || size > VHOST_USER_CONFIG_MAX || off > VHOST_USER_CONFIG_MAX ||
	    off + size > VHOST_USER_CONFIG_MAX || msg->hdr.size < VHOST_USER_CONFIG_HDR_SIZE + size) {
		log_error("%s: GET_CONFIG offset %u size %u refused", s->name, off, size);
		reply(s, msg, NULL, 0, NULL, 0);
		return 1;
	}
	memcpy(cfg->payload, space + off, size);
	reply(s, msg, cfg, VHOST_USER_CONFIG_HDR_SIZE + size, NULL, 0);
	return 1;
}

static int handle_get_inflight_fd(struct vhost_session *s, struct vhost_user_msg *msg)
{
	struct vhost_user_inflight info = msg->payload.inflight;
	struct vhost_inflight *inf;
	uint64_t size;
	int fd, rc;

	/* The front-end sizes our shared memory: no more queues than the device has. */
	if (info.num_queues > vhost_session_ops(s)->num_queues(s->dev))
		rc = -EINVAL;
	else
		rc = vhost_inflight_create(info.num_queues, info.queue_size, &inf, &fd, &size);
	info.mmap_size = rc ? 0 : size;
	if (rc) {
		log_error("%s: GET_INFLIGHT_FD (%u queues of %u) failed: %s", s->name, info.num_queues,
			  info.queue_size, strerror(-rc));
		reply(s, msg, &info, sizeof(info), NULL, 0);
		return 1;
	}
	vhost_inflight_free(s->inflight);
	s->inflight = inf;
	info.mmap_offset = 0;
	reply(s, msg, &info, sizeof(info), &fd, 1);
	close(fd);
	return 1;
}

static int handle_set_inflight_fd(struct vhost_session *s, struct vhost_user_msg *msg)
{
	const struct vhost_user_inflight *info = &msg->payload.inflight;
	struct vhost_inflight *inf;
	int rc;

	rc = vhost_inflight_attach(take_fd(msg, 0), info->mmap_size, info->mmap_offset, info->num_queues,
				   info->queue_size, &inf);
	if (rc) {
		log_error("%s: SET_INFLIGHT_FD rejected: %s", s->name, strerror(-rc));
		return rc;
	}
	vhost_inflight_free(s->inflight);
	s->inflight = inf;
	s->inflight_recover = ~0ULL;
	return 0;
}

static int handle_set_config(struct vhost_session *s, struct vhost_user_msg *msg)
{
	/* Config writes (e.g. the writeback toggle) are not supported: refuse them clearly. */
	log_warn("%s: SET_CONFIG offset %u size %u refused", s->name, msg->payload.config.offset,
		 msg->payload.config.size);
	return -ENOTSUP;
}

int vhost_session_apply(struct vhost_session *s, struct vhost_user_msg *msg)
{
	const struct vhost_dev_ops *ops = vhost_session_ops(s);
	int rc = 0;

	switch (msg->hdr.request) {
	case VHOST_USER_GET_FEATURES:
		rc = reply_u64(s, msg, offered_features(s)) ?: 1;
		break;
	case VHOST_USER_SET_FEATURES:
		rc = handle_set_features(s, msg);
		break;
	case VHOST_USER_GET_PROTOCOL_FEATURES:
		rc = reply_u64(s, msg, PROTOCOL_FEATURES) ?: 1;
		break;
	case VHOST_USER_SET_PROTOCOL_FEATURES:
		rc = handle_set_protocol_features(s, msg);
		break;
	case VHOST_USER_GET_QUEUE_NUM:
		rc = reply_u64(s, msg, ops->num_queues(s->dev)) ?: 1;
		break;
	case VHOST_USER_GET_MAX_MEM_SLOTS:
		rc = reply_u64(s, msg, VHOST_MEM_MAX_REGIONS) ?: 1;
		break;
	case VHOST_USER_SET_OWNER:
		break;
	case VHOST_USER_RESET_OWNER:
	case VHOST_USER_RESET_DEVICE:
		session_reset(s);
		break;
	case VHOST_USER_SET_MEM_TABLE:
		rc = handle_set_mem_table(s, msg);
		break;
	case VHOST_USER_ADD_MEM_REG:
		rc = handle_add_mem_reg(s, msg);
		break;
	case VHOST_USER_REM_MEM_REG:
		rc = handle_rem_mem_reg(s, msg);
		break;
	case VHOST_USER_SET_VRING_NUM:
		rc = handle_set_vring_num(s, msg);
		break;
	case VHOST_USER_SET_VRING_ADDR:
		rc = handle_set_vring_addr(s, msg);
		break;
	case VHOST_USER_SET_VRING_BASE:
		rc = handle_set_vring_base(s, msg);
		break;
	case VHOST_USER_GET_VRING_BASE:
		rc = handle_get_vring_base(s, msg);
		break;
	case VHOST_USER_SET_VRING_KICK:
	case VHOST_USER_SET_VRING_CALL:
	case VHOST_USER_SET_VRING_ERR:
		rc = handle_vring_fd(s, msg);
		break;
	case VHOST_USER_SET_VRING_ENABLE:
		rc = handle_set_vring_enable(s, msg);
		break;
	case VHOST_USER_SET_BACKEND_REQ_FD:
		close_fd(&s->backend_fd);
		s->backend_fd = take_fd(msg, 0);
		break;
	case VHOST_USER_GET_CONFIG:
		rc = handle_get_config(s, msg);
		break;
	case VHOST_USER_SET_CONFIG:
		rc = handle_set_config(s, msg);
		break;
	case VHOST_USER_GET_INFLIGHT_FD:
		rc = handle_get_inflight_fd(s, msg);
		break;
	case VHOST_USER_SET_INFLIGHT_FD:
		rc = handle_set_inflight_fd(s, msg);
		break;
	case VHOST_USER_SET_STATUS:
		s->status = (uint8_t)msg->payload.u64;
		break;
	case VHOST_USER_GET_STATUS:
		rc = reply_u64(s, msg, s->status) ?: 1;
		break;
	default:
		log_warn("%s: %s (%u) not supported", s->name, request_name(msg->hdr.request), msg->hdr.request);
		rc = -ENOTSUP;
		break;
	}
	if (rc == 1)
		return 0;
	if (rc < 0)
		log_debug("%s: %s failed: %s", s->name, request_name(msg->hdr.request), strerror(-rc));
	/* REPLY_ACK: a zero u64 for success, non-zero for failure. */
	if ((msg->hdr.flags & VHOST_USER_NEED_REPLY_FLAG) &&
	    (s->protocol_features & (1ULL << VHOST_USER_PROTOCOL_F_REPLY_ACK)))
		return reply_u64(s, msg, rc ? 1 : 0);
	return 0;
}

/* --- receiving --- */

static void msg_close_fds(struct vhost_user_msg *msg)
{
	for (int i = 0; i < msg->nfds; i++)
		close_fd(&msg->fds[i]);
	msg->nfds = 0;
}

static void session_drop(struct vhost_session *s);
static void session_read(void *arg, uint32_t events);

static void session_resume(struct vhost_session *s)
{
	if (s->closing) {
		session_drop(s);
		return;
	}
	s->rfd = reactor_fd_add(s->fd, EPOLLIN, session_read, s);
	if (!s->rfd)
		session_drop(s);
}

static void session_apply_deferred(struct vhost_session *s)
{
	int rc;

	if (s->closing) {
		msg_close_fds(&s->deferred);
		s->has_deferred = false;
		session_drop(s);
		return;
	}
	rc = vhost_session_apply(s, &s->deferred);
	msg_close_fds(&s->deferred);
	s->has_deferred = false;
	if (rc) {
		s->closing = true;
		session_drop(s);
		return;
	}
	vhost_session_start_ready_queues(s);
	session_resume(s);
}

static void session_dispatch(struct vhost_session *s, struct vhost_user_msg *msg)
{
	uint64_t mask;
	int rc;

	log_debug("%s: %s size %u fds %d", s->name, request_name(msg->hdr.request), msg->hdr.size, msg->nfds);
	rc = msg_check(s, msg);
	if (rc)
		goto drop;
	mask = msg_affected_queues(msg) & vhost_session_started_mask(s);
	if (mask) {
		/* Running queues must drain first: stop reading until the message is applied. */
		s->deferred = *msg;
		s->has_deferred = true;
		msg->nfds = 0;
		reactor_fd_remove(s->rfd);
		s->rfd = NULL;
		vhost_session_stop_queues(s, mask, session_apply_deferred);
		return;
	}
	rc = vhost_session_apply(s, msg);
	msg_close_fds(msg);
	if (rc)
		goto drop;
	vhost_session_start_ready_queues(s);
	return;
drop:
	msg_close_fds(msg);
	log_error("%s: dropping the connection after %s", s->name, request_name(msg->hdr.request));
	s->closing = true;
	session_drop(s);
}

static int recv_some(struct vhost_session *s, void *buf, size_t len)
{
	char control[CMSG_SPACE(sizeof(int) * VHOST_USER_MAX_FDS)];
	struct iovec iov = { buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control,
			     .msg_controllen = sizeof(control) };
	ssize_t n = recvmsg(s->fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	if (n == 0)
		return -ECONNRESET;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		int count, *fds;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		count = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		fds = (int *)CMSG_DATA(cm);
		for (int i = 0; i < count; i++) {
			if (s->rx.nfds < VHOST_USER_MAX_FDS)
				s->rx.fds[s->rx.nfds++] = fds[i];
			else
				close(fds[i]);
		}
	}
	if (mh.msg_flags & MSG_CTRUNC)
		return -EPROTO;
	return (int)n;
}

static void session_read(void *arg, uint32_t events)
{
	struct vhost_session *s = arg;
	const size_t hdr_len = sizeof(struct vhost_user_header);
	int n;

	(void)events;
	/* The payload union is aligned after the packed header: read the two parts separately. */
	if (s->rx_have < hdr_len)
		n = recv_some(s, (uint8_t *)&s->rx.hdr + s->rx_have, hdr_len - s->rx_have);
	else
		n = recv_some(s, (uint8_t *)&s->rx.payload + (s->rx_have - hdr_len),
			      hdr_len + s->rx.hdr.size - s->rx_have);
	if (n < 0) {
		if (n != -ECONNRESET)
			log_error("%s: receive failed: %s", s->name, strerror(-n));
		s->closing = true;
		session_drop(s);
		return;
	}
	s->rx_have += n;
	if (s->rx_have == hdr_len && s->rx.hdr.size > VHOST_USER_PAYLOAD_MAX) {
		log_error("%s: %s with a %u-byte payload: too large", s->name, request_name(s->rx.hdr.request),
			  s->rx.hdr.size);
		s->closing = true;
		session_drop(s);
		return;
	}
	if (s->rx_have < hdr_len || s->rx_have < hdr_len + s->rx.hdr.size)
		return;
	{
		struct vhost_user_msg msg = s->rx;

		memset(&s->rx, 0, sizeof(s->rx));
		s->rx_have = 0;
		session_dispatch(s, &msg);
	}
}

struct vhost_session *vhost_session_create(struct vhost_dev *dev, int fd)
{
	struct vhost_session *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->dev = dev;
	s->fd = fd;
	s->backend_fd = -1;
	snprintf(s->name, sizeof(s->name), "%s", vhost_dev_name(dev));
	for (int i = 0; i < VHOST_MAX_QUEUES; i++) {
		s->vqs[i].session = s;
		s->vqs[i].index = (uint16_t)i;
		s->vqs[i].kick_fd = s->vqs[i].call_fd = -1;
		s->vqs[i].avail_wrap = s->vqs[i].used_wrap = true;
	}
	s->rfd = reactor_fd_add(fd, EPOLLIN, session_read, s);
	if (!s->rfd) {
		free(s);
		return NULL;
	}
	return s;
}

/* Stops every queue, then frees the session (and tells the controller). */
static void session_drop(struct vhost_session *s)
{
	if (s->rfd) {
		reactor_fd_remove(s->rfd);
		s->rfd = NULL;
	}
	if (s->has_deferred || s->stops_pending)
		return; /* the pending stop finishes the drop */
	if (vhost_session_started_mask(s)) {
		vhost_session_stop_queues(s, ~0ULL, session_drop);
		return;
	}
	log_notice("%s: front-end disconnected", s->name);
	vhost_session_free(s);
}

void vhost_session_disconnect(struct vhost_session *s)
{
	s->closing = true;
	session_drop(s);
}

void vhost_session_free(struct vhost_session *s)
{
	struct vhost_dev *dev = s->dev;

	for (int i = 0; i < VHOST_MAX_QUEUES; i++)
		vq_reset(&s->vqs[i]);
	msg_close_fds(&s->rx);
	close_fd(&s->backend_fd);
	vhost_inflight_free(s->inflight);
	vhost_mem_clear(&s->mem);
	close(s->fd);
	free(s);
	vhost_dev_session_closed(dev);
}

int vhost_session_send_config_change(struct vhost_session *s)
{
	struct vhost_user_header hdr = {
		.request = VHOST_USER_BACKEND_CONFIG_CHANGE_MSG,
		.flags = VHOST_USER_VERSION,
		.size = 0,
	};

	if (s->backend_fd < 0 || !(s->protocol_features & (1ULL << VHOST_USER_PROTOCOL_F_BACKEND_REQ)) ||
	    !(s->protocol_features & (1ULL << VHOST_USER_PROTOCOL_F_CONFIG)))
		return -ENOTSUP;
	return send_msg(s->backend_fd, &hdr, NULL, NULL, 0);
}
