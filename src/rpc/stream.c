/*
 * JSON values arrive over a stream socket with no delimiter: a read may hold half a request or
 * several. The framer finds where the first complete value ends by tracking strings and bracket
 * depth only; jansson then parses exactly those bytes (and reports what is malformed inside).
 */
#include "rpc/rpc_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define STREAM_MIN_CAP 4096

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* A bare literal (number, true, false, null) ends at a blank or a structural character. */
static bool ends_literal(char c)
{
	return is_blank(c) || (c && strchr(",:[]{}\"", c));
}

static bool starts_literal(char c)
{
	return c == '-' || (c >= '0' && c <= '9') || c == 't' || c == 'f' || c == 'n';
}

static long scan_string(const char *buf, size_t len, size_t i)
{
	for (i++; i < len; i++) {
		if (buf[i] == '\\')
			i++;
		else if (buf[i] == '"')
			return (long)i + 1;
	}
	return 0;
}

static long scan_container(const char *buf, size_t len, size_t i)
{
	size_t depth = 0;

	for (; i < len; i++) {
		switch (buf[i]) {
		case '"': {
			long end = scan_string(buf, len, i);

			if (end == 0)
				return 0;
			i = (size_t)end - 1;
			break;
		}
		case '{':
		case '[':
			depth++;
			break;
		case '}':
		case ']':
			if (--depth == 0)
				return (long)i + 1;
			break;
		}
	}
	return 0;
}

long rpc_frame_scan(const char *buf, size_t len, size_t *start)
{
	size_t i = 0;

	while (i < len && is_blank(buf[i]))
		i++;
	*start = i;
	if (i == len)
		return 0;
	if (buf[i] == '{' || buf[i] == '[')
		return scan_container(buf, len, i);
	if (buf[i] == '"')
		return scan_string(buf, len, i);
	if (!starts_literal(buf[i]))
		return -1;
	while (i < len && !ends_literal(buf[i]))
		i++;
	return i < len ? (long)i : 0;
}

char *rpc_stream_reserve(struct rpc_stream *s, size_t n)
{
	size_t cap = s->cap ? s->cap : STREAM_MIN_CAP;
	char *data;

	if (s->off && s->off == s->len)
		s->off = s->len = 0;
	if (s->cap - s->len >= n)
		return s->data + s->len;
	/* Reclaim consumed bytes before growing. */
	if (s->off) {
		memmove(s->data, s->data + s->off, s->len - s->off);
		s->len -= s->off;
		s->off = 0;
		if (s->cap - s->len >= n)
			return s->data + s->len;
	}
	while (cap - s->len < n)
		cap *= 2;
	data = realloc(s->data, cap);
	if (!data)
		return NULL;
	s->data = data;
	s->cap = cap;
	return s->data + s->len;
}

int rpc_stream_append(struct rpc_stream *s, const void *data, size_t n)
{
	char *dst = rpc_stream_reserve(s, n);

	if (!dst)
		return -ENOMEM;
	memcpy(dst, data, n);
	s->len += n;
	return 0;
}

void rpc_stream_consume(struct rpc_stream *s, size_t n)
{
	s->off += n;
	if (s->off == s->len)
		s->off = s->len = 0;
}

int rpc_stream_next(struct rpc_stream *s, size_t max_bytes, json_t **value)
{
	const char *buf = s->data + s->off;
	size_t pending = rpc_stream_pending(s), start;
	long end = rpc_frame_scan(buf, pending, &start);
	json_error_t err;

	if (end < 0)
		return -EBADMSG;
	if (end == 0) {
		if (start == pending) {
			rpc_stream_consume(s, pending); /* only blanks */
			return 0;
		}
		return pending - start > max_bytes ? -EMSGSIZE : 0;
	}
	*value = json_loadb(buf + start, (size_t)end - start, JSON_DECODE_ANY, &err);
	rpc_stream_consume(s, (size_t)end);
	return *value ? 1 : -EBADMSG;
}

void rpc_stream_free(struct rpc_stream *s)
{
	free(s->data);
	memset(s, 0, sizeof(*s));
}
