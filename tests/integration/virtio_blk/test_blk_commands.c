/*
 * vhost-blk commands against a real vhostd: config space and feature bits per bdev type, GET_ID,
 * FLUSH, DISCARD, WRITE_ZEROES, bad flags and segment counts, unknown types, ranges past the end,
 * zero-length and malformed requests, read-only controllers, injected bdev errors.
 */
#include "blk_test.h"
#include "blk_xfer.h"
#include "tap.h"
#include "vhost/vhost.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/virtio_config.h>

#define BIT(f) (1ULL << (f))

static struct test_daemon *dut;

/* Creates controller ctrlr on bdev (readonly as asked) and connects one queue to it. */
static struct vu_front *open_ctrlr(const char *ctrlr, const char *bdev, bool readonly)
{
	if (!it_ok(dut, "vhost_create_blk_controller",
		   json_pack("{s:s, s:s, s:b}", "ctrlr", ctrlr, "dev_name", bdev, "readonly",
			     readonly)))
		return NULL;
	return it_connect(dut, ctrlr, NULL);
}

static void close_ctrlr(struct vu_front *f, const char *ctrlr)
{
	if (f)
		vu_front_close(f);
	it_delete_ctrlr(dut, ctrlr);
}

static int range_cmd(struct vu_front *f, uint32_t type, uint64_t sector, uint32_t num,
		     uint32_t flags)
{
	struct virtio_blk_discard_write_zeroes seg = { sector, num, flags };

	return vu_blk_request(f, 0, type, 0, &seg, sizeof(seg));
}

/* Writes the pattern over [sector, sector + n). */
static void write_pattern(struct vu_front *f, uint64_t sector, uint32_t n, unsigned seed)
{
	uint8_t *buf = malloc(n * 512);

	REQUIRE(buf);
	bx_fill(buf, n * 512, sector * 512, seed);
	CHECK_EQ(vu_blk_request(f, 0, VIRTIO_BLK_T_OUT, sector, buf, n * 512), VIRTIO_BLK_S_OK);
	free(buf);
}

/* Reads [sector, sector + n) and checks it is the pattern, or zeroes when seed is 0. */
static bool read_is(struct vu_front *f, uint64_t sector, uint32_t n, unsigned seed)
{
	uint8_t *buf = malloc(n * 512);
	bool same = buf &&
		    vu_blk_request(f, 0, VIRTIO_BLK_T_IN, sector, buf, n * 512) == VIRTIO_BLK_S_OK;

	for (uint32_t i = 0; same && !seed && i < n * 512; i++)
		same = buf[i] == 0;
	if (same && seed)
		same = bx_mismatch(buf, n * 512, sector * 512, seed) < 0;
	free(buf);
	return same;
}

/* --- config space and features --- */

static void test_config_malloc(void)
{
	struct vu_front *f;
	struct virtio_blk_config cfg;
	uint64_t feat;

	REQUIRE(it_malloc(dut, "Mcfg", 3000, 512));
	f = open_ctrlr("cfg.m", "Mcfg", false);
	if (f && bt_config(f, &cfg)) {
		CHECK_EQ(cfg.capacity, 3000);
		CHECK_EQ(cfg.blk_size, 512);
		CHECK_EQ(cfg.seg_max, VHOST_SEG_MAX);
		CHECK_EQ(cfg.size_max, 128 * 1024);
		CHECK_EQ(cfg.num_queues, 32);
		CHECK_EQ(cfg.physical_block_exp, 0);
		CHECK_EQ(cfg.alignment_offset, 0);
		CHECK_EQ(cfg.min_io_size, 1);
		CHECK_EQ(cfg.opt_io_size, 1);
		CHECK_EQ(cfg.wce, 1); /* RAM behind a volatile "cache": writeback */
		CHECK_EQ(cfg.max_discard_sectors, UINT32_MAX); /* no limit */
		CHECK_EQ(cfg.max_discard_seg, 1);
		CHECK_EQ(cfg.discard_sector_alignment, 1);
		CHECK_EQ(cfg.max_write_zeroes_sectors, UINT32_MAX);
		CHECK_EQ(cfg.max_write_zeroes_seg, 1);
		CHECK_EQ(cfg.write_zeroes_may_unmap, 1);
		feat = vu_front_features(f);
		CHECK(feat & BIT(VIRTIO_F_VERSION_1));
		CHECK(feat & BIT(VIRTIO_BLK_F_SIZE_MAX));
		CHECK(feat & BIT(VIRTIO_BLK_F_SEG_MAX));
		CHECK(feat & BIT(VIRTIO_BLK_F_BLK_SIZE));
		CHECK(feat & BIT(VIRTIO_BLK_F_TOPOLOGY));
		CHECK(feat & BIT(VIRTIO_BLK_F_MQ));
		CHECK(feat & BIT(VIRTIO_BLK_F_FLUSH));
		CHECK(feat & BIT(VIRTIO_BLK_F_DISCARD));
		CHECK(feat & BIT(VIRTIO_BLK_F_WRITE_ZEROES));
		CHECK(!(feat & BIT(VIRTIO_BLK_F_RO)));
		CHECK(!(feat & BIT(VIRTIO_BLK_F_GEOMETRY)));
	}
	close_ctrlr(f, "cfg.m");
}

static void test_config_4k_blocks(void)
{
	struct vu_front *f;
	struct virtio_blk_config cfg;

	REQUIRE(it_malloc(dut, "Mcfg4k", 300, 4096));
	f = open_ctrlr("cfg.4k", "Mcfg4k", false);
	if (f && bt_config(f, &cfg)) {
		CHECK_EQ(cfg.capacity, 300 * 8);
		CHECK_EQ(cfg.blk_size, 4096);
		CHECK_EQ(cfg.discard_sector_alignment, 8);
		CHECK(vu_front_features(f) & BIT(VIRTIO_BLK_F_BLK_SIZE));
	}
	close_ctrlr(f, "cfg.4k");
}

struct feature_case {
	const char *bdev;
	bool readonly, flush, discard, write_zeroes, wce;
};

/* The device offers what its bdev can do, and nothing that would modify a read-only one. */
static void check_features(const struct feature_case *c)
{
	char name[64];
	struct vu_front *f;
	struct virtio_blk_config cfg;
	uint64_t feat;

	snprintf(name, sizeof(name), "feat.%s%s", c->bdev, c->readonly ? ".ro" : "");
	f = open_ctrlr(name, c->bdev, c->readonly);
	if (f && bt_config(f, &cfg)) {
		feat = vu_front_features(f);
		CHECK_MSG(!!(feat & BIT(VIRTIO_BLK_F_RO)) == c->readonly, "%s: RO", name);
		CHECK_MSG(!!(feat & BIT(VIRTIO_BLK_F_FLUSH)) == c->flush, "%s: FLUSH", name);
		CHECK_MSG(!!(feat & BIT(VIRTIO_BLK_F_DISCARD)) == c->discard, "%s: DISCARD", name);
		CHECK_MSG(!!(feat & BIT(VIRTIO_BLK_F_WRITE_ZEROES)) == c->write_zeroes,
			  "%s: WRITE_ZEROES", name);
		CHECK_MSG(cfg.wce == c->wce, "%s: wce %u", name, cfg.wce);
		CHECK_MSG(cfg.write_zeroes_may_unmap == c->discard || c->readonly,
			  "%s: write_zeroes_may_unmap %u", name, cfg.write_zeroes_may_unmap);
	}
	close_ctrlr(f, name);
}

static void test_features_per_bdev(void)
{
	static const struct feature_case cases[] = {
		{ "Mfeat", false, true, true, true, true },
		{ "Mfeat", true, true, false, false, true },
		{ "Nfeat", false, false, false, true, false },
		{ "Nfeat", true, false, false, false, false },
		{ "Ufeat", false, true, true, true, true },
		{ "EE_Mbase", false, true, true, true, true },
	};
	char file[128];

	REQUIRE(it_malloc(dut, "Mfeat", 64, 512));
	REQUIRE(it_malloc(dut, "Mbase", 64, 512));
	REQUIRE(it_ok(dut, "bdev_error_create", json_pack("{s:s}", "base_name", "Mbase")));
	REQUIRE(it_ok(dut, "bdev_null_create",
		      json_pack("{s:s, s:i, s:i}", "name", "Nfeat", "num_blocks", 64, "block_size",
				512)));
	REQUIRE(it_file_create(file, sizeof(file), "feat", 1 << 20));
	if (it_ok(dut, "bdev_uring_create",
		  json_pack("{s:s, s:s}", "filename", file, "name", "Ufeat")))
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
			check_features(&cases[i]);
	it_ok(dut, "bdev_uring_delete", json_pack("{s:s}", "name", "Ufeat"));
	unlink(file);
}

/* --- commands --- */

static void test_get_id(void)
{
	static const char long_name[] = "a_bdev_name_longer_than_twenty_bytes";
	char id[VIRTIO_BLK_ID_BYTES + 8];
	struct vu_front *f;
	struct bx_io io;

	REQUIRE(it_malloc(dut, "Mid", 64, 512));
	REQUIRE(it_malloc(dut, long_name, 64, 512));
	f = open_ctrlr("id.short", "Mid", false);
	if (f) {
		memset(id, 0x55, sizeof(id));
		CHECK_EQ(vu_blk_request(f, 0, VIRTIO_BLK_T_GET_ID, 0, id, VIRTIO_BLK_ID_BYTES),
			 VIRTIO_BLK_S_OK);
		CHECK(memcmp(id, "Mid", 4) == 0); /* NUL-padded */
		for (int i = 3; i < VIRTIO_BLK_ID_BYTES; i++)
			CHECK_EQ(id[i], 0);
	}
	close_ctrlr(f, "id.short");
	f = open_ctrlr("id.long", long_name, false);
	if (f) {
		memset(id, 0x55, sizeof(id));
		CHECK_EQ(vu_blk_request(f, 0, VIRTIO_BLK_T_GET_ID, 0, id, VIRTIO_BLK_ID_BYTES),
			 VIRTIO_BLK_S_OK);
		CHECK(memcmp(id, long_name, VIRTIO_BLK_ID_BYTES) ==
		      0); /* cut, not NUL-terminated */
		/* A larger buffer still gets 20 bytes: used length 20 + status. */
		REQUIRE(bx_io_init(f, &io, VIRTIO_BLK_T_GET_ID, 0, sizeof(id), 2) == 0);
		memset(io.seg[0], 0x55, io.seg_len[0]);
		memset(io.seg[1], 0x55, io.seg_len[1]);
		REQUIRE(bx_io_submit(f, 0, &io, false, true) >= 0);
		CHECK_EQ(bx_wait_all(f, 0, &io, 1, IT_TIMEOUT_MS), 0);
		CHECK_EQ(*io.status, VIRTIO_BLK_S_OK);
		CHECK_EQ(io.used_len, VIRTIO_BLK_ID_BYTES + 1);
		bx_io_get(&io, (uint8_t *)id);
		CHECK(memcmp(id, long_name, VIRTIO_BLK_ID_BYTES) == 0);
		for (size_t i = VIRTIO_BLK_ID_BYTES; i < sizeof(id); i++)
			CHECK_EQ((uint8_t)id[i], 0x55);
		vu_front_free_all_buffers(f);
		/* A smaller one gets what fits. */
		memset(id, 0x55, sizeof(id));
		CHECK_EQ(vu_blk_request(f, 0, VIRTIO_BLK_T_GET_ID, 0, id, 8), VIRTIO_BLK_S_OK);
		CHECK(memcmp(id, long_name, 8) == 0);
		CHECK_EQ((uint8_t)id[8], 0x55);
	}
	close_ctrlr(f, "id.long");
}

static void test_flush(void)
{
	struct vu_front *f;

	REQUIRE(it_malloc(dut, "Mflush", 64, 512));
	REQUIRE(it_ok(dut, "bdev_null_create",
		      json_pack("{s:s, s:i, s:i}", "name", "Nflush", "num_blocks", 64, "block_size",
				512)));
	f = open_ctrlr("flush.m", "Mflush", false);
	if (f) {
		write_pattern(f, 0, 8, 3);
		CHECK_EQ(vu_blk_request(f, 0, VIRTIO_BLK_T_FLUSH, 0, NULL, 0), VIRTIO_BLK_S_OK);
		CHECK(read_is(f, 0, 8, 3));
	}
	close_ctrlr(f, "flush.m");
	/* null has no FLUSH: the request is a no-op that succeeds */
	f = open_ctrlr("flush.n", "Nflush", false);
	if (f)
		CHECK_EQ(vu_blk_request(f, 0, VIRTIO_BLK_T_FLUSH, 0, NULL, 0), VIRTIO_BLK_S_OK);
	close_ctrlr(f, "flush.n");
}

/* DISCARD and WRITE_ZEROES (with and without UNMAP) zero exactly their range. */
static void check_zeroing(const char *ctrlr, const char *bdev)
{
	struct vu_front *f = open_ctrlr(ctrlr, bdev, false);

	if (f) {
		write_pattern(f, 0, 96, 7);
		CHECK_EQ(range_cmd(f, VIRTIO_BLK_T_DISCARD, 8, 16, 0), VIRTIO_BLK_S_OK);
		CHECK_EQ(range_cmd(f, VIRTIO_BLK_T_WRITE_ZEROES, 40, 16, 0), VIRTIO_BLK_S_OK);
		CHECK_EQ(range_cmd(f, VIRTIO_BLK_T_WRITE_ZEROES, 64, 24,
				   VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP),
			 VIRTIO_BLK_S_OK);
		/* zero sectors: nothing to do */
		CHECK_EQ(range_cmd(f, VIRTIO_BLK_T_WRITE_ZEROES, 0, 0, 0), VIRTIO_BLK_S_OK);
		CHECK_MSG(read_is(f, 0, 8, 7), "%s: before the discard", bdev);
		CHECK_MSG(read_is(f, 8, 16, 0), "%s: discarded range", bdev);
		CHECK_MSG(read_is(f, 24, 16, 7), "%s: between", bdev);
		CHECK_MSG(read_is(f, 40, 16, 0), "%s: write-zeroes range", bdev);
		CHECK_MSG(read_is(f, 56, 8, 7), "%s: between", bdev);
		CHECK_MSG(read_is(f, 64, 24, 0), "%s: write-zeroes+unmap range", bdev);
		CHECK_MSG(read_is(f, 88, 8, 7), "%s: after", bdev);
	}
	close_ctrlr(f, ctrlr);
}

static void test_discard_write_zeroes(void)
{
	char file[128];

	REQUIRE(it_malloc(dut, "Mzero", 128, 512));
	check_zeroing("zero.m", "Mzero");
	REQUIRE(it_file_create(file, sizeof(file), "zero", 1 << 20));
	if (it_ok(dut, "bdev_uring_create",
		  json_pack("{s:s, s:s}", "filename", file, "name", "Uzero"))) {
		check_zeroing("zero.u", "Uzero");
		it_ok(dut, "bdev_uring_delete", json_pack("{s:s}", "name", "Uzero"));
	}
	unlink(file);
}

/* Flags the command does not allow and segment counts other than one: UNSUPP, nothing done. */
static void test_range_cmd_unsupported(void)
{
	struct virtio_blk_discard_write_zeroes two[2] = { { 0, 8, 0 }, { 16, 8, 0 } };
	struct vu_front *f;

	REQUIRE(it_malloc(dut, "Mflags", 64, 512));
	f = open_ctrlr("flags", "Mflags", false);
	if (f) {
		write_pattern(f, 0, 32, 9);
		CHECK_EQ(range_cmd(f, VIRTIO_BLK_T_DISCARD, 0, 8,
				   VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP),
			 VIRTIO_BLK_S_UNSUPP);
		CHECK_EQ(range_cmd(f, VIRTIO_BLK_T_DISCARD, 0, 8, 2), VIRTIO_BLK_S_UNSUPP);
		CHECK_EQ(range_cmd(f, VIRTIO_BLK_T_DISCARD, 0, 8, 0x80000000u),
			 VIRTIO_BLK_S_UNSUPP);
		CHECK_EQ(range_cmd(f, VIRTIO_BLK_T_WRITE_ZEROES, 0, 8, 2), VIRTIO_BLK_S_UNSUPP);
		CHECK_EQ(range_cmd(f, VIRTIO_BLK_T_WRITE_ZEROES, 0, 8, 3), VIRTIO_BLK_S_UNSUPP);
		CHECK_EQ(vu_blk_request(f, 0, VIRTIO_BLK_T_DISCARD, 0, two, sizeof(two)),
			 VIRTIO_BLK_S_UNSUPP);
		CHECK_EQ(vu_blk_request(f, 0, VIRTIO_BLK_T_WRITE_ZEROES, 0, two, sizeof(two)),
			 VIRTIO_BLK_S_UNSUPP);
		/* a segment cut short, and none at all */
		CHECK_EQ(vu_blk_request(f, 0, VIRTIO_BLK_T_DISCARD, 0, two, 8),
			 VIRTIO_BLK_S_UNSUPP);
		CHECK_EQ(vu_blk_request(f, 0, VIRTIO_BLK_T_WRITE_ZEROES, 0, NULL, 0),
			 VIRTIO_BLK_S_UNSUPP);
		CHECK(read_is(f, 0, 32, 9));
	}
	close_ctrlr(f, "flags");
}

static void test_unknown_type(void)
{
	static const uint32_t types[] = {
		2 /* SCSI_CMD */,      3,	    5 /* FLUSH_OUT */, 9, 10 /* GET_LIFETIME */,
		14 /* SECURE_ERASE */, 0x80000000u, 0xffffffffu,
	};
	uint8_t buf[512];
	struct vu_front *f;

	REQUIRE(it_malloc(dut, "Mtype", 64, 512));
	f = open_ctrlr("type", "Mtype", false);
	if (f) {
		write_pattern(f, 0, 1, 4);
		for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
			memcpy(buf, "not a real request", 19);
			CHECK_MSG(vu_blk_request(f, 0, types[i], 0, buf, sizeof(buf)) ==
					  VIRTIO_BLK_S_UNSUPP,
				  "type %#x", types[i]);
			CHECK_MSG(vu_blk_request(f, 0, types[i], 0, NULL, 0) == VIRTIO_BLK_S_UNSUPP,
				  "type %#x without data", types[i]);
		}
		CHECK(read_is(f, 0, 1, 4));
	}
	close_ctrlr(f, "type");
}

static void test_out_of_range(void)
{
	const uint64_t cap = 2048;
	uint8_t buf[1024];
	struct vu_front *f;

	REQUIRE(it_malloc(dut, "Mrange", cap, 512));
	f = open_ctrlr("range", "Mrange", false);
	if (f) {
		write_pattern(f, cap - 1, 1, 5);
		bx_fill(buf, sizeof(buf), 0, 99);
		CHECK_EQ(vu_blk_request(f, 0, VIRTIO_BLK_T_IN, cap - 1, buf, 512), VIRTIO_BLK_S_OK);
		CHECK_EQ(vu_blk_request(f, 0, VIRTIO_BLK_T_IN, cap, buf, 512), VIRTIO_BLK_S_IOERR);
		CHECK_EQ(vu_blk_request(f, 0, VIRTIO_BLK_T_IN, cap - 1, buf, 1024),
			 VIRTIO_BLK_S_IOERR);
		CHECK_EQ(vu_blk_request(f, 0, VIRTIO_BLK_T_OUT, cap - 1, buf, 1024),
			 VIRTIO_BLK_S_IOERR);
		CHECK_EQ(vu_blk_request(f, 0, VIRTIO_BLK_T_OUT, cap + 100, buf, 512),
			 VIRTIO_BLK_S_IOERR);
		CHECK_EQ(vu_blk_request(f, 0, VIRTIO_BLK_T_IN, 1ULL << 60, buf, 512),
			 VIRTIO_BLK_S_IOERR);
		/* sector * 512 wraps around 64 bits */
		CHECK_EQ(vu_blk_request(f, 0, VIRTIO_BLK_T_IN, UINT64_MAX, buf, 512),
			 VIRTIO_BLK_S_IOERR);
		CHECK_EQ(vu_blk_request(f, 0, VIRTIO_BLK_T_OUT, (UINT64_MAX >> 9) + 1, buf, 512),
			 VIRTIO_BLK_S_IOERR);
		CHECK_EQ(range_cmd(f, VIRTIO_BLK_T_DISCARD, cap - 8, 16, 0), VIRTIO_BLK_S_IOERR);
		CHECK_EQ(range_cmd(f, VIRTIO_BLK_T_DISCARD, cap, 1, 0), VIRTIO_BLK_S_IOERR);
		CHECK_EQ(range_cmd(f, VIRTIO_BLK_T_WRITE_ZEROES, cap - 1, 2, 0),
			 VIRTIO_BLK_S_IOERR);
		CHECK_EQ(range_cmd(f, VIRTIO_BLK_T_WRITE_ZEROES, UINT64_MAX, 1, 0),
			 VIRTIO_BLK_S_IOERR);
		/* the refused requests that overlapped the last sector left it alone */
		CHECK(read_is(f, cap - 1, 1, 5));
	}
	close_ctrlr(f, "range");
}

/* Requests without data, with data in the wrong direction, or without room for a header. */
static void test_zero_length_and_malformed(void)
{
	struct vu_front *f;
	uint8_t buf[512];
	struct bx_io io;

	REQUIRE(it_malloc(dut, "Mzl", 64, 512));
	f = open_ctrlr("zl", "Mzl", false);
	if (f) {
		write_pattern(f, 0, 1, 6);
		CHECK_EQ(vu_blk_request(f, 0, VIRTIO_BLK_T_IN, 0, NULL, 0), VIRTIO_BLK_S_IOERR);
		CHECK_EQ(vu_blk_request(f, 0, VIRTIO_BLK_T_OUT, 0, NULL, 0), VIRTIO_BLK_S_IOERR);
		/* an OUT whose data the device would write: refused */
		REQUIRE(bx_io_init(f, &io, VIRTIO_BLK_T_OUT, 0, 512, 1) == 0);
		{
			struct vu_buf bufs[3] = {
				{ io.hdr_gpa, sizeof(*io.hdr), false },
				{ io.seg_gpa[0], 512, true },
				{ io.status_gpa, 1, true },
			};

			REQUIRE(vu_front_submit(f, 0, bufs, 3, false, &io) >= 0);
			CHECK_EQ(bx_wait_all(f, 0, &io, 1, IT_TIMEOUT_MS), 0);
			CHECK_EQ(*io.status, VIRTIO_BLK_S_IOERR);
		}
		/* a header of 8 bytes: returned unanswered (used length 0, status untouched) */
		REQUIRE(bx_io_init(f, &io, VIRTIO_BLK_T_IN, 0, 512, 1) == 0);
		{
			struct vu_buf bufs[2] = { { io.hdr_gpa, 8, false },
						  { io.status_gpa, 1, true } };

			REQUIRE(vu_front_submit(f, 0, bufs, 2, false, &io) >= 0);
			CHECK_EQ(bx_wait_all(f, 0, &io, 1, IT_TIMEOUT_MS), 0);
			CHECK_EQ(io.used_len, 0);
			CHECK_EQ(*io.status, 0xff);
		}
		/* no device-writable byte at all: nowhere to put a status */
		REQUIRE(bx_io_init(f, &io, VIRTIO_BLK_T_FLUSH, 0, 0, 1) == 0);
		{
			struct vu_buf bufs[1] = { { io.hdr_gpa, sizeof(*io.hdr), false } };

			REQUIRE(vu_front_submit(f, 0, bufs, 1, false, &io) >= 0);
			CHECK_EQ(bx_wait_all(f, 0, &io, 1, IT_TIMEOUT_MS), 0);
			CHECK_EQ(io.used_len, 0);
		}
		vu_front_free_all_buffers(f);
		/* the queue still serves, and the refused OUT wrote nothing */
		CHECK(read_is(f, 0, 1, 6));
		CHECK_EQ(vu_blk_request(f, 0, VIRTIO_BLK_T_IN, 0, buf, sizeof(buf)),
			 VIRTIO_BLK_S_OK);
	}
	close_ctrlr(f, "zl");
}

/* A read-only controller reads, flushes and identifies, and refuses anything that writes. */
static void test_readonly(void)
{
	struct vu_front *rw, *ro;
	uint8_t buf[4096];

	REQUIRE(it_malloc(dut, "Mro", 64, 512));
	rw = open_ctrlr("ro.rw", "Mro", false);
	if (rw)
		write_pattern(rw, 0, 32, 8);
	close_ctrlr(rw, "ro.rw");
	ro = open_ctrlr("ro.ro", "Mro", true);
	if (ro) {
		CHECK(read_is(ro, 0, 32, 8));
		bx_fill(buf, sizeof(buf), 0, 1);
		CHECK_EQ(vu_blk_request(ro, 0, VIRTIO_BLK_T_OUT, 0, buf, sizeof(buf)),
			 VIRTIO_BLK_S_IOERR);
		CHECK_EQ(bx_rw(ro, 0, VIRTIO_BLK_T_OUT, 8, buf, sizeof(buf), 3, true),
			 VIRTIO_BLK_S_IOERR);
		CHECK_EQ(range_cmd(ro, VIRTIO_BLK_T_DISCARD, 0, 8, 0), VIRTIO_BLK_S_IOERR);
		CHECK_EQ(range_cmd(ro, VIRTIO_BLK_T_WRITE_ZEROES, 0, 8, 0), VIRTIO_BLK_S_IOERR);
		CHECK_EQ(range_cmd(ro, VIRTIO_BLK_T_WRITE_ZEROES, 0, 8,
				   VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP),
			 VIRTIO_BLK_S_IOERR);
		CHECK_EQ(vu_blk_request(ro, 0, VIRTIO_BLK_T_FLUSH, 0, NULL, 0), VIRTIO_BLK_S_OK);
		CHECK_EQ(vu_blk_request(ro, 0, VIRTIO_BLK_T_GET_ID, 0, buf, VIRTIO_BLK_ID_BYTES),
			 VIRTIO_BLK_S_OK);
		CHECK(memcmp(buf, "Mro", 4) == 0);
		CHECK(read_is(ro, 0, 32, 8));
	}
	close_ctrlr(ro, "ro.ro");
}

static bool inject(const char *bdev, const char *io_type, const char *error_type, int num)
{
	return it_ok(dut, "bdev_error_inject_error",
		     json_pack("{s:s, s:s, s:s, s:i}", "name", bdev, "io_type", io_type,
			       "error_type", error_type, "num", num));
}

/* A read of 4 KiB at sector 0: its status and used length. */
static void read_status(struct vu_front *f, uint8_t *status, uint32_t *used)
{
	struct bx_io io;

	*status = 0xff;
	*used = 0;
	REQUIRE(bx_io_init(f, &io, VIRTIO_BLK_T_IN, 0, 4096, 2) == 0);
	REQUIRE(bx_io_submit(f, 0, &io, false, true) >= 0);
	CHECK_EQ(bx_wait_all(f, 0, &io, 1, IT_TIMEOUT_MS), 0);
	*status = *io.status;
	*used = io.used_len;
	vu_front_free_all_buffers(f);
}

/* Injected failures reach the guest as IOERR for exactly the number asked, then I/O works again. */
static void test_error_injection(void)
{
	struct vu_front *f;
	uint8_t buf[4096], status;
	uint32_t used;

	REQUIRE(it_malloc(dut, "Merr", 64, 512));
	REQUIRE(it_ok(dut, "bdev_error_create", json_pack("{s:s}", "base_name", "Merr")));
	f = open_ctrlr("err", "EE_Merr", false);
	if (f) {
		write_pattern(f, 0, 8, 10);
		REQUIRE(inject("EE_Merr", "read", "failure", 3));
		for (int i = 0; i < 3; i++) {
			read_status(f, &status, &used);
			CHECK_MSG(status == VIRTIO_BLK_S_IOERR && used == 1,
				  "failed read %d: status %u used %u", i, status, used);
		}
		read_status(f, &status, &used);
		CHECK_EQ(status, VIRTIO_BLK_S_OK);
		CHECK_EQ(used, 4096 + 1);
		CHECK(read_is(f, 0, 8, 10));
		/* writes: the failed ones change nothing */
		REQUIRE(inject("EE_Merr", "write", "failure", 2));
		bx_fill(buf, sizeof(buf), 0, 11);
		CHECK_EQ(vu_blk_request(f, 0, VIRTIO_BLK_T_OUT, 0, buf, sizeof(buf)),
			 VIRTIO_BLK_S_IOERR);
		CHECK_EQ(bx_rw(f, 0, VIRTIO_BLK_T_OUT, 0, buf, sizeof(buf), 4, true),
			 VIRTIO_BLK_S_IOERR);
		CHECK(read_is(f, 0, 8, 10));
		CHECK_EQ(vu_blk_request(f, 0, VIRTIO_BLK_T_OUT, 0, buf, sizeof(buf)),
			 VIRTIO_BLK_S_OK);
		CHECK(read_is(f, 0, 8, 11));
		/* FLUSH, DISCARD and WRITE_ZEROES fail the same way */
		REQUIRE(inject("EE_Merr", "flush", "failure", 1));
		CHECK_EQ(vu_blk_request(f, 0, VIRTIO_BLK_T_FLUSH, 0, NULL, 0), VIRTIO_BLK_S_IOERR);
		CHECK_EQ(vu_blk_request(f, 0, VIRTIO_BLK_T_FLUSH, 0, NULL, 0), VIRTIO_BLK_S_OK);
		REQUIRE(inject("EE_Merr", "unmap", "failure", 1));
		CHECK_EQ(range_cmd(f, VIRTIO_BLK_T_DISCARD, 0, 8, 0), VIRTIO_BLK_S_IOERR);
		REQUIRE(inject("EE_Merr", "write_zeroes", "failure", 1));
		CHECK_EQ(range_cmd(f, VIRTIO_BLK_T_WRITE_ZEROES, 0, 8, 0), VIRTIO_BLK_S_IOERR);
		CHECK(read_is(f, 0, 8, 11));
		CHECK_EQ(range_cmd(f, VIRTIO_BLK_T_WRITE_ZEROES, 0, 8, 0), VIRTIO_BLK_S_OK);
		CHECK(read_is(f, 0, 8, 0));
	}
	close_ctrlr(f, "err");
}

/* Last: every test above left the daemon healthy. */
static void test_daemon_stops_cleanly(void)
{
	CHECK(test_daemon_stop(dut, NULL) == 0);
	dut = NULL;
}

int main(int argc, char **argv)
{
	static const struct tap_test tests[] = {
		TAP_TEST(test_config_malloc),
		TAP_TEST(test_config_4k_blocks),
		TAP_TEST(test_features_per_bdev),
		TAP_TEST(test_get_id),
		TAP_TEST(test_flush),
		TAP_TEST(test_discard_write_zeroes),
		TAP_TEST(test_range_cmd_unsupported),
		TAP_TEST(test_unknown_type),
		TAP_TEST(test_out_of_range),
		TAP_TEST(test_zero_length_and_malformed),
		TAP_TEST(test_readonly),
		TAP_TEST(test_error_injection),
		TAP_TEST(test_daemon_stops_cleanly),
	};

	return test_daemon_tap_run("--poll adaptive", &dut, tests, TAP_COUNT(tests), argc, argv);
}
