/*
 * The I/O loop: qd slots spread round-robin over the request queues, each completion timed and
 * resubmitted at once; one notify per queue per pass so kicks batch naturally. With busy polling
 * the used rings are polled with call notifications suppressed; otherwise the loop sleeps on the
 * call eventfds.
 */
#include "bench.h"

#include <errno.h>
#include <linux/virtio_ring.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define SLOT_HDR 128
#define MAX_BENCH_QUEUES 64

struct run {
	const struct bench_opts *o;
	const struct bench_target *t;
	struct vu_front *f;
	struct bench_slot *slots;
	uint64_t nblocks; /* bs-sized blocks in the range */
	uint64_t rng;
	bool indirect;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static uint64_t rand64(struct run *r)
{
	/* xorshift64*: cheap, and good enough to scatter offsets */
	r->rng ^= r->rng >> 12;
	r->rng ^= r->rng << 25;
	r->rng ^= r->rng >> 27;
	return r->rng * 0x2545F4914F6CDD1DULL;
}

static bool pick_write(struct run *r)
{
	switch (r->o->rw) {
	case BENCH_RANDREAD:
		return false;
	case BENCH_RANDWRITE:
		return true;
	default:
		return (int)(rand64(r) % 100) >= r->o->rwmixread;
	}
}

static int slot_submit(struct run *r, struct bench_slot *s, uint64_t now)
{
	struct vu_buf bufs[4];
	uint64_t off = (rand64(r) % r->nblocks) * r->o->bs;
	int n = r->t->prep(s, pick_write(r), off, r->o->bs, bufs);

	s->t_submit_ns = now;
	return vu_front_enqueue(r->f, s->q, bufs, n, r->indirect, s);
}

static int alloc_slots(struct run *r, uint32_t block_size)
{
	r->slots = calloc(r->o->qd, sizeof(*r->slots));
	if (!r->slots)
		return -ENOMEM;
	/* Headers and responses packed together, as a driver's slab keeps them: interleaved with
	 * the page-aligned data buffers they would all sit at the same offset in their pages, in
	 * the same few cache sets, and alias (4K) with whatever the server's stack holds there. */
	for (int i = 0; i < r->o->qd; i++) {
		struct bench_slot *s = &r->slots[i];

		s->q = r->t->request_queue(i % r->o->queues);
		s->block_size = block_size;
		s->hdr = vu_front_alloc(r->f, SLOT_HDR, 64, &s->hdr_gpa);
		s->resp = vu_front_alloc(r->f, SLOT_HDR, 64, &s->resp_gpa);
		if (!s->hdr || !s->resp)
			return -ENOMEM;
	}
	for (int i = 0; i < r->o->qd; i++) {
		struct bench_slot *s = &r->slots[i];

		s->data = vu_front_alloc(r->f, r->o->bs, 4096, &s->data_gpa);
		if (!s->data)
			return -ENOMEM;
		memset(s->data, 0x5a, r->o->bs);
	}
	return 0;
}

/* Sleeps until a call eventfd fires; arming first so no completion is missed. */
static int sleep_on_calls(struct run *r, int nq)
{
	struct pollfd pfd[MAX_BENCH_QUEUES];
	uint64_t v;

	for (int i = 0; i < nq; i++) {
		int q = r->t->request_queue(i);

		if (vu_front_arm(r->f, q) > 0)
			return 0;
		pfd[i] = (struct pollfd){ .fd = vu_front_call_fd(r->f, q), .events = POLLIN };
	}
	if (poll(pfd, nq, 100) < 0 && errno != EINTR)
		return -errno;
	for (int i = 0; i < nq; i++)
		if ((pfd[i].revents & POLLIN) && read(pfd[i].fd, &v, sizeof(v)) < 0 &&
		    errno != EAGAIN)
			return -errno;
	return 0;
}

static double cpu_seconds_self(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static int loop(struct run *r, struct bench_result *res)
{
	const struct bench_opts *o = r->o;
	uint64_t start, end, now;
	double srv0, cli0;
	int inflight = 0, nq = o->queues, rc;

	srv0 = o->server_pid ? bench_proc_cpu_seconds(o->server_pid) : -1;
	cli0 = cpu_seconds_self();
	start = now_ns();
	end = start + (uint64_t)(o->seconds * 1e9);
	for (int i = 0; i < o->qd; i++) {
		rc = slot_submit(r, &r->slots[i], start);
		if (rc < 0)
			return rc;
		inflight++;
	}
	for (int i = 0; i < nq; i++)
		vu_front_notify(r->f, r->t->request_queue(i));
	while (inflight) {
		bool progress = false, issuing;

		now = now_ns();
		issuing = now < end;
		if (!issuing && res->elapsed_s == 0) {
			res->elapsed_s = (now - start) / 1e9;
			res->server_cpu_s =
				srv0 < 0 ? -1 : bench_proc_cpu_seconds(o->server_pid) - srv0;
			res->client_cpu_s = cpu_seconds_self() - cli0;
		}
		for (int i = 0; i < nq; i++) {
			int q = r->t->request_queue(i), added = 0;
			void *cookie;

			while ((rc = vu_front_poll(r->f, q, &cookie, NULL)) == 1) {
				struct bench_slot *s = cookie;

				progress = true;
				inflight--;
				if (!issuing)
					continue; /* draining: not counted */
				now = now_ns();
				bench_hist_add(res->lat, now - s->t_submit_ns);
				res->ios++;
				if (r->t->status(s))
					res->errors++;
				rc = slot_submit(r, s, now);
				if (rc < 0)
					return rc;
				inflight++;
				added++;
			}
			if (rc < 0)
				return rc;
			if (added)
				vu_front_notify(r->f, q);
		}
		if (!progress && !o->busy_poll) {
			rc = sleep_on_calls(r, nq);
			if (rc)
				return rc;
		}
	}
	return 0;
}

int bench_run(const struct bench_opts *o, const struct bench_target *t, struct bench_result *res)
{
	size_t per_slot = o->bs + 2 * SLOT_HDR + 4096;
	int qd_per_queue = (o->qd + o->queues - 1) / o->queues;
	struct vu_front_opts fo = {
		.path = o->socket,
		.mem_size = (size_t)o->qd * per_slot + (64u << 20),
		.num_queues = t->request_queue(o->queues - 1) + 1,
		.queue_size = o->queue_size,
		.packed = o->packed,
		.want_features = t->device_features,
		.busy_poll = o->busy_poll,
	};
	struct run r = { .o = o, .t = t, .rng = 0x9e3779b97f4a7c15ULL ^ (uint64_t)getpid() };
	uint64_t capacity;
	uint32_t block_size;
	const char *err = "?";
	int rc;

	if (o->queues < 1 || o->queues > MAX_BENCH_QUEUES || o->qd < o->queues) {
		fprintf(stderr, "vhost-bench: need 1..%d queues and at least one I/O per queue\n",
			MAX_BENCH_QUEUES);
		return -EINVAL;
	}
	r.f = vu_front_connect(&fo, &err);
	if (!r.f) {
		rc = -errno;
		fprintf(stderr, "vhost-bench: %s: %s (%s)\n", o->socket, err, strerror(errno));
		return rc;
	}
	rc = t->open(r.f, &capacity, &block_size);
	if (rc) {
		fprintf(stderr, "vhost-bench: cannot read the device size: %s\n", strerror(-rc));
		goto out;
	}
	rc = -EINVAL;
	if (o->bs % block_size) {
		fprintf(stderr, "vhost-bench: --bs %u is not a multiple of the %u-byte block\n",
			o->bs, block_size);
		goto out;
	}
	r.nblocks = (o->size && o->size < capacity ? o->size : capacity) / o->bs;
	if (!r.nblocks) {
		fprintf(stderr, "vhost-bench: the range holds no %u-byte block\n", o->bs);
		goto out;
	}
	/* A 3-buffer chain per I/O: go indirect when direct chains would not fit the ring. */
	r.indirect = qd_per_queue * 3 > vu_front_queue_size(r.f, t->request_queue(0));
	if (r.indirect && !(vu_front_features(r.f) & (1ULL << VIRTIO_RING_F_INDIRECT_DESC))) {
		fprintf(stderr, "vhost-bench: qd %d does not fit the queues without indirect "
				"descriptors\n", qd_per_queue);
		goto out;
	}
	rc = alloc_slots(&r, block_size);
	if (rc) {
		fprintf(stderr, "vhost-bench: guest memory exhausted\n");
		goto out;
	}
	rc = loop(&r, res);
	if (rc)
		fprintf(stderr, "vhost-bench: I/O loop failed: %s\n", strerror(-rc));
out:
	free(r.slots);
	vu_front_close(r.f);
	return rc;
}

double bench_proc_cpu_seconds(pid_t pid)
{
	char path[64], buf[1024];
	unsigned long long utime, stime;
	FILE *fp;
	char *p;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fp = fopen(path, "r");
	if (!fp)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = 0;
	/* comm may hold spaces and parentheses: fields resume after the last ')' */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
			 &stime) != 2)
		return -1;
	return (double)(utime + stime) / sysconf(_SC_CLK_TCK);
}
