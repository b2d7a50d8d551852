/* vhost-bench: options and the report. */
#include "bench.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
	fprintf(out,
		"usage: vhost-bench --socket PATH [options]\n"
		"  --rw randread|randwrite|randrw   (default randread)\n"
		"  --rwmixread PCT                  reads in randrw (default 50)\n"
		"  --bs BYTES                       I/O size, k/m suffixes (default 4k)\n"
		"  --qd N                           I/Os in flight in total (default 32)\n"
		"  --queues N                       request queues sharing the qd (default 1)\n"
		"  --queue-size N                   ring entries (default 128)\n"
		"  --time SECONDS                   (default 10)\n"
		"  --size BYTES                     range of the device to use (default: all)\n"
		"  --server-pid PID                 report the server's CPU time per I/O\n"
		"  --busy-poll / --no-busy-poll     poll used rings (default), or sleep on calls\n"
		"  --packed                         packed virtqueues\n"
		"  --target blk|scsi                device personality (default blk; scsi: target 0, LUN 0)\n"
		"  --json                           one JSON object on stdout\n");
}

/* Parses "4096", "4k", "1m", "1g". */
static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *s == '-')
		return -EINVAL;
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	}
	if (*end)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_int(const char *s, int min, int max, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static const struct bench_target *find_target(const char *name)
{
	static const struct bench_target *const targets[] = { &bench_target_blk, &bench_target_scsi };

	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++)
		if (strcmp(targets[i]->name, name) == 0)
			return targets[i];
	return NULL;
}

static int parse_rw(const char *s, enum bench_rw *rw)
{
	if (strcmp(s, "randread") == 0)
		*rw = BENCH_RANDREAD;
	else if (strcmp(s, "randwrite") == 0)
		*rw = BENCH_RANDWRITE;
	else if (strcmp(s, "randrw") == 0)
		*rw = BENCH_RANDRW;
	else
		return -EINVAL;
	return 0;
}

static int parse_args(int argc, char **argv, struct bench_opts *o)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "rw", required_argument, NULL, 'w' },
		{ "rwmixread", required_argument, NULL, 'm' },
		{ "bs", required_argument, NULL, 'b' },
		{ "qd", required_argument, NULL, 'd' },
		{ "queues", required_argument, NULL, 'q' },
		{ "queue-size", required_argument, NULL, 'Q' },
		{ "time", required_argument, NULL, 't' },
		{ "size", required_argument, NULL, 'S' },
		{ "server-pid", required_argument, NULL, 'p' },
		{ "busy-poll", no_argument, NULL, 'B' },
		{ "no-busy-poll", no_argument, NULL, 'N' },
		{ "packed", no_argument, NULL, 'P' },
		{ "target", required_argument, NULL, 'T' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	uint64_t v;
	int c, n, idx = 0, rc = 0;

	while ((c = getopt_long(argc, argv, "", longopts, &idx)) != -1 && !rc) {
		switch (c) {
		case 's': o->socket = optarg; break;
		case 'w': rc = parse_rw(optarg, &o->rw); break;
		case 'm': rc = parse_int(optarg, 0, 100, &o->rwmixread); break;
		case 'b':
			rc = parse_size(optarg, &v);
			if (!rc && (v < 512 || v > (64u << 20) || v % 512))
				rc = -EINVAL;
			o->bs = v;
			break;
		case 'd': rc = parse_int(optarg, 1, 65536, &o->qd); break;
		case 'q': rc = parse_int(optarg, 1, 64, &o->queues); break;
		case 'Q':
			rc = parse_int(optarg, 2, 32768, &n);
			o->queue_size = n;
			break;
		case 't':
			o->seconds = strtod(optarg, NULL);
			rc = o->seconds > 0 ? 0 : -EINVAL;
			break;
		case 'S': rc = parse_size(optarg, &o->size); break;
		case 'p':
			rc = parse_int(optarg, 1, 1 << 30, &n);
			o->server_pid = n;
			break;
		case 'B': o->busy_poll = true; break;
		case 'N': o->busy_poll = false; break;
		case 'P': o->packed = true; break;
		case 'T': o->target = optarg; break;
		case 'j': o->json = true; break;
		case 'h': usage(stdout); exit(0);
		default: return -EINVAL;
		}
		if (rc)
			fprintf(stderr, "vhost-bench: bad value for --%s: %s\n", longopts[idx].name,
				optarg);
	}
	if (rc || optind != argc || !o->socket)
		return -EINVAL;
	return 0;
}

static const char *rw_name(enum bench_rw rw)
{
	return rw == BENCH_RANDREAD ? "randread" : rw == BENCH_RANDWRITE ? "randwrite" : "randrw";
}

static void report(const struct bench_opts *o, const struct bench_result *r)
{
	double iops = r->ios / r->elapsed_s;
	double mibps = iops * o->bs / (1024.0 * 1024.0);
	double avg_us = r->ios ? r->lat->sum_ns / 1e3 / r->ios : 0;
	double p50_us = bench_hist_percentile(r->lat, 0.50) / 1e3;
	double p99_us = bench_hist_percentile(r->lat, 0.99) / 1e3;
	double srv_us = r->server_cpu_s >= 0 && r->ios ? r->server_cpu_s * 1e6 / r->ios : -1;
	double cli_us = r->ios ? r->client_cpu_s * 1e6 / r->ios : 0;

	if (o->json) {
		printf("{\"rw\":\"%s\",\"bs\":%u,\"qd\":%d,\"queues\":%d,\"seconds\":%.3f,"
		       "\"ios\":%llu,\"errors\":%llu,\"iops\":%.0f,\"mibps\":%.1f,"
		       "\"lat_avg_us\":%.2f,\"lat_p50_us\":%.2f,\"lat_p99_us\":%.2f,"
		       "\"lat_max_us\":%.2f,\"client_cpu_us_per_io\":%.3f",
		       rw_name(o->rw), o->bs, o->qd, o->queues, r->elapsed_s,
		       (unsigned long long)r->ios, (unsigned long long)r->errors, iops, mibps,
		       avg_us, p50_us, p99_us, r->lat->max_ns / 1e3, cli_us);
		if (srv_us >= 0)
			printf(",\"server_cpu_us_per_io\":%.3f", srv_us);
		printf("}\n");
		return;
	}
	printf("%s bs=%u qd=%d queues=%d %s: %.1f s\n", rw_name(o->rw), o->bs, o->qd, o->queues,
	       o->busy_poll ? "busy-poll" : "eventfd", r->elapsed_s);
	printf("  IOPS      %.0f\n", iops);
	printf("  MiB/s     %.1f\n", mibps);
	printf("  latency   avg %.2f us  p50 %.2f us  p99 %.2f us  max %.2f us\n", avg_us, p50_us,
	       p99_us, r->lat->max_ns / 1e3);
	printf("  client    %.3f CPU us/IO\n", cli_us);
	if (srv_us >= 0)
		printf("  server    %.3f CPU us/IO\n", srv_us);
	if (r->errors)
		printf("  errors    %llu\n", (unsigned long long)r->errors);
}

int main(int argc, char **argv)
{
	struct bench_opts o = {
		.target = "blk", .rw = BENCH_RANDREAD, .rwmixread = 50, .bs = 4096, .qd = 32,
		.queues = 1, .queue_size = 128, .seconds = 10, .busy_poll = true,
	};
	struct bench_result r = { .server_cpu_s = -1 };
	const struct bench_target *t;
	int rc;

	if (parse_args(argc, argv, &o)) {
		usage(stderr);
		return 2;
	}
	t = find_target(o.target);
	if (!t) {
		fprintf(stderr, "vhost-bench: unknown --target %s\n", o.target);
		return 2;
	}
	r.lat = calloc(1, sizeof(*r.lat));
	if (!r.lat)
		return 1;
	rc = bench_run(&o, t, &r);
	if (!rc)
		report(&o, &r);
	free(r.lat);
	return rc ? 1 : r.errors ? 3 : 0;
}
