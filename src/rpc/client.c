/* The blocking JSON-RPC client of vhostctl and the tests: one request at a time, with a deadline.
 */
#include "rpc/rpc_internal.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define CLIENT_MAX_RESPONSE_BYTES (256u << 20)
#define CLIENT_READ_CHUNK 65536
#define CLIENT_CONNECT_RETRY_MS 10

struct rpc_client {
	int fd;
	int timeout_ms;
	json_int_t next_id;
	struct rpc_stream in;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left before deadline for poll(): -1 without a deadline, 0 once it passed. */
static int remaining_ms(int64_t deadline)
{
	int64_t left;

	if (deadline < 0)
		return -1;
	left = deadline - now_ms();
	return left > 0 ? (int)left : 0;
}

static int64_t deadline_after(int timeout_ms)
{
	return timeout_ms > 0 ? now_ms() + timeout_ms : -1;
}

static int wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int n;

	do {
		n = poll(&pfd, 1, remaining_ms(deadline));
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == 0 ? -ETIMEDOUT : 0;
}

static int client_connect(struct rpc_client *c, const struct sockaddr_un *addr, int64_t deadline)
{
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -errno;
	/* A Unix socket connect only "blocks" on a full backlog, where it fails with EAGAIN. */
	while (connect(c->fd, (const struct sockaddr *)addr, sizeof(*addr)) < 0) {
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
		if (remaining_ms(deadline) == 0)
			return -ETIMEDOUT;
		usleep(CLIENT_CONNECT_RETRY_MS * 1000);
	}
	return 0;
}

struct rpc_client *rpc_client_connect(const char *path, int timeout_ms)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct rpc_client *c;
	int rc;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	strcpy(addr.sun_path, path);
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->timeout_ms = timeout_ms;
	rc = client_connect(c, &addr, deadline_after(timeout_ms));
	if (rc) {
		rpc_client_close(c);
		errno = -rc;
		return NULL;
	}
	return c;
}

static int send_all(struct rpc_client *c, const char *buf, size_t len, int64_t deadline)
{
	while (len) {
		ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);
		int rc;

		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN)
			return -errno;
		rc = wait_fd(c->fd, POLLOUT, deadline);
		if (rc)
			return rc;
	}
	return 0;
}

/* Reads until one complete JSON value is available. */
static int recv_value(struct rpc_client *c, int64_t deadline, json_t **value)
{
	for (;;) {
		int rc = rpc_stream_next(&c->in, CLIENT_MAX_RESPONSE_BYTES, value);
		char *dst;
		ssize_t n;

		if (rc > 0)
			return 0;
		if (rc < 0)
			return -EPROTO;
		dst = rpc_stream_reserve(&c->in, CLIENT_READ_CHUNK);
		if (!dst)
			return -ENOMEM;
		n = recv(c->fd, dst, CLIENT_READ_CHUNK, 0);
		if (n > 0) {
			c->in.len += (size_t)n;
			continue;
		}
		if (n == 0)
			return -ECONNRESET; /* the server closed before answering */
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		rc = wait_fd(c->fd, POLLIN, deadline);
		if (rc)
			return rc;
	}
}

static int send_request(struct rpc_client *c, const char *method, json_t *params, json_int_t id,
			int64_t deadline)
{
	json_t *req = json_pack("{s:s, s:s, s:I}", "jsonrpc", "2.0", "method", method, "id", id);
	char *text;
	int rc;

	if (!req) {
		json_decref(params);
		return -ENOMEM;
	}
	if (params)
		json_object_set_new(req, "params", params);
	text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (!text)
		return -ENOMEM;
	rc = send_all(c, text, strlen(text), deadline);
	free(text);
	return rc;
}

int rpc_client_call(struct rpc_client *c, const char *method, json_t *params, json_t **result,
		    json_t **error)
{
	int64_t deadline = deadline_after(c->timeout_ms);
	json_int_t id = ++c->next_id;
	json_t *resp;
	int rc;

	*result = NULL;
	*error = NULL;
	rc = send_request(c, method, params, id, deadline);
	if (rc)
		return rc;
	for (;;) {
		rc = recv_value(c, deadline, &resp);
		if (rc)
			return rc;
		/* Another id would be the leftover of an abandoned call; a null id answers a
		 * request the server could not read, which can only be ours. */
		if (json_integer_value(json_object_get(resp, "id")) == id ||
		    json_is_null(json_object_get(resp, "id")))
			break;
		json_decref(resp);
	}
	*error = json_incref(json_object_get(resp, "error"));
	*result = json_incref(json_object_get(resp, "result"));
	json_decref(resp);
	if (*error) {
		json_decref(*result);
		*result = NULL;
		return 1;
	}
	return *result ? 0 : -EPROTO;
}

void rpc_client_close(struct rpc_client *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	rpc_stream_free(&c->in);
	free(c);
}
