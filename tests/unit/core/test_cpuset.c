#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/cpuset.h"

static void parses_hex_masks(void **state)
{
	struct cpuset s;
	char buf[80];

	(void)state;
	assert_int_equal(cpuset_parse(&s, "0x5"), 0);
	assert_int_equal(cpuset_count(&s), 2);
	assert_true(cpuset_has(&s, 0));
	assert_false(cpuset_has(&s, 1));
	assert_true(cpuset_has(&s, 2));
	assert_int_equal(cpuset_parse(&s, "F0"), 0);
	assert_int_equal(cpuset_count(&s), 4);
	assert_true(cpuset_has(&s, 7));
	cpuset_format(&s, buf, sizeof(buf));
	assert_string_equal(buf, "0xf0");
}

static void parses_lists(void **state)
{
	struct cpuset s;

	(void)state;
	assert_int_equal(cpuset_parse(&s, "[0,2-3]"), 0);
	assert_int_equal(cpuset_count(&s), 3);
	assert_true(cpuset_has(&s, 3));
	assert_false(cpuset_has(&s, 1));
}

static void rejects_bad_masks(void **state)
{
	static const char *const bad[] = { "", "0x", "0x0", "zz", "[1-", "[3-1]", "[1,]x", "[999]", "[a]" };
	struct cpuset s;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_not_equal(cpuset_parse(&s, bad[i]), 0);
	assert_int_not_equal(cpuset_parse(&s, NULL), 0);
}

static void checks_subsets(void **state)
{
	struct cpuset a, b;

	(void)state;
	cpuset_parse(&a, "0x1");
	cpuset_parse(&b, "0x3");
	assert_true(cpuset_is_subset(&a, &b));
	assert_false(cpuset_is_subset(&b, &a));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parses_hex_masks),
		cmocka_unit_test(parses_lists),
		cmocka_unit_test(rejects_bad_masks),
		cmocka_unit_test(checks_subsets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
