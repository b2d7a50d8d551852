/*
 * vhostctl: the command line of vhostd's JSON-RPC socket, one subcommand per method with the
 * arguments of SPDK's rpc.py. Every command is one row of the table below: its arguments (how the
 * command line maps to params) and how its result is printed.
 *
 *   vhostctl [-s RPC_SOCKET] [--json] [--timeout SEC] COMMAND [ARGS]
 *
 * Exit status: 0 success, 1 the call failed (connection or RPC error), 2 bad command line.
 */
#include "rpc/rpc.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_CALL_FAILED 1
#define EXIT_USAGE 2
#define MAX_ARGS 8
#define MAX_COLUMNS 16
#define MIB (1024.0 * 1024.0)

enum arg_kind {
	ARG_STRING,
	ARG_UINT,
	ARG_INT,
	ARG_FLAG,   /* an option without a value: true when given */
	ARG_MIB,    /* a size in MiB (a decimal number > 0), kept for the command's fixup */
	ARG_METHOD, /* `call`: the method name */
	ARG_PARAMS, /* `call`: the whole params object */
};

struct arg_spec {
	const char *key;   /* params member */
	const char *meta;  /* positional: its name in usage; option: its value's name */
	const char *opt;   /* short option ("-b"), NULL for a positional */
	const char *lopt;  /* long option ("--name") */
	enum arg_kind kind;
	bool optional;     /* positional: may be left out (only trailing ones) */
};

struct command {
	const char *name; /* also the method, except for `call` */
	const char *help;
	struct arg_spec args[MAX_ARGS];
	/* Turns what the command line gave into SPDK's params (optional). Returns 0 or prints why.
	 */
	int (*fixup)(const struct command *cmd, json_t *params);
	void (*print)(json_t *result);
};

struct table_column {
	const char *header;
	const char *path; /* dotted path into a row object */
	/* Formats the cell itself when the plain value is not what a reader wants (optional). */
	void (*format)(json_t *row, char *buf, size_t len);
};

/* --- printing --- */

static json_t *json_path(json_t *obj, const char *path)
{
	char key[64];

	while (obj && *path) {
		size_t n = strcspn(path, ".");

		if (n >= sizeof(key))
			return NULL;
		memcpy(key, path, n);
		key[n] = '\0';
		obj = json_object_get(obj, key);
		path += n + (path[n] == '.');
	}
	return obj;
}

static void value_format(json_t *v, char *buf, size_t len)
{
	if (json_is_string(v))
		snprintf(buf, len, "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_boolean(v))
		snprintf(buf, len, "%s", json_is_true(v) ? "yes" : "no");
	else if (json_is_real(v))
		snprintf(buf, len, "%g", json_real_value(v));
	else
		snprintf(buf, len, "-");
}

static void cell_format(const struct table_column *col, json_t *row, char *buf, size_t len)
{
	if (col->format)
		col->format(row, buf, len);
	else
		value_format(json_path(row, col->path), buf, len);
}

/* Prints rows (an array of objects) as aligned columns under a header line. */
static void table_print(json_t *rows, const struct table_column *cols, int ncols)
{
	int width[MAX_COLUMNS] = { 0 };
	char cell[256];
	json_t *row;
	size_t i;

	for (int c = 0; c < ncols; c++) {
		width[c] = (int)strlen(cols[c].header);
		json_array_foreach(rows, i, row) {
			cell_format(&cols[c], row, cell, sizeof(cell));
			if ((int)strlen(cell) > width[c])
				width[c] = (int)strlen(cell);
		}
	}
	for (int c = 0; c < ncols; c++)
		printf("%-*s%s", c + 1 < ncols ? width[c] : 0, cols[c].header,
		       c + 1 < ncols ? "  " : "\n");
	json_array_foreach(rows, i, row) {
		for (int c = 0; c < ncols; c++) {
			cell_format(&cols[c], row, cell, sizeof(cell));
			printf("%-*s%s", c + 1 < ncols ? width[c] : 0, cell,
			       c + 1 < ncols ? "  " : "\n");
		}
	}
}

static void json_print(json_t *v)
{
	char *text = json_dumps(v, JSON_INDENT(2) | JSON_ENCODE_ANY);

	if (text)
		printf("%s\n", text);
	free(text);
}

/* Strings as they are, a list of strings one a line, true as silence, anything else as JSON. */
static void print_plain(json_t *result)
{
	json_t *item;
	size_t i;
	bool strings = json_is_array(result);

	json_array_foreach(result, i, item)
		strings = strings && json_is_string(item);
	if (json_is_string(result))
		printf("%s\n", json_string_value(result));
	else if (json_is_true(result))
		return;
	else if (strings)
		json_array_foreach(result, i, item)
			printf("%s\n", json_string_value(item));
	else
		json_print(result);
}

static void print_version(json_t *result)
{
	printf("%s\n", json_string_value(json_object_get(result, "version")));
}

static void format_bdev_size(json_t *row, char *buf, size_t len)
{
	double bytes = (double)json_integer_value(json_object_get(row, "num_blocks")) *
		       (double)json_integer_value(json_object_get(row, "block_size"));

	snprintf(buf, len, "%.1f MiB", bytes / MIB);
}

static void print_bdevs(json_t *result)
{
	static const struct table_column cols[] = {
		{ "NAME", "name", NULL },
		{ "PRODUCT", "product_name", NULL },
		{ "BLOCK_SIZE", "block_size", NULL },
		{ "NUM_BLOCKS", "num_blocks", NULL },
		{ "SIZE", NULL, format_bdev_size },
		{ "CLAIMED", "claimed", NULL },
		{ "UUID", "uuid", NULL },
	};

	table_print(result, cols, (int)(sizeof(cols) / sizeof(cols[0])));
}

static void print_iostat(json_t *result)
{
	static const struct table_column cols[] = {
		{ "NAME", "name", NULL },
		{ "READ_OPS", "num_read_ops", NULL },
		{ "READ_BYTES", "bytes_read", NULL },
		{ "WRITE_OPS", "num_write_ops", NULL },
		{ "WRITE_BYTES", "bytes_written", NULL },
		{ "UNMAP_OPS", "num_unmap_ops", NULL },
		{ "FLUSH_OPS", "num_flush_ops", NULL },
		{ "ERRORS", "num_io_errors", NULL },
	};

	printf("tick_rate %" JSON_INTEGER_FORMAT "  ticks %" JSON_INTEGER_FORMAT "\n",
	       json_integer_value(json_object_get(result, "tick_rate")),
	       json_integer_value(json_object_get(result, "ticks")));
	table_print(json_object_get(result, "bdevs"), cols, (int)(sizeof(cols) / sizeof(cols[0])));
}

/* "blk Malloc0 (ro)" or "scsi 2 targets": what a controller serves. */
static void format_ctrlr_device(json_t *row, char *buf, size_t len)
{
	json_t *blk = json_path(row, "backend_specific.block");
	json_t *scsi = json_path(row, "backend_specific.scsi");

	if (blk)
		snprintf(buf, len, "blk %s%s", json_string_value(json_object_get(blk, "bdev")),
			 json_is_true(json_object_get(blk, "readonly")) ? " (ro)" : "");
	else if (scsi)
		snprintf(buf, len, "scsi %zu targets", json_array_size(scsi));
	else
		snprintf(buf, len, "-");
}

static void format_ctrlr_sessions(json_t *row, char *buf, size_t len)
{
	snprintf(buf, len, "%zu", json_array_size(json_object_get(row, "sessions")));
}

static void print_controllers(json_t *result)
{
	static const struct table_column cols[] = {
		{ "CTRLR", "ctrlr", NULL },
		{ "CPUMASK", "cpumask", NULL },
		{ "DEVICE", NULL, format_ctrlr_device },
		{ "SESSIONS", NULL, format_ctrlr_sessions },
		{ "DELAY_BASE_US", "delay_base_us", NULL },
		{ "IOPS_THRESHOLD", "iops_threshold", NULL },
		{ "SOCKET", "socket", NULL },
	};

	table_print(result, cols, (int)(sizeof(cols) / sizeof(cols[0])));
}

/* --- fixups --- */

/* rpc.py's TOTAL_SIZE (MiB) becomes num_blocks = total_size * 1MiB / block_size. */
static int fixup_mib_to_blocks(const struct command *cmd, json_t *params)
{
	double mib = json_real_value(json_object_get(params, "total_size"));
	json_int_t block_size = json_integer_value(json_object_get(params, "block_size"));

	if (block_size <= 0) {
		fprintf(stderr, "vhostctl: %s: BLOCK_SIZE must be greater than 0\n", cmd->name);
		return -EINVAL;
	}
	json_object_del(params, "total_size");
	json_object_set_new(params, "num_blocks",
			    json_integer((json_int_t)(mib * MIB / (double)block_size)));
	return 0;
}

/* --- the commands --- */

#define POS(key, meta, kind) { key, meta, NULL, NULL, kind, false }
#define POS_OPT(key, meta, kind) { key, meta, NULL, NULL, kind, true }
#define OPT(key, meta, opt, lopt, kind) { key, meta, opt, lopt, kind, true }
#define NAME_ARG POS("name", "NAME", ARG_STRING)
#define CTRLR_ARG POS("ctrlr", "CTRLR", ARG_STRING)
#define UUID_OPT OPT("uuid", "UUID", "-u", "--uuid", ARG_STRING)

static const struct command commands[] = {
	{ "rpc_get_methods",
	  "list the methods the daemon answers",
	  { OPT("current", NULL, NULL, "--current", ARG_FLAG),
	    OPT("include_aliases", NULL, "-i", "--include-aliases", ARG_FLAG) },
	  NULL,
	  print_plain },
	{ "spdk_get_version", "print the daemon's version", { { 0 } }, NULL, print_version },
	{ "save_config",
	  "print the config that recreates the daemon's bdevs and controllers",
	  { { 0 } },
	  NULL,
	  print_plain },
	{ "framework_wait_init",
	  "wait until the daemon is initialised",
	  { { 0 } },
	  NULL,
	  print_plain },
	{ "bdev_malloc_create",
	  "create a RAM bdev; prints its name",
	  { POS("total_size", "TOTAL_SIZE_MB", ARG_MIB), POS("block_size", "BLOCK_SIZE", ARG_UINT),
	    OPT("name", "NAME", "-b", "--name", ARG_STRING), UUID_OPT },
	  fixup_mib_to_blocks,
	  print_plain },
	{ "bdev_malloc_delete", "delete a RAM bdev", { NAME_ARG }, NULL, print_plain },
	{ "bdev_null_create",
	  "create a bdev that reads zeroes and drops writes",
	  { NAME_ARG, POS("total_size", "TOTAL_SIZE_MB", ARG_MIB),
	    POS("block_size", "BLOCK_SIZE", ARG_UINT), UUID_OPT },
	  fixup_mib_to_blocks,
	  print_plain },
	{ "bdev_null_delete", "delete a null bdev", { NAME_ARG }, NULL, print_plain },
	{ "bdev_null_resize",
	  "resize a null bdev",
	  { NAME_ARG, POS("new_size", "NEW_SIZE_MB", ARG_UINT) },
	  NULL,
	  print_plain },
	{ "bdev_uring_create",
	  "create a bdev on a file or block device (io_uring)",
	  { POS("filename", "FILENAME", ARG_STRING), NAME_ARG,
	    POS_OPT("block_size", "BLOCK_SIZE", ARG_UINT), UUID_OPT },
	  NULL,
	  print_plain },
	{ "bdev_uring_delete", "delete an io_uring bdev", { NAME_ARG }, NULL, print_plain },
	{ "bdev_uring_rescan",
	  "pick up a new size of an io_uring bdev's file",
	  { NAME_ARG },
	  NULL,
	  print_plain },
	{ "bdev_aio_create",
	  "create a bdev on a file or block device (Linux AIO)",
	  { POS("filename", "FILENAME", ARG_STRING), NAME_ARG,
	    POS_OPT("block_size", "BLOCK_SIZE", ARG_UINT), UUID_OPT },
	  NULL,
	  print_plain },
	{ "bdev_aio_delete", "delete an AIO bdev", { NAME_ARG }, NULL, print_plain },
	{ "bdev_aio_rescan",
	  "pick up a new size of an AIO bdev's file",
	  { NAME_ARG },
	  NULL,
	  print_plain },
	{ "bdev_error_create",
	  "create an error-injection bdev EE_<BASE_NAME> over a bdev",
	  { POS("base_name", "BASE_NAME", ARG_STRING), UUID_OPT },
	  NULL,
	  print_plain },
	{ "bdev_error_delete", "delete an error-injection bdev", { NAME_ARG }, NULL, print_plain },
	{ "bdev_error_inject_error",
	  "make the next NUM I/Os of a type fail, pend, get corrupted or find no memory (failure, "
	  "pending, corrupt_data, nomem)",
	  { NAME_ARG, POS("io_type", "IO_TYPE", ARG_STRING),
	    POS("error_type", "ERROR_TYPE", ARG_STRING),
	    OPT("num", "NUM", "-n", "--num", ARG_UINT),
	    OPT("queue_depth", "DEPTH", "-q", "--queue-depth", ARG_UINT),
	    OPT("corrupt_offset", "BYTE", "-o", "--corrupt-offset", ARG_UINT),
	    OPT("corrupt_value", "XOR", "-v", "--corrupt-value", ARG_UINT) },
	  NULL,
	  print_plain },
	{ "bdev_get_bdevs",
	  "list bdevs",
	  { OPT("name", "NAME", "-b", "--name", ARG_STRING),
	    OPT("timeout", "MS", "-t", "--timeout", ARG_UINT) },
	  NULL,
	  print_bdevs },
	{ "bdev_get_iostat",
	  "print I/O statistics of bdevs",
	  { OPT("name", "NAME", "-b", "--name", ARG_STRING) },
	  NULL,
	  print_iostat },
	{ "vhost_create_blk_controller",
	  "serve a bdev as a vhost-user-blk socket CTRLR",
	  { CTRLR_ARG, POS("dev_name", "DEV_NAME", ARG_STRING),
	    OPT("cpumask", "MASK", NULL, "--cpumask", ARG_STRING),
	    OPT("readonly", NULL, "-r", "--readonly", ARG_FLAG),
	    OPT("packed_ring", NULL, "-p", "--packed_ring", ARG_FLAG) },
	  NULL,
	  print_plain },
	{ "vhost_create_scsi_controller",
	  "create a vhost-user-scsi socket CTRLR",
	  { CTRLR_ARG, OPT("cpumask", "MASK", NULL, "--cpumask", ARG_STRING),
	    OPT("delay", NULL, NULL, "--delay", ARG_FLAG) },
	  NULL,
	  print_plain },
	{ "vhost_start_scsi_controller",
	  "start a controller created with --delay",
	  { CTRLR_ARG },
	  NULL,
	  print_plain },
	{ "vhost_scsi_controller_add_target",
	  "attach a bdev as a SCSI target; prints its number",
	  { CTRLR_ARG, POS("scsi_target_num", "SCSI_TARGET_NUM", ARG_INT),
	    POS("bdev_name", "BDEV_NAME", ARG_STRING) },
	  NULL,
	  print_plain },
	{ "vhost_scsi_controller_remove_target",
	  "detach a SCSI target",
	  { CTRLR_ARG, POS("scsi_target_num", "SCSI_TARGET_NUM", ARG_UINT) },
	  NULL,
	  print_plain },
	{ "vhost_delete_controller",
	  "delete a controller and its socket",
	  { CTRLR_ARG },
	  NULL,
	  print_plain },
	{ "vhost_get_controllers",
	  "list controllers",
	  { OPT("name", "NAME", "-n", "--name", ARG_STRING) },
	  NULL,
	  print_controllers },
	{ "vhost_controller_set_coalescing",
	  "set interrupt coalescing of a controller",
	  { CTRLR_ARG, POS("delay_base_us", "DELAY_BASE_US", ARG_UINT),
	    POS("iops_threshold", "IOPS_THRESHOLD", ARG_UINT) },
	  NULL,
	  print_plain },
	{ "call",
	  "call any method; JSON_PARAMS is a JSON object",
	  { POS(NULL, "METHOD", ARG_METHOD), POS_OPT(NULL, "JSON_PARAMS", ARG_PARAMS) },
	  NULL,
	  print_plain },
};
#define COMMAND_COUNT ((int)(sizeof(commands) / sizeof(commands[0])))

static int arg_count(const struct command *cmd)
{
	int n = 0;

	while (n < MAX_ARGS && (cmd->args[n].key || cmd->args[n].meta))
		n++;
	return n;
}

static void command_usage(FILE *out, const struct command *cmd)
{
	int n = arg_count(cmd);

	fprintf(out, "usage: vhostctl [GLOBAL OPTIONS] %s", cmd->name);
	for (int i = 0; i < n; i++) {
		const struct arg_spec *a = &cmd->args[i];

		if (a->opt || a->lopt)
			fprintf(out, " [%s%s%s]", a->opt ? a->opt : a->lopt, a->meta ? " " : "",
				a->meta ? a->meta : "");
	}
	for (int i = 0; i < n; i++) {
		const struct arg_spec *a = &cmd->args[i];

		if (!a->opt && !a->lopt)
			fprintf(out, a->optional ? " [%s]" : " %s", a->meta);
	}
	fprintf(out, "\n  %s\n", cmd->help);
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: vhostctl [-s RPC_SOCKET] [--json] [--timeout SEC] COMMAND [ARGS]\n"
		"  -s, --socket PATH  vhostd's RPC socket (default %s)\n"
		"  --json             print the raw JSON result\n"
		"  --timeout SEC      give up after SEC seconds (default 60)\n"
		"  COMMAND -h         the arguments of COMMAND\n\ncommands:\n",
		RPC_DEFAULT_SOCKET);
	for (int i = 0; i < COMMAND_COUNT; i++)
		fprintf(out, "  %-36s %s\n", commands[i].name, commands[i].help);
}

/* --- command line to params --- */

static int parse_integer(const char *text, bool is_unsigned, json_int_t *out)
{
	char *end;

	errno = 0;
	if (is_unsigned) {
		unsigned long long v = strtoull(text, &end, 10);

		if (strchr(text, '-') || v > INT64_MAX)
			return -ERANGE;
		*out = (json_int_t)v;
	} else {
		*out = strtoll(text, &end, 10);
	}
	return errno || end == text || *end ? -EINVAL : 0;
}

/* Converts one command-line value into params per a; returns 0 or prints why not. */
static int arg_store(const struct command *cmd, const struct arg_spec *a, const char *text,
		     const char **method, json_t **params)
{
	json_error_t jerr;
	json_int_t n;
	double mib;
	char *end;

	switch (a->kind) {
	case ARG_STRING:
		json_object_set_new(*params, a->key, json_string(text));
		return 0;
	case ARG_FLAG:
		json_object_set_new(*params, a->key, json_true());
		return 0;
	case ARG_UINT:
	case ARG_INT:
		if (parse_integer(text, a->kind == ARG_UINT, &n) == 0) {
			json_object_set_new(*params, a->key, json_integer(n));
			return 0;
		}
		fprintf(stderr, "vhostctl: %s: %s must be %s integer, not '%s'\n", cmd->name,
			a->meta, a->kind == ARG_UINT ? "an unsigned" : "an", text);
		return -EINVAL;
	case ARG_MIB:
		mib = strtod(text, &end);
		if (end != text && !*end && mib > 0 && isfinite(mib)) {
			json_object_set_new(*params, a->key, json_real(mib));
			return 0;
		}
		fprintf(stderr, "vhostctl: %s: %s must be a number of MiB > 0, not '%s'\n",
			cmd->name, a->meta, text);
		return -EINVAL;
	case ARG_METHOD:
		*method = text;
		return 0;
	case ARG_PARAMS:
		json_decref(*params);
		*params = json_loads(text, 0, &jerr);
		if (json_is_object(*params))
			return 0;
		fprintf(stderr, "vhostctl: %s: JSON_PARAMS must be a JSON object (%s)\n", cmd->name,
			*params ? "not an object" : jerr.text);
		return -EINVAL;
	}
	return -EINVAL;
}

static const struct arg_spec *option_find(const struct command *cmd, const char *word,
					  const char **inline_value)
{
	size_t len = strcspn(word, "=");

	*inline_value = word[len] == '=' ? word + len + 1 : NULL;
	for (int i = 0; i < arg_count(cmd); i++) {
		const struct arg_spec *a = &cmd->args[i];

		if ((a->opt && strlen(a->opt) == len && strncmp(word, a->opt, len) == 0) ||
		    (a->lopt && strlen(a->lopt) == len && strncmp(word, a->lopt, len) == 0))
			return a;
	}
	return NULL;
}

static const struct arg_spec *positional_next(const struct command *cmd, int *index)
{
	for (int n = arg_count(cmd); *index < n; (*index)++) {
		const struct arg_spec *a = &cmd->args[*index];

		if (!a->opt && !a->lopt) {
			(*index)++;
			return a;
		}
	}
	return NULL;
}

/* Builds method and params from argv (the words after COMMAND). Returns 0 or -EINVAL (printed). */
static int command_parse(const struct command *cmd, int argc, char **argv, const char **method,
			 json_t **params)
{
	int pos_index = 0, i;
	bool options_done = false;
	const struct arg_spec *a;

	*method = cmd->name;
	for (i = 0; i < argc; i++) {
		const char *word = argv[i], *value;

		if (!options_done && strcmp(word, "--") == 0) {
			options_done = true;
			continue;
		}
		/* "-1" is a value (vhost_scsi_controller_add_target's "first free target"). */
		if (!options_done && word[0] == '-' && word[1] &&
		    !(word[1] >= '0' && word[1] <= '9')) {
			a = option_find(cmd, word, &value);
			if (!a) {
				fprintf(stderr, "vhostctl: %s: unknown option %s\n", cmd->name,
					word);
				return -EINVAL;
			}
			if (a->kind != ARG_FLAG && !value) {
				if (++i == argc) {
					fprintf(stderr, "vhostctl: %s: %s needs a value\n",
						cmd->name, word);
					return -EINVAL;
				}
				value = argv[i];
			}
			if (arg_store(cmd, a, value, method, params))
				return -EINVAL;
			continue;
		}
		a = positional_next(cmd, &pos_index);
		if (!a) {
			fprintf(stderr, "vhostctl: %s: unexpected argument '%s'\n", cmd->name,
				word);
			return -EINVAL;
		}
		if (arg_store(cmd, a, word, method, params))
			return -EINVAL;
	}
	while ((a = positional_next(cmd, &pos_index))) {
		if (!a->optional) {
			fprintf(stderr, "vhostctl: %s: missing %s\n", cmd->name, a->meta);
			return -EINVAL;
		}
	}
	return cmd->fixup ? cmd->fixup(cmd, *params) : 0;
}

/* --- running a call --- */

static void error_print(const char *method, json_t *error)
{
	json_t *data = json_object_get(error, "data");
	const char *message = json_string_value(json_object_get(error, "message"));
	char *data_text = NULL;

	if (data && !json_is_string(data))
		data_text = json_dumps(data, JSON_COMPACT | JSON_ENCODE_ANY);
	fprintf(stderr, "vhostctl: %s: %s", method, message ? message : "error");
	/* The detail says more than the message, unless a handler repeated the message there. */
	if (data_text || (json_is_string(data) && (!message ||
						    strcmp(message, json_string_value(data)))))
		fprintf(stderr, " (%s)", data_text ? data_text : json_string_value(data));
	if (!message)
		fprintf(stderr, " [code %" JSON_INTEGER_FORMAT "]",
			json_integer_value(json_object_get(error, "code")));
	fprintf(stderr, "\n");
	free(data_text);
}

struct global_options {
	const char *socket;
	bool json;
	int timeout_s;
};

static int command_run(const struct global_options *g, const struct command *cmd,
		       const char *method, json_t *params)
{
	struct rpc_client *client = rpc_client_connect(g->socket, g->timeout_s * 1000);
	json_t *result, *error;
	int rc;

	if (!client) {
		fprintf(stderr, "vhostctl: cannot connect to %s: %s%s\n", g->socket,
			strerror(errno),
			errno == ENOENT || errno == ECONNREFUSED ? " (is vhostd running? -s sets "
								   "the socket)"
								 : "");
		json_decref(params);
		return EXIT_CALL_FAILED;
	}
	rc = rpc_client_call(client, method, params, &result, &error);
	rpc_client_close(client);
	if (rc < 0) {
		fprintf(stderr, "vhostctl: %s: %s\n", method,
			rc == -ETIMEDOUT ? "no answer before the timeout" : strerror(-rc));
		return EXIT_CALL_FAILED;
	}
	if (rc > 0) {
		error_print(method, error);
		json_decref(error);
		return EXIT_CALL_FAILED;
	}
	if (g->json)
		json_print(result);
	else
		cmd->print(result);
	json_decref(result);
	return 0;
}

static const struct command *command_find(const char *name)
{
	for (int i = 0; i < COMMAND_COUNT; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/* Parses the options before COMMAND; returns the index of COMMAND, or -1 (printed). */
static int global_parse(int argc, char **argv, struct global_options *g)
{
	int i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *opt = argv[i];

		if (strcmp(opt, "-h") == 0 || strcmp(opt, "--help") == 0) {
			usage(stdout);
			exit(0);
		}
		if (strcmp(opt, "--json") == 0) {
			g->json = true;
			continue;
		}
		if (strcmp(opt, "-s") && strcmp(opt, "--socket") && strcmp(opt, "--timeout")) {
			fprintf(stderr, "vhostctl: unknown option %s\n", opt);
			return -1;
		}
		if (++i == argc) {
			fprintf(stderr, "vhostctl: %s needs a value\n", opt);
			return -1;
		}
		if (strcmp(opt, "--timeout") == 0) {
			json_int_t t;

			if (parse_integer(argv[i], true, &t) || t <= 0 || t > INT32_MAX / 1000) {
				fprintf(stderr,
					"vhostctl: --timeout must be a number of seconds\n");
				return -1;
			}
			g->timeout_s = (int)t;
		} else {
			g->socket = argv[i];
		}
	}
	if (i == argc) {
		usage(stderr);
		return -1;
	}
	return i;
}

int main(int argc, char **argv)
{
	struct global_options g = { RPC_DEFAULT_SOCKET, false, 60 };
	const struct command *cmd;
	const char *method;
	json_t *params;
	int first = global_parse(argc, argv, &g);

	if (first < 0)
		return EXIT_USAGE;
	cmd = command_find(argv[first]);
	if (!cmd) {
		fprintf(stderr, "vhostctl: unknown command '%s' (vhostctl -h lists them; `vhostctl "
			"call METHOD` calls any method)\n", argv[first]);
		return EXIT_USAGE;
	}
	for (int i = first + 1; i < argc && strcmp(argv[i], "--"); i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			command_usage(stdout, cmd);
			return 0;
		}
	}
	params = json_object();
	if (!params || command_parse(cmd, argc - first - 1, argv + first + 1, &method, &params)) {
		json_decref(params);
		command_usage(stderr, cmd);
		return EXIT_USAGE;
	}
	/* SPDK's handlers take "no params" as absent, not as {}. */
	if (json_object_size(params) == 0) {
		json_decref(params);
		params = NULL;
	}
	return command_run(&g, cmd, method, params);
}
