/*
 * vhost-bench: random I/O against any vhost-user block socket, single-threaded, with per-I/O
 * latency in a log-linear histogram. The device personality (virtio-blk, virtio-scsi to LUN 0 of
 * target 0) is a struct bench_target: the loop in bench_run.c only moves slots between queues.
 */
#ifndef VHOSTD_BENCH_H
#define VHOSTD_BENCH_H

#include "frontend/frontend.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

enum bench_rw { BENCH_RANDREAD, BENCH_RANDWRITE, BENCH_RANDRW };

struct bench_opts {
	const char *socket;
	const char *target;  /* "blk" or "scsi" */
	enum bench_rw rw;
	int rwmixread;       /* percent of reads in randrw */
	uint32_t bs;
	int qd;
	int queues;
	uint16_t queue_size;
	double seconds;
	uint64_t size;       /* bytes of the device to spread I/O over; 0 = all */
	pid_t server_pid;    /* 0 = none */
	bool busy_poll;
	bool packed;
	bool json;
};

/* One I/O's guest memory and timing. hdr/resp are 128 bytes each, data is bs bytes. */
struct bench_slot {
	void *hdr, *resp, *data;
	uint64_t hdr_gpa, resp_gpa, data_gpa;
	uint64_t t_submit_ns;
	int q;
	uint32_t block_size; /* the device's, as open() found it */
};

/* A device personality. */
struct bench_target {
	const char *name;
	uint64_t device_features; /* asked for at connect */
	/* After the handshake: the device's size in bytes and the smallest I/O unit. */
	int (*open)(struct vu_front *f, uint64_t *capacity, uint32_t *block_size);
	/* Queue index of the i-th request queue. */
	int (*request_queue)(int i);
	/* Fills the slot's header and returns the chain (at most 4 buffers) for one I/O. */
	int (*prep)(struct bench_slot *s, bool write, uint64_t offset, uint32_t len,
		    struct vu_buf *bufs);
	/* 0 when the device completed the I/O successfully. */
	int (*status)(const struct bench_slot *s);
};

extern const struct bench_target bench_target_blk;
extern const struct bench_target bench_target_scsi;

/* Log-linear latency histogram: exact below 128 ns, then 64 buckets per power of two (<1.6%). */
#define BENCH_HIST_SUB_BITS 6
#define BENCH_HIST_BUCKETS ((64 - BENCH_HIST_SUB_BITS) * (1 << BENCH_HIST_SUB_BITS))
struct bench_hist {
	uint64_t count;
	uint64_t sum_ns;
	uint64_t max_ns;
	uint64_t buckets[BENCH_HIST_BUCKETS];
};
void bench_hist_add(struct bench_hist *h, uint64_t ns);
/* The value below which fraction p (0..1) of the samples fall (bucket midpoint). */
uint64_t bench_hist_percentile(const struct bench_hist *h, double p);

struct bench_result {
	uint64_t ios;
	uint64_t errors;
	double elapsed_s;
	struct bench_hist *lat;
	double server_cpu_s; /* -1 when no server pid */
	double client_cpu_s;
};

int bench_run(const struct bench_opts *o, const struct bench_target *t, struct bench_result *r);

/* utime+stime of a process in seconds, or -1. */
double bench_proc_cpu_seconds(pid_t pid);

#endif
