/*
 * --config: replays a save_config document method by method through rpc_call(), one at a time and
 * in file order (a method may depend on the one before it, and may answer asynchronously). The
 * whole document's shape is checked first, so a typo at the end does not leave half a config
 * applied.
 */
#include "rpc/rpc_internal.h"

#include "core/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct config_step {
	size_t subsystem_index;
	const char *subsystem; /* borrowed from doc */
	const char *method;
	json_t *params; /* borrowed; NULL when absent */
};

struct config_load {
	const char *path; /* for log lines; a copy */
	json_t *doc;
	struct config_step *steps;
	size_t count;
	size_t next;
	bool in_call;  /* rpc_call() has not returned yet */
	bool answered; /* the current step's answer came in while in_call */
	int status;
	void (*done)(int status, void *arg);
	void *arg;
};

/* framework_wait_init requests waiting for the replays in flight. */
static struct {
	int loads;
	struct rpc_request **waiters;
	int count;
} init_wait;

void rpc_config_wait_loaded(struct rpc_request *req)
{
	struct rpc_request **grown;

	if (init_wait.loads == 0) {
		rpc_reply_bool(req, true);
		return;
	}
	grown = realloc(init_wait.waiters, sizeof(*grown) * (init_wait.count + 1));
	if (!grown) {
		rpc_reply_errno(req, ENOMEM, NULL);
		return;
	}
	init_wait.waiters = grown;
	init_wait.waiters[init_wait.count++] = req;
}

static void init_wait_release(int status)
{
	if (--init_wait.loads > 0)
		return;
	for (int i = 0; i < init_wait.count; i++) {
		if (status)
			rpc_reply_errno(init_wait.waiters[i], status, "start-up config failed");
		else
			rpc_reply_bool(init_wait.waiters[i], true);
	}
	free(init_wait.waiters);
	init_wait.waiters = NULL;
	init_wait.count = 0;
}

static bool only_members(json_t *obj, const char *const *allowed, int count)
{
	const char *key;
	json_t *value;

	json_object_foreach(obj, key, value) {
		bool ok = false;

		for (int i = 0; i < count && !ok; i++)
			ok = strcmp(key, allowed[i]) == 0;
		if (!ok)
			return false;
	}
	return true;
}

/* Checks one subsystems[] element and appends its steps. */
static int shape_subsystem(struct config_load *l, size_t index, json_t *sub)
{
	static const char *const sub_members[] = { "subsystem", "config" };
	static const char *const entry_members[] = { "method", "params" };
	json_t *name = json_object_get(sub, "subsystem");
	json_t *config = json_object_get(sub, "config");
	json_t *entry;
	size_t j;

	if (!json_is_object(sub) || !json_is_string(name) || !only_members(sub, sub_members, 2)) {
		log_error("config %s: subsystems[%zu] must be an object with a \"subsystem\" name "
			  "and a \"config\" array", l->path, index);
		return -EINVAL;
	}
	/* SPDK writes "config": null for a subsystem with nothing to replay. */
	if (config && !json_is_null(config) && !json_is_array(config)) {
		log_error("config %s: subsystems[%zu] (%s): \"config\" must be an array", l->path,
			  index, json_string_value(name));
		return -EINVAL;
	}
	json_array_foreach(config, j, entry) {
		json_t *method = json_object_get(entry, "method");
		json_t *params = json_object_get(entry, "params");

		if (!json_is_object(entry) || !json_is_string(method) ||
		    (params && !json_is_object(params)) || !only_members(entry, entry_members, 2)) {
			log_error("config %s: subsystems[%zu] (%s) config[%zu] must be "
				  "{\"method\": string, \"params\": object}", l->path, index,
				  json_string_value(name), j);
			return -EINVAL;
		}
		l->steps[l->count++] = (struct config_step){ index, json_string_value(name),
							     json_string_value(method), params };
	}
	return 0;
}

static int shape_check(struct config_load *l)
{
	json_t *subsystems = json_object_get(l->doc, "subsystems");
	size_t total = 0, i;
	json_t *sub;

	if (!json_is_object(l->doc) || !json_is_array(subsystems) ||
	    json_object_size(l->doc) != 1) {
		log_error("config %s: expected {\"subsystems\": [...]} at the top level", l->path);
		return -EINVAL;
	}
	json_array_foreach(subsystems, i, sub)
		total += json_array_size(json_object_get(sub, "config"));
	l->steps = calloc(total ? total : 1, sizeof(*l->steps));
	if (!l->steps)
		return -ENOMEM;
	json_array_foreach(subsystems, i, sub) {
		int rc = shape_subsystem(l, i, sub);

		if (rc)
			return rc;
	}
	return 0;
}

static void load_free(struct config_load *l)
{
	json_decref(l->doc);
	free(l->steps);
	free((char *)l->path);
	free(l);
}

static void load_finish(struct config_load *l)
{
	void (*done)(int status, void *arg) = l->done;
	void *arg = l->arg;
	int status = l->status;

	if (status == 0)
		log_info("config %s: %zu methods applied", l->path, l->count);
	load_free(l);
	init_wait_release(status);
	done(status, arg);
}

static void load_next(struct config_load *l);

static void load_on_answer(void *arg, json_t *result, json_t *error)
{
	struct config_load *l = arg;
	const struct config_step *step = &l->steps[l->next - 1];

	(void)result;
	if (error) {
		json_int_t code = json_integer_value(json_object_get(error, "code"));
		const char *message = json_string_value(json_object_get(error, "message"));
		const char *data = json_string_value(json_object_get(error, "data"));

		log_error("config %s: subsystems[%zu] (%s) method %s failed: %s%s%s%s (code %lld)",
			  l->path, step->subsystem_index, step->subsystem, step->method,
			  message ? message : "error", data ? " (" : "",
			  data ? data : "", data ? ")" : "", (long long)code);
		/* A -errno code passes through; JSON-RPC codes mean the call itself was invalid. */
		l->status = code < 0 && code > -4096 ? (int)code : -EINVAL;
	}
	if (l->in_call)
		l->answered = true; /* load_next()'s loop goes on: no recursion per method */
	else
		load_next(l);
}

static void load_next(struct config_load *l)
{
	while (l->status == 0 && l->next < l->count) {
		const struct config_step *step = &l->steps[l->next++];

		l->answered = false;
		l->in_call = true;
		rpc_call(step->method, json_incref(step->params), load_on_answer, l);
		l->in_call = false;
		if (!l->answered)
			return; /* load_on_answer() resumes */
	}
	load_finish(l);
}

int rpc_config_load(const char *path, void (*done)(int status, void *arg), void *arg)
{
	struct config_load *l = calloc(1, sizeof(*l));
	json_error_t jerr;
	FILE *f;
	int rc;

	if (!l)
		return -ENOMEM;
	l->path = strdup(path);
	l->done = done;
	l->arg = arg;
	f = l->path ? fopen(path, "r") : NULL;
	if (!f) {
		rc = -errno;
		log_error("config %s: %s", path, strerror(errno));
		load_free(l);
		return rc;
	}
	l->doc = json_loadf(f, 0, &jerr);
	fclose(f);
	if (!l->doc) {
		log_error("config %s: line %d column %d: %s", path, jerr.line, jerr.column,
			  jerr.text);
		load_free(l);
		return -EINVAL;
	}
	rc = shape_check(l);
	if (rc) {
		load_free(l);
		return rc;
	}
	log_info("config %s: replaying %zu methods", path, l->count);
	init_wait.loads++;
	load_next(l);
	return 0;
}
