#include "test_clock.h"
#include "rpc_util.h"

#include "rpc/rpc_internal.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define RAW_POLL_SLICE_MS 5

struct raw_client {
	int fd;
	bool eof;
	struct rpc_stream in;
};

static void (*pump_fn)(void);

void raw_client_set_pump(void (*pump)(void))
{
	pump_fn = pump;
}

struct raw_client *raw_client_connect(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct raw_client *c = calloc(1, sizeof(*c));
	int err;

	if (!c)
		return NULL;
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd >= 0 && connect(c->fd, (struct sockaddr *)&addr, sizeof(addr)) == 0)
		return c;
	err = errno;
	raw_client_close(c);
	errno = err;
	return NULL;
}

int raw_client_fd(const struct raw_client *c)
{
	return c->fd;
}

int raw_client_send(struct raw_client *c, const void *buf, size_t len)
{
	const char *p = buf;
	long long deadline = test_now_ms() + 10000;

	while (len) {
		ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);

		if (n > 0) {
			p += n;
			len -= (size_t)n;
		} else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (test_now_ms() > deadline)
				return -ETIMEDOUT;
			if (pump_fn)
				pump_fn();
			else
				poll(&(struct pollfd){ .fd = c->fd, .events = POLLOUT }, 1,
				     RAW_POLL_SLICE_MS);
		} else {
			return -errno;
		}
	}
	return 0;
}

int raw_client_send_str(struct raw_client *c, const char *text)
{
	return raw_client_send(c, text, strlen(text));
}

/* Reads what is there; returns bytes read, 0 when nothing yet, -1 on EOF or error. */
static int raw_read(struct raw_client *c)
{
	char *dst = rpc_stream_reserve(&c->in, 65536);
	ssize_t n;

	if (!dst)
		return -1;
	n = recv(c->fd, dst, 65536, MSG_DONTWAIT);
	if (n > 0) {
		c->in.len += (size_t)n;
		return (int)n;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	c->eof = true;
	return -1;
}

/* Bytes received and not taken yet, blanks (the newline after each answer) aside. */
static bool raw_has_data(struct raw_client *c)
{
	size_t start;

	rpc_frame_scan(c->in.data + c->in.off, rpc_stream_pending(&c->in), &start);
	return start < rpc_stream_pending(&c->in);
}

static void raw_wait(struct raw_client *c)
{
	if (pump_fn)
		pump_fn();
	else
		poll(&(struct pollfd){ .fd = c->fd, .events = POLLIN }, 1, RAW_POLL_SLICE_MS);
}

json_t *raw_client_recv(struct raw_client *c, int timeout_ms)
{
	long long deadline = test_now_ms() + timeout_ms;
	json_t *value = NULL;

	for (;;) {
		int rc = rpc_stream_next(&c->in, 1u << 30, &value);

		if (rc > 0)
			return value;
		if (rc < 0 || c->eof || test_now_ms() > deadline)
			return NULL;
		if (raw_read(c) == 0)
			raw_wait(c);
	}
}

bool raw_client_wait_eof(struct raw_client *c, int timeout_ms)
{
	long long deadline = test_now_ms() + timeout_ms;

	while (!c->eof && test_now_ms() <= deadline) {
		if (raw_read(c) == 0)
			raw_wait(c);
	}
	return c->eof && !raw_has_data(c);
}

bool raw_client_quiet(struct raw_client *c, int timeout_ms)
{
	long long deadline = test_now_ms() + timeout_ms;

	while (test_now_ms() <= deadline) {
		if (raw_read(c) > 0 || raw_has_data(c))
			return false;
		raw_wait(c);
	}
	return true;
}

void raw_client_close(struct raw_client *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	rpc_stream_free(&c->in);
	free(c);
}

static char mismatch[512];

/* Checks jsonrpc and id, and that resp has exactly {jsonrpc, id, member}. */
static const char *envelope_mismatch(json_t *resp, const char *id_json, const char *member)
{
	const char *version;
	char *id = NULL;
	bool id_ok;

	if (!json_is_object(resp))
		return "response is not a JSON object";
	version = json_string_value(json_object_get(resp, "jsonrpc"));
	if (!version || strcmp(version, "2.0") != 0 ||
	    json_object_size(resp) != 3 || !json_object_get(resp, member)) {
		char *text = json_dumps(resp, JSON_COMPACT);

		snprintf(mismatch, sizeof(mismatch), "expected {jsonrpc, id, %s}, got %s", member,
			 text);
		free(text);
		return mismatch;
	}
	id = json_dumps(json_object_get(resp, "id"), JSON_COMPACT | JSON_ENCODE_ANY);
	id_ok = id && strcmp(id, id_json) == 0;
	if (!id_ok)
		snprintf(mismatch, sizeof(mismatch), "id %s, expected %s", id ? id : "(none)",
			 id_json);
	free(id);
	return id_ok ? NULL : mismatch;
}

const char *rpc_error_object_mismatch(json_t *error, int code, const char *message)
{
	const char *got_message = json_string_value(json_object_get(error, "message"));
	json_int_t got_code = json_integer_value(json_object_get(error, "code"));

	if (!json_is_integer(json_object_get(error, "code")) || !got_message || got_code != code ||
	    (message && strcmp(got_message, message) != 0)) {
		char *text = error ? json_dumps(error, JSON_COMPACT) : NULL;

		snprintf(mismatch, sizeof(mismatch), "error %s, expected code %d message %s",
			 text ? text : "(none)", code, message ? message : "(any)");
		free(text);
		return mismatch;
	}
	return NULL;
}

const char *rpc_error_mismatch(json_t *resp, const char *id_json, int code, const char *message)
{
	const char *problem = envelope_mismatch(resp, id_json, "error");

	return problem ? problem : rpc_error_object_mismatch(json_object_get(resp, "error"), code,
							     message);
}

const char *rpc_result_mismatch(json_t *resp, const char *id_json, json_t **result)
{
	const char *problem = envelope_mismatch(resp, id_json, "result");

	*result = json_object_get(resp, "result");
	return problem;
}
