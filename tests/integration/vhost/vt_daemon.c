/* The daemon side of the hostile vhost-user tests: controllers, RPC, the log, fds and mappings. */
#include "test_clock.h"
#include "vt.h"

#include "tap.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

bool vt_rpc_ok(struct test_daemon *d, const char *method, const char *params)
{
	json_t *result = NULL, *error = NULL;
	int rc = test_daemon_rpc(d, method, params, &result, &error);

	if (rc != 0) {
		char *text = error ? json_dumps(error, JSON_COMPACT) : NULL;

		printf("# %s %s: rc %d %s\n", method, params ? params : "", rc, text ? text : "");
		free(text);
	}
	json_decref(result);
	json_decref(error);
	return rc == 0;
}

int vt_rpc_error(struct test_daemon *d, const char *method, const char *params, char *msg,
		 size_t len)
{
	json_t *result = NULL, *error = NULL;
	int rc = test_daemon_rpc(d, method, params, &result, &error), code = 0;

	msg[0] = '\0';
	if (rc == 1) {
		json_t *data = json_object_get(error, "data");

		code = (int)json_integer_value(json_object_get(error, "code"));
		snprintf(msg, len, "%s%s%s",
			 json_string_value(json_object_get(error, "message")) ?: "",
			 data ? ": " : "", json_is_string(data) ? json_string_value(data) : "");
	} else if (rc < 0) {
		code = rc;
		snprintf(msg, len, "rpc failed: %s", strerror(-rc));
	}
	json_decref(result);
	json_decref(error);
	return code;
}

bool vt_ctrlr_create(struct test_daemon *d, const char *ctrlr, bool packed)
{
	char params[256];
	bool ok;

	snprintf(params, sizeof(params),
		 "{\"name\":\"%s_bdev\",\"num_blocks\":%d,\"block_size\":%d}", ctrlr, VT_BLOCKS,
		 VT_BLOCK_SIZE);
	ok = vt_rpc_ok(d, "bdev_malloc_create", params);
	snprintf(params, sizeof(params),
		 "{\"ctrlr\":\"%s\",\"dev_name\":\"%s_bdev\",\"packed_ring\":%s}", ctrlr, ctrlr,
		 packed ? "true" : "false");
	ok = ok && vt_rpc_ok(d, "vhost_create_blk_controller", params);
	CHECK_MSG(ok, "cannot create controller %s", ctrlr);
	return ok;
}

void vt_socket_path(struct test_daemon *d, const char *ctrlr, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", test_daemon_dir(d), ctrlr);
}

static int ctrlr_connected(struct test_daemon *d, const char *ctrlr)
{
	json_t *result = NULL, *error = NULL;
	char params[128];
	int connected = -1;

	snprintf(params, sizeof(params), "{\"name\":\"%s\"}", ctrlr);
	if (test_daemon_rpc(d, "vhost_get_controllers", params, &result, &error) == 0)
		connected = json_is_true(json_object_get(json_array_get(result, 0), "connected"));
	json_decref(result);
	json_decref(error);
	return connected;
}

bool vt_wait_disconnected(struct test_daemon *d, const char *ctrlr)
{
	long long deadline = test_now_ms() + VT_WAIT_MS;

	while (test_now_ms() < deadline) {
		if (ctrlr_connected(d, ctrlr) == 0)
			return true;
		test_sleep_ms(5);
	}
	printf("# controller %s still has a front-end after %d ms\n", ctrlr, VT_WAIT_MS);
	return false;
}

static char *log_path(struct test_daemon *d, char *buf, size_t len)
{
	snprintf(buf, len, "%s/vhostd.log", test_daemon_dir(d));
	return buf;
}

size_t vt_log_mark(struct test_daemon *d)
{
	char path[256];
	FILE *f = fopen(log_path(d, path, sizeof(path)), "r");
	long size = 0;

	if (f && fseek(f, 0, SEEK_END) == 0)
		size = ftell(f);
	if (f)
		fclose(f);
	return size > 0 ? (size_t)size : 0;
}

bool vt_log_has(struct test_daemon *d, size_t mark, const char *needle)
{
	char path[256], line[1024];
	FILE *f = fopen(log_path(d, path, sizeof(path)), "r");
	bool found = false;

	if (!f)
		return false;
	if (fseek(f, (long)mark, SEEK_SET) == 0)
		while (!found && fgets(line, sizeof(line), f))
			found = strstr(line, needle) != NULL;
	fclose(f);
	return found;
}

bool vt_log_wait(struct test_daemon *d, size_t mark, const char *needle)
{
	long long deadline = test_now_ms() + VT_WAIT_MS;

	while (!vt_log_has(d, mark, needle)) {
		if (test_now_ms() >= deadline) {
			printf("# no log line with \"%s\"\n", needle);
			return false;
		}
		test_sleep_ms(5);
	}
	return true;
}

int vt_fd_count(struct test_daemon *d)
{
	char path[64];
	DIR *dir;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", test_daemon_pid(d));
	dir = opendir(path);
	if (!dir)
		return -errno;
	for (struct dirent *e; (e = readdir(dir));)
		n += e->d_name[0] != '.';
	closedir(dir);
	return n;
}

int vt_fd_settle(struct test_daemon *d, int want)
{
	long long deadline = test_now_ms() + VT_WAIT_MS, still_since = test_now_ms();
	int n = vt_fd_count(d), last = n;

	for (;;) {
		if (want >= 0 ? n == want : test_now_ms() - still_since >= 200)
			return n;
		if (test_now_ms() >= deadline) {
			printf("# daemon fds: %d (waited for %d)\n", n, want);
			return n;
		}
		test_sleep_ms(10);
		n = vt_fd_count(d);
		if (n != last)
			still_since = test_now_ms();
		last = n;
	}
}

int vt_map_count(struct test_daemon *d)
{
	char path[64], line[512];
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/maps", test_daemon_pid(d));
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		n += strstr(line, "/memfd:") != NULL;
	fclose(f);
	return n;
}

struct vu_front *vt_front_connect(struct test_daemon *d, const char *ctrlr, int nq, bool packed)
{
	char path[256];
	const char *err = NULL;
	struct vu_front_opts o = {
		.path = path, .mem_size = 8 << 20, .num_queues = nq, .packed = packed
	};
	struct vu_front *f;

	vt_socket_path(d, ctrlr, path, sizeof(path));
	f = vu_front_connect(&o, &err);
	CHECK_MSG(f, "library connect to %s: %s (%s)", ctrlr, err ? err : "?", strerror(errno));
	return f;
}

bool vt_front_io_ok(struct vu_front *f, int q, uint64_t sector)
{
	uint8_t out[4096], in[4096];
	int rc;

	for (size_t i = 0; i < sizeof(out); i++)
		out[i] = (uint8_t)(i * 7 + sector + q);
	rc = vu_blk_request(f, q, VIRTIO_BLK_T_OUT, sector, out, sizeof(out));
	if (rc != VIRTIO_BLK_S_OK) {
		printf("# write on queue %d: %d\n", q, rc);
		return false;
	}
	memset(in, 0, sizeof(in));
	rc = vu_blk_request(f, q, VIRTIO_BLK_T_IN, sector, in, sizeof(in));
	if (rc != VIRTIO_BLK_S_OK || memcmp(in, out, sizeof(in)) != 0) {
		printf("# read on queue %d: %d%s\n", q, rc, rc == 0 ? " (data differs)" : "");
		return false;
	}
	return true;
}

int vt_main(const struct tap_test *tests, int count, int argc, char **argv, struct test_daemon **d,
	    struct vu_front **bystander)
{
	int rc;

	*d = test_daemon_start(NULL);
	if (!*d || !vt_ctrlr_create(*d, "bystander", false) ||
	    !(*bystander = vt_front_connect(*d, "bystander", 1, false))) {
		printf("Bail out! no daemon or bystander\n");
		return 1;
	}
	rc = tap_run(tests, count, argc, argv);
	if (!vt_front_io_ok(*bystander, 0, 64))
		rc = 1;
	vu_front_close(*bystander);
	if (test_daemon_stop(*d, NULL) != 0)
		rc = 1;
	return rc;
}
