/* Strict params decoding: each type, missing, unknown, wrong type, out of range, no partial writes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "rpc/rpc_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct all_types {
	char *s;
	bool b;
	int32_t i32;
	uint32_t u32;
	uint64_t u64;
	int64_t i64;
	json_t *j;
};

static struct all_types v;
static char err[256];

/* The spec used by most tests: every type, one optional. */
static const struct rpc_param spec[] = {
	{ "s", RPC_PARAM_STRING, &v.s, false },    { "b", RPC_PARAM_BOOL, &v.b, false },
	{ "i32", RPC_PARAM_INT32, &v.i32, false }, { "u32", RPC_PARAM_UINT32, &v.u32, false },
	{ "u64", RPC_PARAM_UINT64, &v.u64, false }, { "i64", RPC_PARAM_INT64, &v.i64, false },
	{ "j", RPC_PARAM_JSON, &v.j, true },
};

static int setup(void **state)
{
	(void)state;
	memset(&v, 0, sizeof(v));
	memset(err, 0, sizeof(err));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(v.s);
	return 0;
}

/* Decodes the base object with one member replaced (or removed when value is NULL). */
static int decode_with(const char *member, json_t *value)
{
	json_t *params =
		json_pack("{s:s, s:b, s:i, s:i, s:I, s:I}", "s", "str", "b", 1, "i32", -5, "u32", 7,
			  "u64", (json_int_t)1 << 40, "i64", -((json_int_t)1 << 40));
	int rc;

	if (member && value)
		json_object_set_new(params, member, value);
	else if (member)
		json_object_del(params, member);
	rc = rpc_params_decode(params, spec, RPC_PARAMS_COUNT(spec), err, sizeof(err));
	json_decref(params);
	return rc;
}

static void test_every_type_decodes(void **state)
{
	(void)state;
	assert_int_equal(decode_with("j", json_pack("[i]", 3)), 0);
	assert_string_equal(v.s, "str");
	assert_true(v.b);
	assert_int_equal(v.i32, -5);
	assert_int_equal(v.u32, 7);
	assert_true(v.u64 == (uint64_t)1 << 40);
	assert_true(v.i64 == -((int64_t)1 << 40));
	/* JSON values are borrowed from params, which decode_with() has freed: only check it was
	 * set. */
	assert_non_null(v.j);
}

static void test_missing_required(void **state)
{
	(void)state;
	assert_int_equal(decode_with("u32", NULL), -EINVAL);
	assert_string_equal(err, "Missing required parameter 'u32'");
}

static void test_absent_optional_keeps_default(void **state)
{
	json_t *sentinel = json_true();

	(void)state;
	v.j = sentinel;
	assert_int_equal(decode_with(NULL, NULL), 0);
	assert_ptr_equal(v.j, sentinel);
}

static void test_unknown_param(void **state)
{
	(void)state;
	assert_int_equal(decode_with("foo", json_integer(1)), -EINVAL);
	assert_string_equal(err, "Unknown parameter 'foo'");
}

static void test_unknown_reported_before_missing(void **state)
{
	json_t *params = json_pack("{s:s}", "nmae", "x");
	char *name = NULL;
	const struct rpc_param one[] = { { "name", RPC_PARAM_STRING, &name, false } };

	(void)state;
	assert_int_equal(rpc_params_decode(params, one, 1, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "Unknown parameter 'nmae'");
	json_decref(params);
}

static void test_wrong_types(void **state)
{
	(void)state;
	assert_int_equal(decode_with("s", json_integer(1)), -EINVAL);
	assert_string_equal(err, "Parameter 's' must be a string");
	assert_int_equal(decode_with("b", json_integer(1)), -EINVAL);
	assert_string_equal(err, "Parameter 'b' must be a boolean");
	assert_int_equal(decode_with("i32", json_string("1")), -EINVAL);
	assert_string_equal(err, "Parameter 'i32' must be an integer");
	assert_int_equal(decode_with("i64", json_real(1.0)), -EINVAL);
	assert_string_equal(err, "Parameter 'i64' must be an integer");
	assert_int_equal(decode_with("u64", json_real(2.5)), -EINVAL);
	assert_string_equal(err, "Parameter 'u64' must be an unsigned integer");
	assert_int_equal(decode_with("u32", json_null()), -EINVAL);
	assert_string_equal(err, "Parameter 'u32' must be an unsigned integer");
	assert_int_equal(decode_with("s", json_null()), -EINVAL);
	assert_string_equal(err, "Parameter 's' must be a string");
}

static void test_negative_unsigned(void **state)
{
	(void)state;
	assert_int_equal(decode_with("u64", json_integer(-1)), -EINVAL);
	assert_string_equal(err, "Parameter 'u64' must be an unsigned integer");
	assert_int_equal(decode_with("u32", json_integer(-1)), -EINVAL);
	assert_string_equal(err, "Parameter 'u32' must be an unsigned integer");
}

static void test_ranges(void **state)
{
	(void)state;
	assert_int_equal(decode_with("u32", json_integer(UINT32_MAX)), 0);
	assert_int_equal(v.u32, UINT32_MAX);
	free(v.s);
	v.s = NULL;
	assert_int_equal(decode_with("u32", json_integer((json_int_t)UINT32_MAX + 1)), -EINVAL);
	assert_string_equal(err, "Parameter 'u32' must be at most 4294967295");
	assert_int_equal(decode_with("i32", json_integer(INT32_MIN)), 0);
	assert_int_equal(v.i32, INT32_MIN);
	free(v.s);
	v.s = NULL;
	assert_int_equal(decode_with("i32", json_integer((json_int_t)INT32_MAX + 1)), -EINVAL);
	assert_string_equal(err, "Parameter 'i32' must be between -2147483648 and 2147483647");
	assert_int_equal(decode_with("i32", json_integer((json_int_t)INT32_MIN - 1)), -EINVAL);
	assert_int_equal(decode_with("u64", json_integer(INT64_MAX)), 0);
	assert_true(v.u64 == (uint64_t)INT64_MAX);
}

static void test_failure_writes_nothing(void **state)
{
	(void)state;
	v.i32 = 99;
	/* s and i32 are valid, u64 is not: neither may be written (and no string leaks). */
	assert_int_equal(decode_with("u64", json_string("x")), -EINVAL);
	assert_null(v.s);
	assert_int_equal(v.i32, 99);
}

static void test_params_must_be_object(void **state)
{
	json_t *params = json_pack("[s]", "x");

	(void)state;
	assert_int_equal(rpc_params_decode(params, spec, RPC_PARAMS_COUNT(spec), err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "Parameters must be a JSON object");
	json_decref(params);
}

static void test_absent_params(void **state)
{
	bool flag = true;
	const struct rpc_param optional[] = { { "flag", RPC_PARAM_BOOL, &flag, true } };
	json_t *empty = json_object();

	(void)state;
	assert_int_equal(rpc_params_decode(NULL, optional, 1, err, sizeof(err)), 0);
	assert_true(flag);
	assert_int_equal(rpc_params_decode(NULL, spec, RPC_PARAMS_COUNT(spec), err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "Missing required parameter 's'");
	/* A method without params accepts none and {} but not a stray member. */
	assert_int_equal(rpc_params_decode(empty, NULL, 0, err, sizeof(err)), 0);
	json_object_set_new(empty, "x", json_true());
	assert_int_equal(rpc_params_decode(empty, NULL, 0, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "Unknown parameter 'x'");
	json_decref(empty);
}

/* rpc_decode() itself answers the request: -32602 with the same message. */
static void decode_method(struct rpc_request *req, json_t *params)
{
	char *name = NULL;
	uint32_t n = 0;
	const struct rpc_param p[] = {
		{ "name", RPC_PARAM_STRING, &name, false },
		{ "num_blocks", RPC_PARAM_UINT32, &n, true },
	};

	if (rpc_decode(req, params, p, RPC_PARAMS_COUNT(p)))
		return;
	rpc_reply(req, json_pack("{s:s, s:i}", "name", name, "n", n));
	free(name);
}

static json_t *answer_error;
static json_t *answer_result;

static void on_answer(void *arg, json_t *result, json_t *error)
{
	(void)arg;
	answer_result = json_incref(result);
	answer_error = json_incref(error);
}

static void test_rpc_decode_replies_invalid_params(void **state)
{
	(void)state;
	rpc_register("test_decode", decode_method);
	rpc_call("test_decode", json_pack("{s:s, s:i}", "name", "a", "num_blocks", -3), on_answer,
		 NULL);
	assert_null(answer_result);
	assert_non_null(answer_error);
	assert_int_equal(json_integer_value(json_object_get(answer_error, "code")), -32602);
	assert_string_equal(json_string_value(json_object_get(answer_error, "message")),
			    "Parameter 'num_blocks' must be an unsigned integer");
	json_decref(answer_error);
	answer_error = NULL;

	rpc_call("test_decode", json_pack("{s:s}", "name", "a"), on_answer, NULL);
	assert_null(answer_error);
	assert_string_equal(json_string_value(json_object_get(answer_result, "name")), "a");
	json_decref(answer_result);
	answer_result = NULL;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_every_type_decodes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_required, setup, teardown),
		cmocka_unit_test_setup_teardown(test_absent_optional_keeps_default, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_unknown_param, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_reported_before_missing, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_wrong_types, setup, teardown),
		cmocka_unit_test_setup_teardown(test_negative_unsigned, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ranges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failure_writes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_params_must_be_object, setup, teardown),
		cmocka_unit_test_setup_teardown(test_absent_params, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rpc_decode_replies_invalid_params, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
