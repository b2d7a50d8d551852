/*
 * bench-rpc: sends one JSON-RPC 2.0 request to a Unix socket and prints the result, so
 * run-bench.sh can create bdevs and controllers without other tools.
 *   bench-rpc SOCKET METHOD [PARAMS_JSON]
 * Exit status 0 on a result, 1 on an error reply or a transport failure.
 */
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define REPLY_MAX (1 << 20)
#define TIMEOUT_MS 30000

static int connect_to(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* Reads until the bytes received form one complete JSON value. */
static json_t *read_reply(int fd)
{
	static char buf[REPLY_MAX];
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t len = 0;

	while (len < sizeof(buf)) {
		if (poll(&pfd, 1, TIMEOUT_MS) <= 0)
			return NULL;
		ssize_t n = read(fd, buf + len, sizeof(buf) - len);

		if (n <= 0)
			return NULL;
		len += n;
		json_t *reply = json_loadb(buf, len, JSON_DISABLE_EOF_CHECK, NULL);

		if (reply)
			return reply;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	json_t *req, *params = NULL, *reply, *member;
	char *text;
	int fd, rc = 1;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: bench-rpc SOCKET METHOD [PARAMS_JSON]\n");
		return 2;
	}
	if (argc == 4) {
		params = json_loads(argv[3], 0, NULL);
		if (!params) {
			fprintf(stderr, "bench-rpc: params are not JSON: %s\n", argv[3]);
			return 2;
		}
	}
	req = json_pack("{s:s, s:s, s:i}", "jsonrpc", "2.0", "method", argv[2], "id", 1);
	if (params)
		json_object_set_new(req, "params", params);
	text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	fd = connect_to(argv[1]);
	if (fd < 0) {
		fprintf(stderr, "bench-rpc: %s: %s\n", argv[1], strerror(-fd));
		free(text);
		return 1;
	}
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		fprintf(stderr, "bench-rpc: write: %s\n", strerror(errno));
		goto out;
	}
	reply = read_reply(fd);
	if (!reply) {
		fprintf(stderr, "bench-rpc: no reply to %s\n", argv[2]);
		goto out;
	}
	member = json_object_get(reply, "error");
	rc = member != NULL;
	if (!member)
		member = json_object_get(reply, "result");
	char *out = member ? json_dumps(member, JSON_ENCODE_ANY | JSON_INDENT(2)) : NULL;

	fprintf(rc ? stderr : stdout, "%s\n", out ? out : "(empty reply)");
	free(out);
	json_decref(reply);
out:
	free(text);
	close(fd);
	return rc;
}
