/*
 * The RPC socket: a listening Unix socket and its connections, all on the control reactor.
 *
 * A connection reads whatever arrives, takes every complete JSON value off its input stream and
 * dispatches it; answers (possibly much later) are queued on its output stream and flushed as the
 * socket accepts them. A connection is freed only when nothing refers to it any more: requests in
 * flight hold a reference, so a client that leaves early costs its replies, never a crash.
 * After end of input (or a parse error, which cannot be resynced) the connection still answers what
 * is in flight, then closes.
 */
#include "rpc/rpc_internal.h"

#include "core/log.h"
#include "core/reactor.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define RPC_MAX_REQUEST_BYTES (16u << 20)
/* Stop reading from a client that does not read its answers once this much waits for it. */
#define RPC_OUT_HIGH_WATER (4u << 20)
#define RPC_READ_CHUNK 65536
#define RPC_READS_PER_EVENT 16
#define RPC_LISTEN_BACKLOG 64

struct rpc_conn {
	int fd; /* -1 once closed */
	struct reactor_fd *rfd;
	uint32_t events; /* what rfd watches */
	int refs;        /* the server's list while open, each request in flight, active callers */
	int pending;     /* requests (a batch counts once) not answered yet */
	bool read_closed;
	bool dispatching; /* in conn_read(): flushing and closing wait until it is done */
	struct rpc_stream in;
	struct rpc_stream out;
	struct rpc_conn *next;
};

/* A batch answers once, with the array of its members' responses. */
struct rpc_batch {
	struct rpc_conn *conn;
	int pending; /* members not answered, plus one while they are being dispatched */
	int count;
	json_t *responses[];
};

static struct {
	int fd;
	struct reactor_fd *rfd;
	struct sockaddr_un addr;
	ino_t ino; /* of the socket file we bound, so stop never unlinks someone else's */
	struct rpc_conn *conns;
} server = { .fd = -1 };

static void conn_get(struct rpc_conn *c)
{
	c->refs++;
}

static void conn_put(struct rpc_conn *c)
{
	if (--c->refs > 0)
		return;
	rpc_stream_free(&c->in);
	rpc_stream_free(&c->out);
	free(c);
}

static void conn_on_event(void *arg, uint32_t events);

static void conn_close(struct rpc_conn *c)
{
	struct rpc_conn **pp;

	if (c->fd < 0)
		return;
	reactor_fd_remove(c->rfd);
	c->rfd = NULL;
	close(c->fd);
	c->fd = -1;
	for (pp = &server.conns; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	conn_put(c);
}

/* epoll has no "modify" in the reactor API: re-add the fd when the interest set changes. */
static void conn_watch(struct rpc_conn *c, uint32_t events)
{
	if (events == c->events)
		return;
	reactor_fd_remove(c->rfd);
	c->rfd = NULL;
	c->events = events;
	if (!events)
		return;
	c->rfd = reactor_fd_add(c->fd, events, conn_on_event, c);
	if (!c->rfd) {
		log_error("rpc: cannot watch client socket: %s", strerror(errno));
		conn_close(c);
	}
}

/* Re-decides what to wait for, or closes the connection once it has nothing left to do. */
static void conn_update(struct rpc_conn *c)
{
	bool has_output = rpc_stream_pending(&c->out) > 0;
	uint32_t events = 0;

	if (c->fd < 0 || c->dispatching)
		return;
	if (c->read_closed && !c->pending && !has_output) {
		conn_close(c);
		return;
	}
	if (!c->read_closed && rpc_stream_pending(&c->out) < RPC_OUT_HIGH_WATER)
		events |= EPOLLIN;
	if (has_output)
		events |= EPOLLOUT;
	conn_watch(c, events);
}

static void conn_flush(struct rpc_conn *c)
{
	while (c->fd >= 0 && rpc_stream_pending(&c->out)) {
		ssize_t n = send(c->fd, c->out.data + c->out.off, rpc_stream_pending(&c->out),
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0) {
			rpc_stream_consume(&c->out, (size_t)n);
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && errno == EAGAIN) {
			return;
		} else {
			log_debug("rpc: client gone before its answer: %s", strerror(errno));
			conn_close(c);
		}
	}
}

/* Queues a response (stolen) for the client; dropped when the client is gone. */
static void conn_send(struct rpc_conn *c, json_t *resp)
{
	char *text = resp ? json_dumps(resp, JSON_COMPACT) : NULL;

	json_decref(resp);
	if (!text || c->fd < 0) {
		free(text);
		return;
	}
	/* SPDK ends every response with a newline; line-reading clients rely on it. */
	if (rpc_stream_append(&c->out, text, strlen(text)) || rpc_stream_append(&c->out, "\n", 1))
		log_error("rpc: out of memory queueing an answer; client will miss it");
	free(text);
	if (!c->dispatching)
		conn_flush(c);
}

/* Sink of top-level requests and batches: the answer of one in-flight request. */
static void conn_sink(void *arg, int slot, json_t *resp)
{
	struct rpc_conn *c = arg;

	(void)slot;
	conn_send(c, resp);
	c->pending--;
	conn_update(c);
	conn_put(c);
}

static void batch_put(struct rpc_batch *b)
{
	json_t *all;

	if (--b->pending > 0)
		return;
	all = json_array();
	for (int i = 0; i < b->count; i++)
		if (b->responses[i])
			json_array_append_new(all, b->responses[i]);
	/* A batch of notifications only gets no answer at all. */
	if (json_array_size(all) == 0) {
		json_decref(all);
		all = NULL;
	}
	conn_sink(b->conn, 0, all);
	free(b);
}

static void batch_sink(void *arg, int slot, json_t *resp)
{
	struct rpc_batch *b = arg;

	b->responses[slot] = resp;
	batch_put(b);
}

static void conn_dispatch_batch(struct rpc_conn *c, json_t *array)
{
	size_t count = json_array_size(array);
	struct rpc_batch *b;

	if (count == 0 || count > INT32_MAX) {
		conn_sink(c, 0, rpc_response_error(NULL, RPC_ERR_INVALID_REQUEST, "Invalid request",
						   "empty batch"));
		json_decref(array);
		return;
	}
	b = calloc(1, sizeof(*b) + count * sizeof(b->responses[0]));
	if (!b) {
		conn_sink(c, 0, rpc_response_error(NULL, -ENOMEM, strerror(ENOMEM), NULL));
		json_decref(array);
		return;
	}
	b->conn = c;
	b->count = (int)count;
	b->pending = b->count + 1;
	for (int i = 0; i < b->count; i++)
		rpc_request_dispatch(json_incref(json_array_get(array, i)), batch_sink, b, i);
	json_decref(array);
	batch_put(b);
}

static void conn_dispatch(struct rpc_conn *c, json_t *msg)
{
	c->pending++;
	conn_get(c); /* released by conn_sink */
	if (json_is_array(msg))
		conn_dispatch_batch(c, msg);
	else
		rpc_request_dispatch(msg, conn_sink, c, 0);
}

/* Dispatches every complete value in the input; false once the stream is beyond repair. */
static bool conn_take_requests(struct rpc_conn *c)
{
	json_t *msg;
	int rc = 0;

	while (c->fd >= 0 && (rc = rpc_stream_next(&c->in, RPC_MAX_REQUEST_BYTES, &msg)) > 0)
		conn_dispatch(c, msg);
	if (c->fd < 0 || rc == 0)
		return true;
	log_warn("rpc: %s from client; closing it after the error reply",
		 rc == -EMSGSIZE ? "request too large" : "malformed JSON");
	conn_send(c, rpc_response_error(NULL, RPC_ERR_PARSE, "Parse error", NULL));
	return false;
}

static void conn_read(struct rpc_conn *c)
{
	for (int i = 0; i < RPC_READS_PER_EVENT && !c->read_closed && c->fd >= 0; i++) {
		char *dst = rpc_stream_reserve(&c->in, RPC_READ_CHUNK);
		ssize_t n;

		if (!dst) {
			log_error("rpc: out of memory reading a request; closing the client");
			conn_close(c);
			return;
		}
		n = recv(c->fd, dst, RPC_READ_CHUNK, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			if (n < 0)
				log_debug("rpc: client read: %s", strerror(errno));
			c->read_closed = true; /* a request cut short by EOF is dropped */
			break;
		}
		c->in.len += (size_t)n;
		c->dispatching = true;
		if (!conn_take_requests(c))
			c->read_closed = true;
		c->dispatching = false;
	}
	if (c->read_closed)
		rpc_stream_free(&c->in);
	conn_flush(c);
}

static void conn_on_event(void *arg, uint32_t events)
{
	struct rpc_conn *c = arg;

	conn_get(c);
	if (events & EPOLLOUT)
		conn_flush(c);
	if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && c->fd >= 0 && !c->read_closed)
		conn_read(c);
	else if ((events & (EPOLLHUP | EPOLLERR)) && c->fd >= 0)
		conn_close(c); /* waiting to write to a client that hung up */
	conn_update(c);
	conn_put(c);
}

static void server_on_accept(void *arg, uint32_t events)
{
	(void)arg;
	(void)events;
	for (;;) {
		int fd = accept4(server.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct rpc_conn *c;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN)
				log_warn("rpc: accept: %s", strerror(errno));
			return;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			log_error("rpc: out of memory accepting a client");
			close(fd);
			continue;
		}
		c->fd = fd;
		c->refs = 1; /* the server's list */
		c->next = server.conns;
		server.conns = c;
		conn_update(c);
	}
}

/* Clears the way for bind(): removes a stale socket file, refuses a live or foreign one. */
static int socket_path_claim(const struct sockaddr_un *addr)
{
	struct stat st;
	int probe, rc;

	if (lstat(addr->sun_path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		log_error("rpc: %s exists and is not a socket; not replacing it", addr->sun_path);
		return -EEXIST;
	}
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (probe < 0)
		return -errno;
	rc = connect(probe, (const struct sockaddr *)addr, sizeof(*addr));
	if (rc == 0 || errno == EAGAIN) {
		close(probe);
		log_error("rpc: %s is in use by another process (it accepts connections); choose "
			  "another path with -r", addr->sun_path);
		return -EADDRINUSE;
	}
	rc = errno;
	close(probe);
	if (rc != ECONNREFUSED && rc != ENOENT)
		return -rc;
	log_notice("rpc: replacing stale socket %s", addr->sun_path);
	if (unlink(addr->sun_path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

static int server_listen(unsigned mode)
{
	mode_t old_mask;
	struct stat st;
	int rc;

	server.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (server.fd < 0)
		return -errno;
	rc = socket_path_claim(&server.addr);
	if (rc)
		return rc;
	/* The umask makes the socket file appear with its final mode, never wider even briefly. */
	old_mask = umask(~mode & 0777);
	rc = bind(server.fd, (const struct sockaddr *)&server.addr, sizeof(server.addr));
	umask(old_mask);
	if (rc < 0)
		return -errno;
	if (stat(server.addr.sun_path, &st) == 0)
		server.ino = st.st_ino;
	if (listen(server.fd, RPC_LISTEN_BACKLOG) < 0)
		return -errno;
	server.rfd = reactor_fd_add(server.fd, EPOLLIN, server_on_accept, NULL);
	return server.rfd ? 0 : -errno;
}

static void server_unlink_own_socket(void)
{
	struct stat st;

	if (server.ino && stat(server.addr.sun_path, &st) == 0 && st.st_ino == server.ino)
		unlink(server.addr.sun_path);
	server.ino = 0;
}

int rpc_server_start(const char *path, unsigned mode)
{
	int rc;

	if (server.fd >= 0)
		return -EBUSY;
	if (strlen(path) >= sizeof(server.addr.sun_path)) {
		log_error("rpc: socket path %s is longer than %zu bytes", path,
			  sizeof(server.addr.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	memset(&server.addr, 0, sizeof(server.addr));
	server.addr.sun_family = AF_UNIX;
	strcpy(server.addr.sun_path, path);
	rc = server_listen(mode);
	if (rc) {
		if (rc != -EADDRINUSE && rc != -EEXIST)
			log_error("rpc: cannot listen on %s: %s", path, strerror(-rc));
		server_unlink_own_socket();
		if (server.fd >= 0)
			close(server.fd);
		server.fd = -1;
		return rc;
	}
	log_info("rpc: listening on %s (mode %03o)", path, mode & 0777);
	return 0;
}

void rpc_server_stop(void)
{
	if (server.fd < 0)
		return;
	reactor_fd_remove(server.rfd);
	server.rfd = NULL;
	close(server.fd);
	server.fd = -1;
	server_unlink_own_socket();
	while (server.conns)
		conn_close(server.conns);
}
