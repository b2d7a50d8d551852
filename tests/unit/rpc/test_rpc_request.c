/* Request validation, response and error-object shapes, the built-in methods, save_config order. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "rpc/rpc_internal.h"
#include "rpc_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *response;
static int sink_calls;
static int handler_calls;

static void capture_sink(void *arg, int slot, json_t *resp)
{
	(void)arg;
	(void)slot;
	json_decref(response);
	response = resp;
	sink_calls++;
}

static int setup(void **state)
{
	(void)state;
	response = NULL;
	sink_calls = 0;
	handler_calls = 0;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	json_decref(response);
	response = NULL;
	return 0;
}

/* Dispatches text (one request) and expects exactly one sink call. */
static void dispatch(const char *text)
{
	json_error_t jerr;
	json_t *msg = json_loads(text, JSON_DECODE_ANY, &jerr);

	assert_non_null(msg);
	rpc_request_dispatch(msg, capture_sink, NULL, 0);
	assert_int_equal(sink_calls, 1);
}

static void assert_error(const char *id_json, int code, const char *message)
{
	const char *problem = rpc_error_mismatch(response, id_json, code, message);

	if (problem)
		fail_msg("%s", problem);
}

static json_t *assert_result(const char *id_json)
{
	json_t *result;
	const char *problem = rpc_result_mismatch(response, id_json, &result);

	if (problem)
		fail_msg("%s", problem);
	return result;
}

static void echo_method(struct rpc_request *req, json_t *params)
{
	handler_calls++;
	rpc_reply(req, json_incref(params));
}
RPC_REGISTER("test_echo", echo_method)

static void enodev_method(struct rpc_request *req, json_t *params)
{
	(void)params;
	rpc_reply_errno(req, -ENODEV, "no such bdev '%s'", "Malloc9");
}
RPC_REGISTER("test_enodev", enodev_method)

static void eperm_bare_method(struct rpc_request *req, json_t *params)
{
	(void)params;
	rpc_reply_errno(req, EPERM, NULL);
}
RPC_REGISTER("test_eperm", eperm_bare_method)

static void custom_error_method(struct rpc_request *req, json_t *params)
{
	(void)params;
	assert_string_equal(rpc_request_method(req), "test_custom");
	rpc_reply_error(req, RPC_ERR_INTERNAL, "broken %d%%", 50);
}
RPC_REGISTER("test_custom", custom_error_method)

static void test_result_shape(void **state)
{
	json_t *result;

	(void)state;
	dispatch("{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"test_echo\",\"params\":{\"a\":[1]}}");
	result = assert_result("7");
	assert_int_equal(json_integer_value(json_array_get(json_object_get(result, "a"), 0)), 1);
}

static void test_string_and_null_ids_echoed(void **state)
{
	(void)state;
	dispatch("{\"jsonrpc\":\"2.0\",\"id\":\"abc\",\"method\":\"test_echo\"}");
	assert_result("\"abc\"");
	sink_calls = 0;
	dispatch("{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"test_echo\"}");
	assert_result("null");
}

static void test_errno_shape_as_spdk(void **state)
{
	json_t *error;

	(void)state;
	dispatch("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"test_enodev\"}");
	assert_error("1", -ENODEV, "No such device");
	error = json_object_get(response, "error");
	assert_int_equal(json_object_size(error), 3);
	assert_string_equal(json_string_value(json_object_get(error, "data")),
			    "no such bdev 'Malloc9'");
}

static void test_errno_without_detail_has_no_data(void **state)
{
	(void)state;
	dispatch("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"test_eperm\"}");
	assert_error("1", -EPERM, "Operation not permitted");
	assert_int_equal(json_object_size(json_object_get(response, "error")), 2);
}

static void test_custom_error_message(void **state)
{
	(void)state;
	dispatch("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"test_custom\"}");
	assert_error("1", RPC_ERR_INTERNAL, "broken 50%");
}

static void test_method_not_found(void **state)
{
	(void)state;
	dispatch("{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"no_such_method\"}");
	assert_error("3", -32601, "Method not found");
}

static void test_invalid_requests(void **state)
{
	static const char *const bad[] = {
		"{\"id\":1,\"method\":\"test_echo\"}", /* no jsonrpc */
		"{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"test_echo\"}", /* wrong version */
		"{\"jsonrpc\":\"2.0\",\"id\":1}", /* no method */
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":5}", /* method not string */
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"test_echo\",\"params\":3}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"test_echo\",\"extra\":1}",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sink_calls = 0;
		dispatch(bad[i]);
		assert_error("1", -32600, "Invalid request");
		assert_non_null(json_object_get(json_object_get(response, "error"), "data"));
	}
	assert_int_equal(handler_calls, 0);
}

static void test_invalid_id_or_non_object_answers_null_id(void **state)
{
	(void)state;
	dispatch("{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"test_echo\"}");
	assert_error("null", -32600, "Invalid request");
	sink_calls = 0;
	dispatch("42");
	assert_error("null", -32600, "Invalid request");
	sink_calls = 0;
	dispatch("\"text\"");
	assert_error("null", -32600, "Invalid request");
}

static void test_notification_runs_without_answer(void **state)
{
	(void)state;
	dispatch("{\"jsonrpc\":\"2.0\",\"method\":\"test_echo\",\"params\":{}}");
	assert_null(response);
	assert_int_equal(handler_calls, 1);
	sink_calls = 0;
	dispatch("{\"jsonrpc\":\"2.0\",\"method\":\"no_such_method\"}");
	assert_null(response);
	sink_calls = 0;
	dispatch("{\"jsonrpc\":\"2.0\",\"method\":\"test_enodev\"}");
	assert_null(response);
}

static void test_invalid_notification_still_answered(void **state)
{
	(void)state;
	dispatch("{\"jsonrpc\":\"2.0\",\"method\":7}");
	assert_error("null", -32600, "Invalid request");
}

static void test_spdk_get_version(void **state)
{
	json_t *result, *fields;
	char text[64];

	(void)state;
	dispatch("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"spdk_get_version\"}");
	result = assert_result("1");
	assert_string_equal(json_string_value(json_object_get(result, "version")),
			    "vhostd " VHOSTD_VERSION);
	/* The fields put back together give the version again. */
	fields = json_object_get(result, "fields");
	snprintf(text, sizeof(text), "%lld.%lld.%lld%s",
		 (long long)json_integer_value(json_object_get(fields, "major")),
		 (long long)json_integer_value(json_object_get(fields, "minor")),
		 (long long)json_integer_value(json_object_get(fields, "patch")),
		 json_string_value(json_object_get(fields, "suffix")));
	assert_string_equal(text, VHOSTD_VERSION);
	sink_calls = 0;
	dispatch("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"spdk_get_version\","
		 "\"params\":{\"x\":1}}");
	assert_error("1", -32602, "Unknown parameter 'x'");
}

static void test_rpc_get_methods_sorted_and_complete(void **state)
{
	json_t *result, *name;
	const char *prev = "";
	bool has_builtin = false, has_test = false;
	size_t i;

	(void)state;
	dispatch("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"rpc_get_methods\","
		 "\"params\":{\"current\":true}}");
	result = assert_result("1");
	json_array_foreach(result, i, name) {
		const char *s = json_string_value(name);

		assert_true(strcmp(prev, s) < 0);
		prev = s;
		has_builtin |= strcmp(s, "framework_wait_init") == 0;
		has_test |= strcmp(s, "test_echo") == 0;
	}
	assert_true(has_builtin && has_test);
	sink_calls = 0;
	dispatch("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"rpc_get_methods\","
		 "\"params\":{\"current\":1}}");
	assert_error("1", -32602, "Parameter 'current' must be a boolean");
}

static void test_framework_wait_init(void **state)
{
	(void)state;
	dispatch("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"framework_wait_init\"}");
	assert_true(json_is_true(assert_result("1")));
}

/* Writers registered out of order on purpose: save_config must not follow registration order. */
static void write_scsi(json_t *config)
{
	rpc_config_add(config, "vhost_create_scsi_controller", json_pack("{s:s}", "ctrlr", "s0"));
}
static void write_zzz(json_t *config)
{
	(void)config;
}
static void write_blk(json_t *config)
{
	rpc_config_add(config, "vhost_create_blk_controller", json_pack("{s:s}", "ctrlr", "b0"));
}
static void write_bdev_malloc(json_t *config)
{
	rpc_config_add(config, "bdev_malloc_create", json_pack("{s:s}", "name", "M0"));
}
static void write_bdev_null(json_t *config)
{
	rpc_config_add(config, "bdev_null_create", NULL);
}
static void write_aaa(json_t *config)
{
	(void)config;
}

static int register_writers(void **state)
{
	(void)state;
	rpc_config_register("vhost_scsi", write_scsi);
	rpc_config_register("zzz", write_zzz);
	rpc_config_register("bdev", write_bdev_malloc);
	rpc_config_register("vhost_blk", write_blk);
	rpc_config_register("aaa", write_aaa);
	rpc_config_register("bdev", write_bdev_null);
	return 0;
}

static void test_save_config_order_and_shape(void **state)
{
	static const char *const order[] = { "bdev", "vhost_blk", "vhost_scsi", "aaa", "zzz" };
	json_t *subsystems, *bdev_config;

	(void)state;
	dispatch("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"save_config\"}");
	subsystems = json_object_get(assert_result("1"), "subsystems");
	assert_int_equal(json_array_size(subsystems), 5);
	for (size_t i = 0; i < 5; i++) {
		json_t *sub = json_array_get(subsystems, i);

		assert_string_equal(json_string_value(json_object_get(sub, "subsystem")), order[i]);
		assert_true(json_is_array(json_object_get(sub, "config")));
		assert_int_equal(json_object_size(sub), 2);
	}
	/* Two writers of one subsystem share its array, in registration order. */
	bdev_config = json_object_get(json_array_get(subsystems, 0), "config");
	assert_int_equal(json_array_size(bdev_config), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(bdev_config, 0),
							      "method")),
			    "bdev_malloc_create");
	assert_true(json_is_object(json_object_get(json_array_get(bdev_config, 1), "params")));
}

static void test_framework_get_config(void **state)
{
	json_t *config;

	(void)state;
	dispatch("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"framework_get_config\","
		 "\"params\":{\"name\":\"vhost_blk\"}}");
	config = assert_result("1");
	assert_int_equal(json_array_size(config), 1);
	sink_calls = 0;
	dispatch("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"framework_get_config\","
		 "\"params\":{\"name\":\"nope\"}}");
	assert_error("1", -32602, "Subsystem 'nope' not found");
	sink_calls = 0;
	dispatch("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"framework_get_subsystems\"}");
	assert_string_equal(json_string_value(json_object_get(json_array_get(assert_result("1"), 0),
							      "subsystem")),
			    "bdev");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_result_shape, setup, teardown),
		cmocka_unit_test_setup_teardown(test_string_and_null_ids_echoed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errno_shape_as_spdk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errno_without_detail_has_no_data, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_custom_error_message, setup, teardown),
		cmocka_unit_test_setup_teardown(test_method_not_found, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalid_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalid_id_or_non_object_answers_null_id,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_notification_runs_without_answer, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_invalid_notification_still_answered, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_spdk_get_version, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rpc_get_methods_sorted_and_complete, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_framework_wait_init, setup, teardown),
		cmocka_unit_test_setup_teardown(test_save_config_order_and_shape, setup, teardown),
		cmocka_unit_test_setup_teardown(test_framework_get_config, setup, teardown),
	};

	return cmocka_run_group_tests(tests, register_writers, NULL);
}
