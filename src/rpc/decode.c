/*
 * Strict params decoding: everything is checked before anything is written, so a failed decode
 * leaves the caller's variables (and its defaults) untouched and nothing to free.
 */
#include "rpc/rpc_internal.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct rpc_param *spec_find(const struct rpc_param *spec, int count, const char *name)
{
	for (int i = 0; i < count; i++)
		if (strcmp(spec[i].name, name) == 0)
			return &spec[i];
	return NULL;
}

static bool integer_in(const json_t *v, json_int_t min, json_int_t max)
{
	return json_integer_value(v) >= min && json_integer_value(v) <= max;
}

/* Returns NULL when v fits p, else what is wrong, to follow "Parameter 'x' ". */
static const char *value_problem(const struct rpc_param *p, const json_t *v)
{
	bool unsigned_type = p->type == RPC_PARAM_UINT32 || p->type == RPC_PARAM_UINT64;

	switch (p->type) {
	case RPC_PARAM_STRING:
		return json_is_string(v) ? NULL : "must be a string";
	case RPC_PARAM_BOOL:
		return json_is_boolean(v) ? NULL : "must be a boolean";
	case RPC_PARAM_JSON:
		return NULL;
	case RPC_PARAM_INT32:
	case RPC_PARAM_INT64:
	case RPC_PARAM_UINT32:
	case RPC_PARAM_UINT64:
		break;
	}
	if (!json_is_integer(v) || (unsigned_type && json_integer_value(v) < 0))
		return unsigned_type ? "must be an unsigned integer" : "must be an integer";
	if (p->type == RPC_PARAM_INT32 && !integer_in(v, INT32_MIN, INT32_MAX))
		return "must be between -2147483648 and 2147483647";
	if (p->type == RPC_PARAM_UINT32 && !integer_in(v, 0, UINT32_MAX))
		return "must be at most 4294967295";
	return NULL;
}

static int params_check(json_t *params, const struct rpc_param *spec, int count, char *err,
			size_t errlen)
{
	const char *key, *problem;
	json_t *value;

	if (params && !json_is_object(params)) {
		snprintf(err, errlen, "Parameters must be a JSON object");
		return -EINVAL;
	}
	json_object_foreach(params, key, value) {
		if (!spec_find(spec, count, key)) {
			snprintf(err, errlen, "Unknown parameter '%s'", key);
			return -EINVAL;
		}
	}
	for (int i = 0; i < count; i++) {
		value = params ? json_object_get(params, spec[i].name) : NULL;
		if (!value) {
			if (spec[i].optional)
				continue;
			snprintf(err, errlen, "Missing required parameter '%s'", spec[i].name);
			return -EINVAL;
		}
		problem = value_problem(&spec[i], value);
		if (problem) {
			snprintf(err, errlen, "Parameter '%s' %s", spec[i].name, problem);
			return -EINVAL;
		}
	}
	return 0;
}

/* Frees the strings params_store() had duplicated into spec[0..count). */
static void strings_release(json_t *params, const struct rpc_param *spec, int count)
{
	for (int i = 0; i < count; i++) {
		if (spec[i].type == RPC_PARAM_STRING && json_object_get(params, spec[i].name)) {
			free(*(char **)spec[i].dst);
			*(char **)spec[i].dst = NULL;
		}
	}
}

static int params_store(json_t *params, const struct rpc_param *spec, int count)
{
	for (int i = 0; i < count; i++) {
		json_t *v = json_object_get(params, spec[i].name);
		json_int_t n = json_integer_value(v);
		char *copy;

		if (!v)
			continue;
		switch (spec[i].type) {
		case RPC_PARAM_STRING:
			copy = strdup(json_string_value(v));
			if (!copy) {
				strings_release(params, spec, i);
				return -ENOMEM;
			}
			*(char **)spec[i].dst = copy;
			break;
		case RPC_PARAM_BOOL:
			*(bool *)spec[i].dst = json_is_true(v);
			break;
		case RPC_PARAM_INT32:
			*(int32_t *)spec[i].dst = (int32_t)n;
			break;
		case RPC_PARAM_UINT32:
			*(uint32_t *)spec[i].dst = (uint32_t)n;
			break;
		case RPC_PARAM_UINT64:
			*(uint64_t *)spec[i].dst = (uint64_t)n;
			break;
		case RPC_PARAM_INT64:
			*(int64_t *)spec[i].dst = (int64_t)n;
			break;
		case RPC_PARAM_JSON:
			*(json_t **)spec[i].dst = v;
			break;
		}
	}
	return 0;
}

int rpc_params_decode(json_t *params, const struct rpc_param *spec, int count, char *err,
		      size_t errlen)
{
	int rc = params_check(params, spec, count, err, errlen);

	if (rc == 0 && params) {
		rc = params_store(params, spec, count);
		if (rc)
			snprintf(err, errlen, "%s", strerror(-rc));
	}
	return rc;
}

int rpc_decode(struct rpc_request *req, json_t *params, const struct rpc_param *spec, int count)
{
	char err[256];
	int rc = rpc_params_decode(params, spec, count, err, sizeof(err));

	if (rc == -ENOMEM)
		rpc_reply_errno(req, rc, "decoding parameters");
	else if (rc)
		rpc_reply_error(req, RPC_ERR_INVALID_PARAMS, "%s", err);
	return rc;
}
