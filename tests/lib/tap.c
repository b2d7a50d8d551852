#include "tap.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static bool current_failed;

void tap_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	current_failed = true;
	fprintf(stdout, "# FAIL %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

bool tap_current_failed(void)
{
	return current_failed;
}

static bool selected(const char *name, int argc, char **argv)
{
	if (argc < 2)
		return true;
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return true;
	return false;
}

int tap_run(const struct tap_test *tests, int count, int argc, char **argv)
{
	int n = 0, failed = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 0; i < count; i++) {
		if (!selected(tests[i].name, argc, argv))
			continue;
		current_failed = false;
		tests[i].fn();
		n++;
		printf("%s %d - %s\n", current_failed ? "not ok" : "ok", n, tests[i].name);
		failed += current_failed;
	}
	printf("1..%d\n", n);
	return failed ? 1 : 0;
}
