#include "test_clock.h"
#include "it_util.h"
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

json_t *it_json(const char *text)
{
	return json_loads(text, JSON_DECODE_ANY, NULL);
}

static char *dump(json_t *v)
{
	char *text = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;

	return text ? text : strdup("(none)");
}

json_t *it_call_at(const char *file, int line, struct test_daemon *d, const char *method,
		   json_t *params)
{
	json_t *result = NULL, *error = NULL;
	int rc = test_daemon_rpc_json(d, method, params, &result, &error);
	char *text;

	if (rc == 0)
		return result ? result : json_null();
	text = dump(error);
	tap_fail(file, line, "%s: rc %d error %s", method, rc, text);
	free(text);
	json_decref(error);
	return NULL;
}

bool it_ok_at(const char *file, int line, struct test_daemon *d, const char *method, json_t *params)
{
	json_t *result = it_call_at(file, line, d, method, params);

	json_decref(result);
	return result != NULL;
}

static bool contains(json_t *s, const char *text)
{
	return json_is_string(s) && strstr(json_string_value(s), text);
}

bool it_fails_at(const char *file, int line, struct test_daemon *d, const char *method,
		 json_t *params, int code, const char *text)
{
	json_t *result = NULL, *error = NULL;
	int rc = test_daemon_rpc_json(d, method, params, &result, &error);
	bool ok = rc == 1 && json_integer_value(json_object_get(error, "code")) == code &&
		  (!text || contains(json_object_get(error, "message"), text) ||
		   contains(json_object_get(error, "data"), text));

	if (!ok) {
		char *r = dump(result), *e = dump(error);

		tap_fail(file, line, "%s: rc %d result %s error %s, expected code %d%s%s", method,
			 rc, r, e, code, text ? " with " : "", text ? text : "");
		free(r);
		free(e);
	}
	json_decref(result);
	json_decref(error);
	return ok;
}

const char *it_socket(struct test_daemon *d, const char *ctrlr)
{
	static char path[256];

	snprintf(path, sizeof(path), "%s/%s", test_daemon_dir(d), ctrlr);
	return path;
}

bool it_listed(struct test_daemon *d, const char *ctrlr)
{
	json_t *result = NULL, *error = NULL, *c;
	bool found = false;
	size_t i;

	if (test_daemon_rpc_json(d, "vhost_get_controllers", NULL, &result, &error) == 0)
		json_array_foreach(result, i, c) found |=
			json_is_string(json_object_get(c, "ctrlr")) &&
			strcmp(json_string_value(json_object_get(c, "ctrlr")), ctrlr) == 0;
	json_decref(result);
	json_decref(error);
	return found;
}

bool it_delete_ctrlr_at(const char *file, int line, struct test_daemon *d, const char *ctrlr)
{
	for (int waited = 0;; waited += 20) {
		json_t *result = NULL, *error = NULL;
		int rc = test_daemon_rpc_json(d, "vhost_delete_controller",
					      json_pack("{s:s}", "ctrlr", ctrlr), &result, &error);
		bool busy = rc == 1 && json_integer_value(json_object_get(error, "code")) == -EBUSY;
		char *e = dump(error);

		json_decref(result);
		json_decref(error);
		if (rc == 0 || !busy || waited >= IT_TIMEOUT_MS) {
			if (rc != 0)
				tap_fail(file, line, "vhost_delete_controller %s: rc %d error %s",
					 ctrlr, rc, e);
			free(e);
			return rc == 0;
		}
		free(e);
		test_sleep_ms(20);
	}
}

struct vu_front *it_connect_at(const char *file, int line, struct test_daemon *d, const char *ctrlr,
			       const struct vu_front_opts *opts)
{
	struct vu_front_opts o = opts ? *opts : (struct vu_front_opts){ 0 };
	const char *why = NULL;
	struct vu_front *f;

	o.path = it_socket(d, ctrlr);
	if (!o.want_features)
		o.want_features = ~0ULL;
	if (!o.connect_timeout_ms)
		o.connect_timeout_ms = IT_TIMEOUT_MS;
	f = vu_front_connect(&o, &why);
	if (!f)
		tap_fail(file, line, "connect to %s: %s (%s)", ctrlr, why ? why : "?",
			 strerror(errno));
	return f;
}

bool it_file_create(char *path, size_t pathlen, const char *tag, off_t size)
{
	return it_file_create_in("/var/tmp", path, pathlen, tag, size);
}

bool it_file_create_in(const char *dir, char *path, size_t pathlen, const char *tag, off_t size)
{
	int fd;

	snprintf(path, pathlen, "%s/vhostd-it-%d-%s.img", dir, (int)getpid(), tag);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, size) < 0) {
		tap_fail(__FILE__, __LINE__, "cannot create %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return false;
	}
	close(fd);
	return true;
}

bool it_file_equals(const char *path, off_t offset, const void *buf, size_t len)
{
	uint8_t *disk = malloc(len);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	bool same = disk && fd >= 0 && pread(fd, disk, len, offset) == (ssize_t)len &&
		    memcmp(disk, buf, len) == 0;

	if (fd >= 0)
		close(fd);
	free(disk);
	return same;
}
