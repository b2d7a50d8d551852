/* The method table. Filled by constructors before main(), read-only afterwards. */
#include "rpc/rpc_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rpc_method {
	const char *name;
	rpc_handler_fn fn;
};

static struct rpc_method *methods;
static int method_count;
static int method_cap;

rpc_handler_fn rpc_method_find(const char *name)
{
	for (int i = 0; i < method_count; i++)
		if (strcmp(methods[i].name, name) == 0)
			return methods[i].fn;
	return NULL;
}

void rpc_register(const char *method, rpc_handler_fn fn)
{
	/* Runs before main(): a failure here is a build mistake, so say it loudly and stop. */
	if (rpc_method_find(method)) {
		fprintf(stderr, "rpc: method %s registered twice\n", method);
		abort();
	}
	if (method_count == method_cap) {
		int cap = method_cap ? method_cap * 2 : 64;
		struct rpc_method *grown = realloc(methods, sizeof(*methods) * cap);

		if (!grown) {
			fprintf(stderr, "rpc: out of memory registering %s\n", method);
			abort();
		}
		methods = grown;
		method_cap = cap;
	}
	methods[method_count++] = (struct rpc_method){ method, fn };
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

json_t *rpc_method_names(void)
{
	const char **names = malloc(sizeof(*names) * (method_count ? method_count : 1));
	json_t *list = json_array();

	if (!names || !list) {
		free(names);
		json_decref(list);
		return NULL;
	}
	for (int i = 0; i < method_count; i++)
		names[i] = methods[i].name;
	qsort(names, method_count, sizeof(*names), name_cmp);
	for (int i = 0; i < method_count; i++)
		json_array_append_new(list, json_string(names[i]));
	free(names);
	return list;
}
