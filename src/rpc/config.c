/*
 * save_config: every subsystem's writers append the calls that recreate its state. The subsystem
 * order is fixed here, not by constructor (link) order, because replay order matters: a vhost
 * controller needs its bdev to exist first.
 */
#include "rpc/rpc_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct config_writer {
	const char *subsystem;
	rpc_config_writer_fn fn;
};

static struct config_writer *writers;
static int writer_count;

static const char *const subsystem_order[] = { "bdev", "vhost_blk", "vhost_scsi" };
#define SUBSYSTEM_ORDER_COUNT ((int)(sizeof(subsystem_order) / sizeof(subsystem_order[0])))

void rpc_config_register(const char *subsystem, rpc_config_writer_fn fn)
{
	struct config_writer *grown = realloc(writers, sizeof(*writers) * (writer_count + 1));

	/* Runs before main(): see rpc_register(). */
	if (!grown) {
		fprintf(stderr, "rpc: out of memory registering config writer %s\n", subsystem);
		abort();
	}
	writers = grown;
	writers[writer_count++] = (struct config_writer){ subsystem, fn };
}

void rpc_config_add(json_t *config_array, const char *method, json_t *params)
{
	json_array_append_new(config_array, json_pack("{s:s, s:o}", "method", method, "params",
						      params ? params : json_object()));
}

static int subsystem_rank(const char *name)
{
	for (int i = 0; i < SUBSYSTEM_ORDER_COUNT; i++)
		if (strcmp(name, subsystem_order[i]) == 0)
			return i;
	return SUBSYSTEM_ORDER_COUNT;
}

static int subsystem_cmp(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	int rx = subsystem_rank(x), ry = subsystem_rank(y);

	return rx != ry ? rx - ry : strcmp(x, y);
}

json_t *rpc_config_subsystem_names(void)
{
	const char **names = malloc(sizeof(*names) * (writer_count ? writer_count : 1));
	json_t *list = json_array();
	int count = 0;

	if (!names || !list) {
		free(names);
		json_decref(list);
		return NULL;
	}
	for (int i = 0; i < writer_count; i++) {
		bool seen = false;

		for (int j = 0; j < count && !seen; j++)
			seen = strcmp(names[j], writers[i].subsystem) == 0;
		if (!seen)
			names[count++] = writers[i].subsystem;
	}
	qsort(names, count, sizeof(*names), subsystem_cmp);
	for (int i = 0; i < count; i++)
		json_array_append_new(list, json_string(names[i]));
	free(names);
	return list;
}

json_t *rpc_config_subsystem(const char *name)
{
	json_t *config = NULL;

	for (int i = 0; i < writer_count; i++) {
		if (strcmp(writers[i].subsystem, name) != 0)
			continue;
		if (!config)
			config = json_array();
		if (config)
			writers[i].fn(config);
	}
	return config;
}

json_t *rpc_config_save(void)
{
	json_t *names = rpc_config_subsystem_names();
	json_t *subsystems = json_array();
	json_t *name;
	size_t i;

	json_array_foreach(names, i, name) {
		const char *subsystem = json_string_value(name);

		json_array_append_new(subsystems,
				      json_pack("{s:s, s:o}", "subsystem", subsystem, "config",
						rpc_config_subsystem(subsystem)));
	}
	json_decref(names);
	return json_pack("{s:o}", "subsystems", subsystems);
}
