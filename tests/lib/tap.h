/*
 * Minimal TAP producer for integration tests: each test is a function run in order; CHECK records a
 * failure with file:line and the condition, and the test goes on (REQUIRE returns from it).
 * tests/run-tests.sh counts the "ok"/"not ok" lines of every test program.
 */
#ifndef VHOSTD_TESTS_TAP_H
#define VHOSTD_TESTS_TAP_H

#include <stdbool.h>

typedef void (*tap_test_fn)(void);

struct tap_test {
	const char *name;
	tap_test_fn fn;
};

void tap_fail(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Runs the tests (all, or those whose name is in argv[1..]); returns the exit status for main. */
int tap_run(const struct tap_test *tests, int count, int argc, char **argv);
bool tap_current_failed(void);

#define TAP_TEST(fn) { #fn, fn }
#define TAP_COUNT(t) ((int)(sizeof(t) / sizeof((t)[0])))

#define CHECK(cond)                                                                      \
	do {                                                                             \
		if (!(cond))                                                             \
			tap_fail(__FILE__, __LINE__, "%s", #cond);                       \
	} while (0)
#define CHECK_MSG(cond, ...)                                                             \
	do {                                                                             \
		if (!(cond))                                                             \
			tap_fail(__FILE__, __LINE__, __VA_ARGS__);                       \
	} while (0)
#define CHECK_EQ(a, b)                                                                   \
	do {                                                                             \
		long long tap_a_ = (long long)(a), tap_b_ = (long long)(b);              \
		if (tap_a_ != tap_b_)                                                    \
			tap_fail(__FILE__, __LINE__, "%s == %s (%lld != %lld)", #a, #b,  \
				 tap_a_, tap_b_);                                        \
	} while (0)
#define REQUIRE(cond)                                                                    \
	do {                                                                             \
		if (!(cond)) {                                                           \
			tap_fail(__FILE__, __LINE__, "%s", #cond);                       \
			return;                                                          \
		}                                                                        \
	} while (0)

#endif
