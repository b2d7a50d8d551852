/*
 * vhost-blk data path against a real vhostd: what is written is what is read, on every backend,
 * split and packed rings, direct and indirect chains, 1/2/4 queues served by one or two workers,
 * multi-segment requests, many requests in flight on several queues, in every poll mode.
 */
#include "blk_test.h"
#include "blk_xfer.h"
#include "tap.h"
#include "test_clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <unistd.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#define DISK_BYTES (4u << 20)
#define SLOT_SECTORS 32u /* 16 KiB per synchronous write/read check */
#define SYNC_LEN 8192u
#define DEEP_FIRST_SECTOR 2048u /* deep-queue I/O lives in the second MiB and up */
#define DEEP_QD 16
#define DEEP_LEN 4096u

struct backend {
	const char *bdev; /* what the controller opens */
	uint32_t block_size;
	char file[128]; /* backing file, "" when none */
};

/* BK_URING_SHM: an image on tmpfs, which the bdev maps and copies (two workers at once). */
enum { BK_MALLOC_512, BK_MALLOC_4K, BK_URING, BK_URING_SHM, BK_AIO, BK_ERROR, BK_COUNT };

static bool backends_create(struct test_daemon *d, struct backend *bk)
{
	bk[BK_MALLOC_512] = (struct backend){ "M512", 512, "" };
	bk[BK_MALLOC_4K] = (struct backend){ "M4K", 4096, "" };
	bk[BK_URING] = (struct backend){ "U0", 512, "" };
	bk[BK_URING_SHM] = (struct backend){ "US", 512, "" };
	bk[BK_AIO] = (struct backend){ "A0", 4096, "" };
	bk[BK_ERROR] = (struct backend){ "EE_MB", 512, "" };
	return it_malloc(d, "M512", DISK_BYTES / 512, 512) &&
	       it_malloc(d, "M4K", DISK_BYTES / 4096, 4096) &&
	       it_malloc(d, "MB", DISK_BYTES / 512, 512) &&
	       it_ok(d, "bdev_error_create", json_pack("{s:s}", "base_name", "MB")) &&
	       it_file_create(bk[BK_URING].file, sizeof(bk[BK_URING].file), "uring", DISK_BYTES) &&
	       it_ok(d, "bdev_uring_create",
		     json_pack("{s:s, s:s}", "filename", bk[BK_URING].file, "name", "U0")) &&
	       it_file_create_in("/dev/shm", bk[BK_URING_SHM].file, sizeof(bk[BK_URING_SHM].file),
				 "uring-shm", DISK_BYTES) &&
	       it_ok(d, "bdev_uring_create",
		     json_pack("{s:s, s:s}", "filename", bk[BK_URING_SHM].file, "name", "US")) &&
	       it_file_create(bk[BK_AIO].file, sizeof(bk[BK_AIO].file), "aio", DISK_BYTES) &&
	       it_ok(d, "bdev_aio_create",
		     json_pack("{s:s, s:s, s:i}", "filename", bk[BK_AIO].file, "name", "A0",
			       "block_size", 4096));
}

static void backends_remove_files(struct backend *bk)
{
	for (int i = 0; i < BK_COUNT; i++)
		if (bk[i].file[0])
			unlink(bk[i].file);
}

/* Writes with nseg segments, reads back with another split, compares (and with the file). */
static void check_sync(struct vu_front *f, const struct backend *bk, int q, uint64_t sector,
		       int nseg, bool indirect, unsigned seed)
{
	uint8_t w[SYNC_LEN], r[SYNC_LEN];
	int rseg = nseg % 4 + 1;
	long bad;

	bx_fill(w, sizeof(w), sector * 512, seed);
	memset(r, 0, sizeof(r));
	CHECK_EQ(bx_rw(f, q, VIRTIO_BLK_T_OUT, sector, w, sizeof(w), nseg, indirect),
		 VIRTIO_BLK_S_OK);
	CHECK_EQ(bx_rw(f, q, VIRTIO_BLK_T_IN, sector, r, sizeof(r), rseg, indirect),
		 VIRTIO_BLK_S_OK);
	bad = bx_mismatch(r, sizeof(r), sector * 512, seed);
	CHECK_MSG(bad < 0, "%s q%d sector %llu %s nseg %d/%d: byte %ld differs", bk->bdev, q,
		  (unsigned long long)sector, indirect ? "indirect" : "direct", nseg, rseg, bad);
	if (bk->file[0])
		CHECK_MSG(it_file_equals(bk->file, (off_t)sector * 512, w, sizeof(w)),
			  "%s: file differs at sector %llu", bk->file, (unsigned long long)sector);
}

/* DEEP_QD requests on every queue at once (queues on different workers complete in any order),
 * all of type, each DEEP_LEN bytes at its own place. */
static void run_deep_round(struct vu_front *f, int nq, uint32_t type, unsigned seed)
{
	struct bx_io ios[4][DEEP_QD];
	uint8_t buf[DEEP_LEN];

	for (int q = 0; q < nq; q++) {
		for (int i = 0; i < DEEP_QD; i++) {
			uint64_t sector =
				DEEP_FIRST_SECTOR + (uint64_t)(q * DEEP_QD + i) * (DEEP_LEN / 512);

			REQUIRE(bx_io_init(f, &ios[q][i], type, sector, DEEP_LEN, i % 3 + 1) == 0);
			if (type == VIRTIO_BLK_T_OUT) {
				bx_fill(buf, sizeof(buf), sector * 512, seed);
				bx_io_put(&ios[q][i], buf);
			}
			REQUIRE(bx_io_submit(f, q, &ios[q][i], i % 2, false) >= 0);
		}
	}
	for (int q = 0; q < nq; q++)
		CHECK(vu_front_notify(f, q) == 0);
	for (int q = 0; q < nq; q++) {
		CHECK_EQ(bx_wait_all(f, q, ios[q], DEEP_QD, IT_TIMEOUT_MS), 0);
		for (int i = 0; i < DEEP_QD; i++) {
			struct bx_io *io = &ios[q][i];

			CHECK_MSG(io->done && *io->status == VIRTIO_BLK_S_OK,
				  "q%d io %d: done %d status %u", q, i, io->done, *io->status);
			if (!io->done)
				continue;
			/* the device wrote the data (reads) and the status byte */
			CHECK_EQ(io->used_len, type == VIRTIO_BLK_T_IN ? DEEP_LEN + 1 : 1);
			if (type != VIRTIO_BLK_T_IN)
				continue;
			bx_io_get(io, buf);
			CHECK_MSG(bx_mismatch(buf, sizeof(buf), io->hdr->sector * 512, seed) < 0,
				  "q%d io %d: data read back differs", q, i);
		}
	}
	vu_front_free_all_buffers(f);
}

struct data_case {
	const struct backend *bk;
	bool packed;
	const char *cpumask;
	int nq;
};

static void run_case(struct test_daemon *d, const struct data_case *c, unsigned seed)
{
	char name[64];
	struct virtio_blk_config cfg;
	struct vu_front *f;
	int slot = 0;

	snprintf(name, sizeof(name), "vb.%s.%s.%s.%d", c->bk->bdev, c->packed ? "packed" : "split",
		 c->cpumask, c->nq);
	REQUIRE(it_ok(d, "vhost_create_blk_controller",
		      json_pack("{s:s, s:s, s:s, s:b}", "ctrlr", name, "dev_name", c->bk->bdev,
				"cpumask", c->cpumask, "packed_ring", c->packed)));
	f = it_connect(d, name,
		       &(struct vu_front_opts){ .num_queues = c->nq, .packed = c->packed });
	if (f) {
		CHECK_EQ(vu_front_num_queues(f), c->nq);
		CHECK_EQ(!!(vu_front_features(f) & (1ULL << VIRTIO_F_RING_PACKED)), c->packed);
		if (bt_config(f, &cfg)) {
			CHECK_EQ(cfg.blk_size, c->bk->block_size);
			CHECK_EQ(cfg.capacity, DISK_BYTES / 512);
		}
		/* stop at the first failure: a lost notification would make every later request
		 * wait for its timeout */
		for (int q = 0; q < c->nq && !tap_current_failed(); q++)
			for (int indirect = 0; indirect < 2 && !tap_current_failed(); indirect++)
				for (int nseg = 1; nseg <= 8 && !tap_current_failed();
				     nseg = nseg * 3 - 1)
					check_sync(f, c->bk, q, (uint64_t)slot++ * SLOT_SECTORS,
						   nseg, indirect, seed); /* nseg 1, 2, 5 */
		if (!tap_current_failed())
			run_deep_round(f, c->nq, VIRTIO_BLK_T_OUT, seed);
		if (!tap_current_failed())
			run_deep_round(f, c->nq, VIRTIO_BLK_T_IN, seed);
		vu_front_close(f);
	}
	it_delete_ctrlr(d, name);
}

/* Every backend x ring layout x cpumask, with 1, 2 or 4 queues in turn. */
static void run_matrix(const char *poll, int shift)
{
	static const int nqs[] = { 1, 2, 4 };
	static const char *const masks[] = { "0x1", "0x3" };
	char args[64];
	struct backend bk[BK_COUNT] = { 0 };
	struct test_daemon *d;
	unsigned n = 0;

	snprintf(args, sizeof(args), "-m 0x3 --poll %s", poll);
	d = test_daemon_start(args);
	REQUIRE(d);
	if (backends_create(d, bk)) {
		/* the first failing case is reported, the rest skipped */
		for (int b = 0; b < BK_COUNT; b++) {
			for (int packed = 0; packed < 2; packed++) {
				for (int m = 0; m < 2 && !tap_current_failed(); m++, n++) {
					struct data_case c = { &bk[b], packed, masks[m],
							       nqs[(n + shift) % 3] };

					run_case(d, &c, n * 7 + shift + 1);
				}
			}
		}
	}
	CHECK(test_daemon_stop(d, NULL) == 0);
	backends_remove_files(bk);
}

static void test_data_poll_adaptive(void)
{
	run_matrix("adaptive", 0);
}

static void test_data_poll_always(void)
{
	run_matrix("always", 1);
}

static void test_data_poll_never(void)
{
	run_matrix("never", 2);
}

static int zero_range(struct vu_front *f, uint32_t type, uint64_t sector, uint32_t num)
{
	struct virtio_blk_discard_write_zeroes seg = { sector, num, 0 };

	return vu_blk_request(f, 0, type, 0, &seg, sizeof(seg));
}

/* A 4096-byte-block bdev: only whole blocks at block boundaries are served. */
static void test_data_4k_alignment(void)
{
	struct test_daemon *d = test_daemon_start("--poll adaptive");
	struct vu_front *f = NULL;
	uint8_t w[8192], r[8192];

	REQUIRE(d);
	if (it_malloc(d, "M4K", 256, 4096) && bt_ctrlr(d, "c4k", "M4K"))
		f = it_connect(d, "c4k", NULL);
	if (f) {
		bx_fill(w, sizeof(w), 8 * 512, 11);
		CHECK_EQ(bx_rw(f, 0, VIRTIO_BLK_T_OUT, 8, w, 4096, 2, false), VIRTIO_BLK_S_OK);
		/* sector 1: not a block boundary */
		CHECK_EQ(bx_rw(f, 0, VIRTIO_BLK_T_OUT, 1, w, 4096, 1, false), VIRTIO_BLK_S_IOERR);
		CHECK_EQ(bx_rw(f, 0, VIRTIO_BLK_T_IN, 1, r, 4096, 1, false), VIRTIO_BLK_S_IOERR);
		CHECK_EQ(bx_rw(f, 0, VIRTIO_BLK_T_IN, 12, r, 4096, 1, true), VIRTIO_BLK_S_IOERR);
		/* lengths that are not whole blocks */
		CHECK_EQ(bx_rw(f, 0, VIRTIO_BLK_T_IN, 8, r, 512, 1, false), VIRTIO_BLK_S_IOERR);
		CHECK_EQ(bx_rw(f, 0, VIRTIO_BLK_T_OUT, 8, w, 4096 + 512, 3, false),
			 VIRTIO_BLK_S_IOERR);
		CHECK_EQ(bx_rw(f, 0, VIRTIO_BLK_T_IN, 8, r, 6144, 2, true), VIRTIO_BLK_S_IOERR);
		/* the refused writes left the block as it was */
		memset(r, 0, sizeof(r));
		CHECK_EQ(bx_rw(f, 0, VIRTIO_BLK_T_IN, 8, r, 4096, 3, false), VIRTIO_BLK_S_OK);
		CHECK(memcmp(r, w, 4096) == 0);
		/* two blocks across several segments of odd sizes */
		bx_fill(w, sizeof(w), 16 * 512, 12);
		CHECK_EQ(bx_rw(f, 0, VIRTIO_BLK_T_OUT, 16, w, 8192, 7, true), VIRTIO_BLK_S_OK);
		CHECK_EQ(bx_rw(f, 0, VIRTIO_BLK_T_IN, 16, r, 8192, 5, false), VIRTIO_BLK_S_OK);
		CHECK(memcmp(r, w, 8192) == 0);
		/* DISCARD and WRITE_ZEROES ranges too: whole blocks only */
		CHECK_EQ(zero_range(f, VIRTIO_BLK_T_DISCARD, 17, 8), VIRTIO_BLK_S_IOERR);
		CHECK_EQ(zero_range(f, VIRTIO_BLK_T_DISCARD, 16, 4), VIRTIO_BLK_S_IOERR);
		CHECK_EQ(zero_range(f, VIRTIO_BLK_T_WRITE_ZEROES, 20, 8), VIRTIO_BLK_S_IOERR);
		CHECK_EQ(zero_range(f, VIRTIO_BLK_T_WRITE_ZEROES, 16, 12), VIRTIO_BLK_S_IOERR);
		CHECK_EQ(bx_rw(f, 0, VIRTIO_BLK_T_IN, 16, r, 8192, 1, false), VIRTIO_BLK_S_OK);
		CHECK(memcmp(r, w, 8192) == 0);
		CHECK_EQ(zero_range(f, VIRTIO_BLK_T_WRITE_ZEROES, 16, 8), VIRTIO_BLK_S_OK);
		CHECK_EQ(bx_rw(f, 0, VIRTIO_BLK_T_IN, 16, r, 8192, 1, false), VIRTIO_BLK_S_OK);
		memset(w, 0, 4096);
		CHECK(memcmp(r, w, 8192) == 0);
		vu_front_close(f);
	}
	CHECK(test_daemon_stop(d, NULL) == 0);
}

/* Completions leave a queue in the order the bdev finishes them, not the order they came in: a
 * read held by the error bdev is overtaken by the writes behind it, on both ring layouts. */
static void check_out_of_order(struct test_daemon *d, bool packed)
{
	const char *name = packed ? "ooo.packed" : "ooo.split";
	struct vu_front *f;
	struct bx_io ios[4];
	uint8_t buf[4096];

	REQUIRE(it_ok(d, "vhost_create_blk_controller",
		      json_pack("{s:s, s:s, s:b}", "ctrlr", name, "dev_name", "EE_M0",
				"packed_ring", packed)));
	f = it_connect(d, name, &(struct vu_front_opts){ .packed = packed });
	if (f) {
		bx_fill(buf, sizeof(buf), 0, 21);
		CHECK_EQ(bx_rw(f, 0, VIRTIO_BLK_T_OUT, 0, buf, sizeof(buf), 1, false),
			 VIRTIO_BLK_S_OK);
		CHECK(it_ok(d, "bdev_error_inject_error",
			    json_pack("{s:s, s:s, s:s, s:i}", "name", "EE_M0", "io_type", "read",
				      "error_type", "pending", "num", 1)));
		CHECK(bx_io_init(f, &ios[0], VIRTIO_BLK_T_IN, 0, 4096, 2) == 0);
		CHECK(bx_io_submit(f, 0, &ios[0], false, true) >= 0);
		for (int i = 1; i < 4; i++) {
			CHECK(bx_io_init(f, &ios[i], VIRTIO_BLK_T_OUT, 64 + i * 8, 4096, 1) == 0);
			bx_fill(buf, sizeof(buf), (64 + i * 8) * 512, 21);
			bx_io_put(&ios[i], buf);
			CHECK(bx_io_submit(f, 0, &ios[i], i == 2, true) >= 0);
		}
		/* the writes come back while the read is held */
		CHECK_EQ(bx_wait_all(f, 0, ios + 1, 3, IT_TIMEOUT_MS), 0);
		CHECK_EQ(bx_collect(f, 0, ios, 4, 200), 0);
		CHECK(!ios[0].done);
		CHECK(it_ok(d, "bdev_error_inject_error",
			    json_pack("{s:s, s:s, s:s}", "name", "EE_M0", "io_type", "clear",
				      "error_type", "failure")));
		CHECK_EQ(bx_wait_all(f, 0, ios, 4, IT_TIMEOUT_MS), 0);
		for (int i = 0; i < 4; i++)
			CHECK_EQ(*ios[i].status, VIRTIO_BLK_S_OK);
		bx_io_get(&ios[0], buf);
		CHECK(bx_mismatch(buf, sizeof(buf), 0, 21) < 0);
		vu_front_free_all_buffers(f);
		for (int i = 1; i < 4; i++) {
			CHECK_EQ(bx_rw(f, 0, VIRTIO_BLK_T_IN, 64 + i * 8, buf, 4096, 1, false),
				 VIRTIO_BLK_S_OK);
			CHECK(bx_mismatch(buf, sizeof(buf), (64 + i * 8) * 512, 21) < 0);
		}
		vu_front_close(f);
	}
	it_delete_ctrlr(d, name);
}

static void test_data_out_of_order(void)
{
	struct test_daemon *d = test_daemon_start("--poll adaptive");

	REQUIRE(d);
	if (it_malloc(d, "M0", 2048, 512) &&
	    it_ok(d, "bdev_error_create", json_pack("{s:s}", "base_name", "M0"))) {
		check_out_of_order(d, false);
		check_out_of_order(d, true);
	}
	CHECK(test_daemon_stop(d, NULL) == 0);
}

/* Ring indexes wrap many times (and the packed ring's wrap counter flips) with 32 requests in
 * flight on each of two queues served by two workers. */
static void check_wrap(struct test_daemon *d, bool packed)
{
	const char *name = packed ? "wrap.packed" : "wrap.split";
	struct bx_io ios[2][32];
	uint8_t buf[4096];
	struct vu_front *f;

	REQUIRE(it_ok(d, "vhost_create_blk_controller",
		      json_pack("{s:s, s:s, s:s, s:b}", "ctrlr", name, "dev_name", "M0", "cpumask",
				"0x3", "packed_ring", packed)));
	f = it_connect(
		d, name,
		&(struct vu_front_opts){ .num_queues = 2, .queue_size = 64, .packed = packed });
	for (int round = 0; f && round < 24 && !tap_current_failed(); round++) {
		uint32_t type = round % 2 ? VIRTIO_BLK_T_IN : VIRTIO_BLK_T_OUT;

		for (int q = 0; q < 2; q++) {
			for (int i = 0; i < 32; i++) {
				uint64_t sector = (uint64_t)(q * 32 + i) * 8;

				REQUIRE(bx_io_init(f, &ios[q][i], type, sector, 4096, 1) == 0);
				if (type == VIRTIO_BLK_T_OUT) {
					bx_fill(buf, sizeof(buf), sector * 512, round);
					bx_io_put(&ios[q][i], buf);
				}
				/* direct chains take 3 slots: mix in indirect ones to fit 64 */
				REQUIRE(bx_io_submit(f, q, &ios[q][i], i % 3 != 0, i % 8 == 7) >=
					0);
			}
		}
		for (int q = 0; q < 2; q++) {
			CHECK_EQ(bx_wait_all(f, q, ios[q], 32, IT_TIMEOUT_MS), 0);
			for (int i = 0; i < 32; i++) {
				CHECK_EQ(*ios[q][i].status, VIRTIO_BLK_S_OK);
				if (type != VIRTIO_BLK_T_IN)
					continue;
				bx_io_get(&ios[q][i], buf);
				CHECK(bx_mismatch(buf, sizeof(buf), ios[q][i].hdr->sector * 512,
						  round - 1) < 0);
			}
		}
		vu_front_free_all_buffers(f);
	}
	if (f)
		vu_front_close(f);
	it_delete_ctrlr(d, name);
}

static void test_data_ring_wrap(void)
{
	struct test_daemon *d = test_daemon_start("-m 0x3 --poll adaptive");

	REQUIRE(d);
	if (it_malloc(d, "M0", 2048, 512)) {
		check_wrap(d, false);
		check_wrap(d, true);
	}
	CHECK(test_daemon_stop(d, NULL) == 0);
}

/* null: no data to check, but every request completes OK and nothing breaks. */
static void test_data_null_bdev(void)
{
	struct test_daemon *d = test_daemon_start("-m 0x3 --poll adaptive");
	uint8_t buf[8192] = { 0 };
	struct vu_front *f = NULL;

	REQUIRE(d);
	if (it_ok(d, "bdev_null_create",
		  json_pack("{s:s, s:i, s:i}", "name", "N0", "num_blocks", 4096, "block_size",
			    512)) &&
	    it_ok(d, "vhost_create_blk_controller",
		  json_pack("{s:s, s:s, s:s}", "ctrlr", "cn", "dev_name", "N0", "cpumask", "0x3")))
		f = it_connect(d, "cn", &(struct vu_front_opts){ .num_queues = 2 });
	if (f) {
		for (int q = 0; q < 2; q++) {
			for (int nseg = 1; nseg <= 4; nseg++) {
				CHECK_EQ(bx_rw(f, q, VIRTIO_BLK_T_OUT, nseg * 16, buf, sizeof(buf),
					       nseg, nseg % 2),
					 VIRTIO_BLK_S_OK);
				CHECK_EQ(bx_rw(f, q, VIRTIO_BLK_T_IN, nseg * 16, buf, sizeof(buf),
					       nseg, nseg % 2 == 0),
					 VIRTIO_BLK_S_OK);
			}
		}
		CHECK_EQ(bx_rw(f, 0, VIRTIO_BLK_T_IN, 4096 - 16, buf, sizeof(buf), 1, false),
			 VIRTIO_BLK_S_OK);
		run_deep_round(f, 2, VIRTIO_BLK_T_OUT, 1);
		vu_front_close(f);
	}
	CHECK(test_daemon_stop(d, NULL) == 0);
}

/* A front-end that busy-polls its used ring turns calls off (EVENT_IDX: a used_event far ahead):
 * however the device's returns and the polling interleave - here a pipeline kept 16 deep, each
 * completion answered by a new request - the call eventfd stays quiet (the first check of a
 * queue may call once). */
static void test_busy_poll_gets_no_calls(void)
{
	enum { TOTAL = 4000 };
	struct test_daemon *d = test_daemon_start("-m 0x3 --poll adaptive");
	struct vu_front *f = NULL;
	struct bx_io ios[DEEP_QD];
	struct pollfd call = { .events = POLLIN };
	uint64_t calls = 0;
	long long deadline = test_now_ms() + IT_TIMEOUT_MS;
	int submitted = 0, done = 0;

	REQUIRE(d);
	if (it_ok(d, "bdev_null_create",
		  json_pack("{s:s, s:i, s:i}", "name", "N0", "num_blocks", 4096, "block_size",
			    512)) &&
	    it_ok(d, "vhost_create_blk_controller",
		  json_pack("{s:s, s:s}", "ctrlr", "cb", "dev_name", "N0")))
		f = it_connect(d, "cb", &(struct vu_front_opts){ .num_queues = 1, .busy_poll = true });
	REQUIRE(f);
	CHECK(vu_front_features(f) & (1ULL << VIRTIO_RING_F_EVENT_IDX));
	for (int i = 0; i < DEEP_QD; i++) {
		REQUIRE(bx_io_init(f, &ios[i], VIRTIO_BLK_T_IN, (uint64_t)i * 8, DEEP_LEN, 1) == 0);
		REQUIRE(bx_io_submit(f, 0, &ios[i], false, true) >= 0);
		submitted++;
	}
	while (done < TOTAL) {
		void *cookie;
		uint32_t len;
		int rc = vu_front_poll(f, 0, &cookie, &len);

		REQUIRE(rc >= 0 && test_now_ms() < deadline);
		if (rc == 0)
			continue;
		done++;
		if (submitted < TOTAL) {
			REQUIRE(bx_io_submit(f, 0, cookie, false, true) >= 0);
			submitted++;
		}
	}
	call.fd = vu_front_call_fd(f, 0);
	if (poll(&call, 1, 0) == 1)
		CHECK(read(call.fd, &calls, sizeof(calls)) == sizeof(calls));
	CHECK_MSG(calls <= 1, "%llu calls for %d requests", (unsigned long long)calls, TOTAL);
	vu_front_close(f);
	CHECK(test_daemon_stop(d, NULL) == 0);
}

int main(int argc, char **argv)
{
	static const struct tap_test tests[] = {
		TAP_TEST(test_data_poll_adaptive),
		TAP_TEST(test_data_poll_always),
		TAP_TEST(test_data_poll_never),
		TAP_TEST(test_data_4k_alignment),
		TAP_TEST(test_data_out_of_order),
		TAP_TEST(test_data_ring_wrap),
		TAP_TEST(test_data_null_bdev),
		TAP_TEST(test_busy_poll_gets_no_calls),
	};

	return tap_run(tests, TAP_COUNT(tests), argc, argv);
}
