/* CPU masks as SPDK writes them: "0x3", "3", "[0,2-3]". */
#ifndef VHOSTD_CORE_CPUSET_H
#define VHOSTD_CORE_CPUSET_H

#include <stdint.h>

#define CPUSET_MAX 256

struct cpuset {
	uint64_t bits[CPUSET_MAX / 64];
};

/* Returns 0 or -EINVAL. */
int cpuset_parse(struct cpuset *set, const char *text);
void cpuset_format(const struct cpuset *set, char *buf, int len); /* "0x3" */
int cpuset_count(const struct cpuset *set);
int cpuset_has(const struct cpuset *set, int cpu);
void cpuset_add(struct cpuset *set, int cpu);
/* true when every CPU of sub is in super */
int cpuset_is_subset(const struct cpuset *sub, const struct cpuset *super);

#endif
