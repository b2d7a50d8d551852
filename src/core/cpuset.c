#include "core/cpuset.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cpuset_add(struct cpuset *set, int cpu)
{
	set->bits[cpu / 64] |= 1ULL << (cpu % 64);
}

int cpuset_has(const struct cpuset *set, int cpu)
{
	if (cpu < 0 || cpu >= CPUSET_MAX)
		return 0;
	return (set->bits[cpu / 64] >> (cpu % 64)) & 1;
}

int cpuset_count(const struct cpuset *set)
{
	int n = 0;

	for (int i = 0; i < CPUSET_MAX / 64; i++)
		n += __builtin_popcountll(set->bits[i]);
	return n;
}

int cpuset_is_subset(const struct cpuset *sub, const struct cpuset *super)
{
	for (int i = 0; i < CPUSET_MAX / 64; i++)
		if (sub->bits[i] & ~super->bits[i])
			return 0;
	return 1;
}

/* "[0,2-3]": a list of CPUs and ranges. */
static int parse_list(struct cpuset *set, const char *p)
{
	while (*p && *p != ']') {
		char *end;
		long first = strtol(p, &end, 10), last;

		if (end == p || first < 0 || first >= CPUSET_MAX)
			return -EINVAL;
		last = first;
		p = end;
		if (*p == '-') {
			last = strtol(p + 1, &end, 10);
			if (end == p + 1 || last < first || last >= CPUSET_MAX)
				return -EINVAL;
			p = end;
		}
		for (long c = first; c <= last; c++)
			cpuset_add(set, (int)c);
		if (*p == ',')
			p++;
		else if (*p != ']')
			return -EINVAL;
	}
	return *p == ']' && p[1] == '\0' ? 0 : -EINVAL;
}

/* "0x3" or "3": a hexadecimal mask, lowest bit CPU 0. */
static int parse_hex(struct cpuset *set, const char *p)
{
	size_t len;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		p += 2;
	len = strlen(p);
	if (len == 0 || len > CPUSET_MAX / 4)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		char c = p[len - 1 - i];
		int v;

		if (!isxdigit((unsigned char)c))
			return -EINVAL;
		v = isdigit((unsigned char)c) ? c - '0' : tolower((unsigned char)c) - 'a' + 10;
		for (int b = 0; b < 4; b++)
			if (v & (1 << b))
				cpuset_add(set, (int)(i * 4 + b));
	}
	return 0;
}

int cpuset_parse(struct cpuset *set, const char *text)
{
	int rc;

	memset(set, 0, sizeof(*set));
	if (!text || !*text)
		return -EINVAL;
	rc = text[0] == '[' ? parse_list(set, text + 1) : parse_hex(set, text);
	if (rc == 0 && cpuset_count(set) == 0)
		rc = -EINVAL;
	return rc;
}

void cpuset_format(const struct cpuset *set, char *buf, int len)
{
	int top = CPUSET_MAX / 4 - 1, n;

	while (top > 0 && !((set->bits[top / 16] >> ((top % 16) * 4)) & 0xf))
		top--;
	n = snprintf(buf, len, "0x");
	for (int i = top; i >= 0 && n < len - 1; i--)
		n += snprintf(buf + n, len - n, "%x", (unsigned)((set->bits[i / 16] >> ((i % 16) * 4)) & 0xf));
}
