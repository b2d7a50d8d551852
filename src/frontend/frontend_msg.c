/* vhost-user messages over the Unix socket: framing, fd passing, replies and REPLY_ACK. */
#include "frontend/frontend_int.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until fd is readable before the deadline (ms on CLOCK_MONOTONIC, <0 = forever). */
static int wait_readable(int fd, int64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	for (;;) {
		int timeout = -1;

		if (deadline >= 0) {
			int64_t left = deadline - now_ms();

			timeout = left > 0 ? (int)left : 0;
		}
		int rc = poll(&pfd, 1, timeout);

		if (rc > 0)
			return 0;
		if (rc == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

int vu_msg_send_fd(int fd, uint32_t request, uint32_t flags, const void *payload, uint32_t size,
		   const int *fds, int nfds)
{
	struct vu_msg_hdr hdr = { .request = request, .flags = flags, .size = size };
	struct iovec iov[2] = {
		{ .iov_base = &hdr, .iov_len = sizeof(hdr) },
		{ .iov_base = (void *)payload, .iov_len = size },
	};
	union {
		char buf[CMSG_SPACE(sizeof(int) * VU_MAX_FDS)];
		struct cmsghdr align;
	} ctl;
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = size ? 2 : 1 };
	ssize_t n;

	if (nfds < 0 || nfds > VU_MAX_FDS || (size && !payload))
		return -EINVAL;
	if (nfds) {
		memset(&ctl, 0, sizeof(ctl));
		msg.msg_control = ctl.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	do
		n = sendmsg(fd, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	/* Messages are small: a short write on a blocking stream socket means the peer is gone. */
	return (size_t)n == sizeof(hdr) + size ? 0 : -EPIPE;
}

static int read_full(int fd, void *buf, size_t len, int64_t deadline)
{
	size_t done = 0;

	while (done < len) {
		int rc = wait_readable(fd, deadline);

		if (rc)
			return rc;
		ssize_t n = read(fd, (char *)buf + done, len - done);

		if (n == 0)
			return -ECONNRESET;
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		done += n;
	}
	return 0;
}

/* Keeps up to room fds of a control message (closing the rest); *nfds gets the count kept. */
static void keep_fds(struct cmsghdr *c, int *fds, int room, int *nfds)
{
	int got = 0;
	int n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
	int in[VU_MAX_FDS + 4];

	if (n > (int)(sizeof(in) / sizeof(in[0])))
		n = sizeof(in) / sizeof(in[0]);
	memcpy(in, CMSG_DATA(c), n * sizeof(int));
	for (int i = 0; i < n; i++) {
		if (got < room)
			fds[got++] = in[i];
		else
			close(in[i]);
	}
	if (nfds)
		*nfds = got;
}

int vu_msg_recv_fd(int fd, struct vu_msg_hdr *hdr, void *payload, uint32_t max, int *fds,
		   int *nfds, int timeout_ms)
{
	int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	union {
		char buf[CMSG_SPACE(sizeof(int) * (VU_MAX_FDS + 4))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = hdr, .iov_len = sizeof(*hdr) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
	int room = nfds ? *nfds : 0;
	ssize_t n;
	int rc;

	if (nfds)
		*nfds = 0;
	rc = wait_readable(fd, deadline);
	if (rc)
		return rc;
	do
		n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ECONNRESET;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			keep_fds(c, fds, room, nfds);
	if ((size_t)n < sizeof(*hdr)) {
		rc = read_full(fd, (char *)hdr + n, sizeof(*hdr) - n, deadline);
		if (rc)
			goto fail;
	}
	if (hdr->size > max) {
		/* Drain the oversized payload so the stream stays in sync. */
		char sink[256];
		uint32_t left = hdr->size;

		while (left && !rc) {
			uint32_t chunk = left < sizeof(sink) ? left : sizeof(sink);

			rc = read_full(fd, sink, chunk, deadline);
			left -= chunk;
		}
		rc = rc ? rc : -EMSGSIZE;
		goto fail;
	}
	rc = read_full(fd, payload, hdr->size, deadline);
	if (rc)
		goto fail;
	return hdr->size;
fail:
	for (int i = 0; nfds && i < *nfds; i++)
		close(fds[i]);
	if (nfds)
		*nfds = 0;
	return rc;
}

/* Reads the reply to request: same request number, REPLY flag set, exactly size bytes. */
static int recv_reply(struct vu_front *f, uint32_t request, void *reply, uint32_t size, int *fd_out)
{
	struct vu_msg_hdr hdr;
	int fds[VU_MAX_FDS], nfds = fd_out ? VU_MAX_FDS : 0;
	int rc = vu_msg_recv_fd(f->sock, &hdr, reply, size, fds, &nfds, f->timeout_ms);

	if (rc < 0)
		return rc;
	if (hdr.request != request || !(hdr.flags & VU_FLAG_REPLY) || hdr.size != size) {
		rc = -EPROTO;
	} else if (fd_out) {
		*fd_out = nfds ? fds[0] : -1;
		for (int i = 1; i < nfds; i++)
			close(fds[i]);
		return 0;
	}
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	return rc < 0 ? rc : 0;
}

int vu_msg_call(struct vu_front *f, uint32_t request, const void *payload, uint32_t size,
		const int *fds, int nfds)
{
	uint32_t flags = VU_FLAG_VERSION | (f->reply_ack ? VU_FLAG_NEED_REPLY : 0);
	uint64_t ack;
	int rc = vu_msg_send_fd(f->sock, request, flags, payload, size, fds, nfds);

	if (rc || !f->reply_ack)
		return rc;
	rc = recv_reply(f, request, &ack, sizeof(ack), NULL);
	if (rc)
		return rc;
	return ack ? -EIO : 0;
}

int vu_msg_get(struct vu_front *f, uint32_t request, const void *payload, uint32_t size,
	       void *reply, uint32_t reply_size, int *fd_out)
{
	int rc = vu_msg_send_fd(f->sock, request, VU_FLAG_VERSION, payload, size, NULL, 0);

	return rc ? rc : recv_reply(f, request, reply, reply_size, fd_out);
}

int vu_msg_call_u64(struct vu_front *f, uint32_t request, uint64_t value)
{
	return vu_msg_call(f, request, &value, sizeof(value), NULL, 0);
}

int vu_msg_get_u64(struct vu_front *f, uint32_t request, uint64_t *value)
{
	return vu_msg_get(f, request, NULL, 0, value, sizeof(*value), NULL);
}

int vu_front_send_msg(struct vu_front *f, uint32_t request, uint32_t flags, const void *payload,
		      uint32_t size, const int *fds, int nfds)
{
	return vu_msg_send_fd(f->sock, request, flags, payload, size, fds, nfds);
}

int vu_front_recv_msg(struct vu_front *f, uint32_t *request, uint32_t *flags, void *payload,
		      uint32_t max, int timeout_ms)
{
	struct vu_msg_hdr hdr;
	int rc = vu_msg_recv_fd(f->sock, &hdr, payload, max, NULL, NULL, timeout_ms);

	if (rc >= 0) {
		*request = hdr.request;
		*flags = hdr.flags;
	}
	return rc;
}

int vu_front_backend_recv(struct vu_front *f, uint32_t *request, void *payload, uint32_t max,
			  int timeout_ms)
{
	struct vu_msg_hdr hdr;
	uint64_t ok = 0;
	int rc;

	if (f->backend_fd < 0)
		return -ENOTCONN;
	rc = vu_msg_recv_fd(f->backend_fd, &hdr, payload, max, NULL, NULL, timeout_ms);
	if (rc < 0)
		return rc;
	*request = hdr.request;
	if (hdr.flags & VU_FLAG_NEED_REPLY) {
		int err = vu_msg_send_fd(f->backend_fd, hdr.request,
					 VU_FLAG_VERSION | VU_FLAG_REPLY, &ok, sizeof(ok), NULL, 0);
		if (err)
			return err;
	}
	return rc;
}

int vu_front_socket_fd(struct vu_front *f)
{
	return f->sock;
}

int vu_front_backend_fd(struct vu_front *f)
{
	return f->backend_fd;
}
