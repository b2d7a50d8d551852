/* Framing of a JSON byte stream: where one value ends, halves, several values, garbage. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "rpc/rpc_internal.h"

#include <errno.h>
#include <string.h>

static long scan(const char *text, size_t *start)
{
	return rpc_frame_scan(text, strlen(text), start);
}

static void test_scan_object_ends_at_its_brace(void **state)
{
	size_t start;

	(void)state;
	assert_int_equal(scan("{\"a\":1}{\"b\":2}", &start), 7);
	assert_int_equal(start, 0);
	assert_int_equal(scan("  \n{}", &start), 5);
	assert_int_equal(start, 3);
}

static void test_scan_incomplete_needs_more(void **state)
{
	size_t start;

	(void)state;
	assert_int_equal(scan("{\"a\":[1,2", &start), 0);
	assert_int_equal(scan("{\"a\":\"}", &start), 0);  /* brace inside a string */
	assert_int_equal(scan("{\"a\":\"\\", &start), 0); /* escape cut in half */
	assert_int_equal(scan("", &start), 0);
	assert_int_equal(scan("   ", &start), 0);
	assert_int_equal(start, 3);
	assert_int_equal(scan("123", &start), 0); /* a number may go on */
}

static void test_scan_strings_and_escapes(void **state)
{
	size_t start;

	(void)state;
	assert_int_equal(scan("{\"a\":\"x\\\"}\"}", &start), 12); /* escaped quote then brace */
	assert_int_equal(scan("[\"]\"]", &start), 5);
	assert_int_equal(scan("\"s\" ", &start), 3);
	assert_int_equal(scan("{\"\\\\\":1}", &start), 8); /* escaped backslash ends the key */
}

static void test_scan_literals(void **state)
{
	size_t start;

	(void)state;
	assert_int_equal(scan("42 ", &start), 2);
	assert_int_equal(scan("true{", &start), 4);
	assert_int_equal(scan("-1,", &start), 2);
}

static void test_scan_garbage_rejected(void **state)
{
	size_t start;

	(void)state;
	assert_int_equal(scan("}", &start), -1);
	assert_int_equal(scan("  ]", &start), -1);
	assert_int_equal(scan("x", &start), -1);
	assert_int_equal(rpc_frame_scan("\0{}", 3, &start), -1);
}

static void test_stream_yields_values_in_order(void **state)
{
	struct rpc_stream s = { 0 };
	const char *text = "{\"id\":1} [2]\n{\"id\":3}";
	json_t *v;

	(void)state;
	assert_int_equal(rpc_stream_append(&s, text, strlen(text)), 0);
	assert_int_equal(rpc_stream_next(&s, 1024, &v), 1);
	assert_int_equal(json_integer_value(json_object_get(v, "id")), 1);
	json_decref(v);
	assert_int_equal(rpc_stream_next(&s, 1024, &v), 1);
	assert_true(json_is_array(v));
	json_decref(v);
	assert_int_equal(rpc_stream_next(&s, 1024, &v), 1);
	assert_int_equal(json_integer_value(json_object_get(v, "id")), 3);
	json_decref(v);
	assert_int_equal(rpc_stream_next(&s, 1024, &v), 0);
	assert_int_equal(rpc_stream_pending(&s), 0);
	rpc_stream_free(&s);
}

static void test_stream_byte_by_byte(void **state)
{
	struct rpc_stream s = { 0 };
	const char *text = "{\"method\":\"a{b}\",\"params\":{\"x\":[1,{}]}}";
	size_t len = strlen(text);
	json_t *v = NULL;

	(void)state;
	for (size_t i = 0; i < len; i++) {
		assert_int_equal(rpc_stream_next(&s, 1024, &v), 0);
		assert_int_equal(rpc_stream_append(&s, text + i, 1), 0);
	}
	assert_int_equal(rpc_stream_next(&s, 1024, &v), 1);
	assert_string_equal(json_string_value(json_object_get(v, "method")), "a{b}");
	json_decref(v);
	rpc_stream_free(&s);
}

static void test_stream_malformed_inside_frame(void **state)
{
	struct rpc_stream s = { 0 };
	json_t *v;

	(void)state;
	assert_int_equal(rpc_stream_append(&s, "{\"a\":,}", 7), 0);
	assert_int_equal(rpc_stream_next(&s, 1024, &v), -EBADMSG);
	rpc_stream_free(&s);
	assert_int_equal(rpc_stream_append(&s, "{]", 2), 0);
	assert_int_equal(rpc_stream_next(&s, 1024, &v), -EBADMSG);
	rpc_stream_free(&s);
}

static void test_stream_oversized_incomplete_value(void **state)
{
	struct rpc_stream s = { 0 };
	char buf[200];
	json_t *v;

	(void)state;
	memset(buf, ' ', sizeof(buf));
	buf[0] = '[';
	assert_int_equal(rpc_stream_append(&s, buf, sizeof(buf)), 0);
	assert_int_equal(rpc_stream_next(&s, 1000, &v), 0);
	assert_int_equal(rpc_stream_next(&s, 100, &v), -EMSGSIZE);
	rpc_stream_free(&s);
}

static void test_stream_reuses_consumed_space(void **state)
{
	struct rpc_stream s = { 0 };
	json_t *v;

	(void)state;
	/* Many small values through the stream must not grow it without bound. */
	for (int i = 0; i < 10000; i++) {
		assert_int_equal(rpc_stream_append(&s, "{\"k\":\"vvvvvvvv\"} {", 18), 0);
		assert_int_equal(rpc_stream_next(&s, 1024, &v), 1);
		json_decref(v);
		assert_int_equal(rpc_stream_append(&s, "}", 1), 0);
		assert_int_equal(rpc_stream_next(&s, 1024, &v), 1);
		json_decref(v);
	}
	assert_true(s.cap <= 8192);
	rpc_stream_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scan_object_ends_at_its_brace),
		cmocka_unit_test(test_scan_incomplete_needs_more),
		cmocka_unit_test(test_scan_strings_and_escapes),
		cmocka_unit_test(test_scan_literals),
		cmocka_unit_test(test_scan_garbage_rejected),
		cmocka_unit_test(test_stream_yields_values_in_order),
		cmocka_unit_test(test_stream_byte_by_byte),
		cmocka_unit_test(test_stream_malformed_inside_frame),
		cmocka_unit_test(test_stream_oversized_incomplete_value),
		cmocka_unit_test(test_stream_reuses_consumed_space),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
