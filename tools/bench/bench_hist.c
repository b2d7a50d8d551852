/* Latency histogram: constant memory and O(1) insert, so millions of samples need no sort. */
#include "bench.h"

#define SUB (1u << BENCH_HIST_SUB_BITS)

static unsigned bucket_of(uint64_t v)
{
	unsigned msb, e;

	if (v < 2 * SUB)
		return v;
	msb = 63 - __builtin_clzll(v);
	e = msb - BENCH_HIST_SUB_BITS; /* v >> e lies in [SUB, 2*SUB) */
	return (e + 1) * SUB + (unsigned)((v >> e) - SUB);
}

static uint64_t bucket_mid(unsigned idx)
{
	unsigned e;

	if (idx < 2 * SUB)
		return idx;
	e = idx / SUB - 1;
	return ((uint64_t)(idx % SUB + SUB) << e) + ((1ULL << e) >> 1);
}

void bench_hist_add(struct bench_hist *h, uint64_t ns)
{
	unsigned idx = bucket_of(ns);

	if (idx >= BENCH_HIST_BUCKETS)
		idx = BENCH_HIST_BUCKETS - 1;
	h->buckets[idx]++;
	h->count++;
	h->sum_ns += ns;
	if (ns > h->max_ns)
		h->max_ns = ns;
}

uint64_t bench_hist_percentile(const struct bench_hist *h, double p)
{
	uint64_t want, seen = 0;

	if (!h->count)
		return 0;
	want = (uint64_t)(p * h->count + 0.5);
	if (want < 1)
		want = 1;
	for (unsigned i = 0; i < BENCH_HIST_BUCKETS; i++) {
		seen += h->buckets[i];
		if (seen >= want)
			return bucket_mid(i) < h->max_ns ? bucket_mid(i) : h->max_ns;
	}
	return h->max_ns;
}
