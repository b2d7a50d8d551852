/*
 * The block I/O path on real bdevs: READ/WRITE of every CDB size, ranges, residuals, FUA, WRITE
 * SAME, UNMAP, VERIFY, SYNCHRONIZE CACHE, READ CAPACITY and how bdev errors come back as sense.
 */
#include "scsi_test.h"

#include <stdlib.h>
#include <string.h>

static struct st_task st;

static int rw(struct st_target *t, uint8_t op, uint64_t lba, uint32_t blocks, void *buf,
	      size_t len)
{
	uint8_t cdb[16];
	size_t n = st_cdb_rw(cdb, op, lba, blocks);
	bool out = op == 0x0a || op == 0x2a || op == 0xaa || op == 0x8a;

	return st_exec(t->dev, &st, 0, cdb, n, out ? SCSI_DIR_TO_DEV : SCSI_DIR_FROM_DEV, buf, len);
}

static struct bdev_iostat iostat(struct st_target *t)
{
	struct bdev_iostat s;

	bdev_iostat_get(t->disk.bdev, &s);
	return s;
}

static void round_trips(uint32_t bs)
{
	static const uint8_t writes[] = { 0x0a, 0x2a, 0xaa, 0x8a };
	static const uint8_t reads[] = { 0x08, 0x28, 0xa8, 0x88 };
	struct st_target t;
	size_t len = 5 * bs;
	uint8_t *w = malloc(len), *r = malloc(len);

	st_target_up(&t, 128, bs);
	for (size_t i = 0; i < sizeof(writes); i++) {
		for (size_t j = 0; j < sizeof(reads); j++) {
			uint64_t lba = 3 + 7 * i + j;

			st_fill(w, len, (unsigned)(i * 4 + j));
			assert_int_equal(rw(&t, writes[i], lba, 5, w, len), 0);
			assert_int_equal(st.t.transferred, len);
			assert_int_equal(st.t.residual_kind, SCSI_RESIDUAL_NONE);
			memset(r, 0, len);
			assert_int_equal(rw(&t, reads[j], lba, 5, r, len), 0);
			assert_int_equal(st.t.transferred, len);
			assert_memory_equal(w, r, len);
		}
	}
	/* Transfer length 0: no data, GOOD (READ/WRITE 10, 12, 16). */
	assert_int_equal(rw(&t, 0x28, 0, 0, r, len), 0);
	assert_int_equal(st.t.transferred, 0);
	assert_int_equal(rw(&t, 0x8a, 128, 0, NULL, 0), 0);
	st_target_down(&t);
	free(w);
	free(r);
}

static void test_round_trip_every_size(void **state)
{
	(void)state;
	round_trips(512);
	round_trips(4096);
}

static void test_scattered_buffer(void **state)
{
	struct st_target t;
	uint8_t w[2048], r[2048];
	struct iovec iov[3] = { { r + 1536, 512 }, { r, 1024 }, { r + 1024, 512 } };
	uint8_t cdb[16];

	(void)state;
	st_target_up(&t, 16, 512);
	st_fill(w, sizeof(w), 1);
	assert_int_equal(rw(&t, 0x2a, 4, 4, w, sizeof(w)), 0);
	st_cdb_rw(cdb, 0x28, 4, 4);
	st_prepare(&st, 0, cdb, 10, SCSI_DIR_FROM_DEV, NULL, 0);
	st.t.iov = iov;
	st.t.iovcnt = 3;
	scsi_dev_execute(t.dev, &st.t);
	assert_int_equal(st_wait(&st), 0);
	assert_memory_equal(r + 1536, w, 512);
	assert_memory_equal(r, w + 512, 1024);
	assert_memory_equal(r + 1024, w + 1536, 512);
	st_target_down(&t);
}

static void test_out_of_range(void **state)
{
	struct st_target t;
	uint8_t buf[1024];

	(void)state;
	st_target_up(&t, 64, 512);
	rw(&t, 0x28, 64, 1, buf, 512);
	st_assert_sense(&st, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE);
	rw(&t, 0x28, 63, 2, buf, 1024);
	st_assert_sense(&st, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE);
	/* LBA + length wrapping around 2^64. */
	rw(&t, 0x88, UINT64_MAX, 2, buf, 1024);
	st_assert_sense(&st, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE);
	rw(&t, 0x8a, UINT64_MAX - 1, 2, buf, 1024);
	st_assert_sense(&st, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE);
	/* The end itself with no blocks is fine, past it is not. */
	assert_int_equal(rw(&t, 0x28, 64, 0, NULL, 0), 0);
	rw(&t, 0x28, 65, 0, NULL, 0);
	st_assert_sense(&st, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE);
	assert_int_equal(rw(&t, 0x28, 62, 2, buf, 1024), 0);
	st_target_down(&t);
}

static void test_transfer_limit(void **state)
{
	struct st_target t;
	uint32_t max = SCSI_MAX_TRANSFER_BYTES / 512;
	uint8_t *buf = malloc(SCSI_MAX_TRANSFER_BYTES + 512);

	(void)state;
	st_target_up(&t, 2 * max, 512);
	assert_int_equal(rw(&t, 0x88, 0, max, buf, (size_t)max * 512), 0);
	rw(&t, 0x88, 0, max + 1, buf, (size_t)(max + 1) * 512);
	st_assert_sense(&st, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB);
	assert_int_equal(st_sense(&st).sks[2], 10);
	st_target_down(&t);
	free(buf);
}

static void test_residuals(void **state)
{
	struct st_target t;
	uint8_t w[4 * 512], *r = malloc(2 * 512 + 256);

	(void)state;
	st_target_up(&t, 64, 512);
	st_fill(w, sizeof(w), 7);
	assert_int_equal(rw(&t, 0x2a, 8, 4, w, sizeof(w)), 0);
	/* Buffer larger than the transfer: underflow. */
	assert_int_equal(rw(&t, 0x28, 8, 1, w, 3 * 512), 0);
	assert_int_equal(st.t.transferred, 512);
	assert_int_equal(st.t.residual_kind, SCSI_RESIDUAL_UNDERFLOW);
	assert_int_equal(st.t.residual, 2 * 512);
	/* READ into 2.5 blocks of 4: the two whole blocks, overflow for the rest, nothing past
	 * them (the half block stays as it was; ASan watches the end). */
	memset(r, 0xaa, 2 * 512 + 256);
	assert_int_equal(rw(&t, 0x28, 8, 4, r, 2 * 512 + 256), 0);
	assert_int_equal(st.t.transferred, 2 * 512);
	assert_int_equal(st.t.residual_kind, SCSI_RESIDUAL_OVERFLOW);
	assert_int_equal(st.t.residual, 4 * 512 - (2 * 512 + 256));
	assert_memory_equal(r, w, 2 * 512);
	for (int i = 2 * 512; i < 2 * 512 + 256; i++)
		assert_int_equal(r[i], 0xaa);
	assert_int_equal(st.iov.iov_len, 2 * 512 + 256); /* the trimmed iovec is given back */
	/* Less than a block: nothing read. */
	assert_int_equal(rw(&t, 0x28, 8, 1, r, 100), 0);
	assert_int_equal(st.t.transferred, 0);
	assert_int_equal(st.t.residual, 512 - 100);
	/* WRITE with a short buffer is refused whole: nothing written. */
	memset(r, 0x55, 2 * 512 + 256);
	rw(&t, 0x2a, 8, 4, r, 2 * 512 + 256);
	st_assert_sense(&st, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_IU);
	assert_int_equal(st.t.residual_kind, SCSI_RESIDUAL_OVERFLOW);
	assert_int_equal(rw(&t, 0x28, 8, 2, r, 2 * 512), 0);
	assert_memory_equal(r, w, 2 * 512);
	st_target_down(&t);
	free(r);
}

static void test_fua_flushes(void **state)
{
	struct st_target t;
	uint8_t buf[512] = { 1 }, cdb[16];
	uint64_t flushes;

	(void)state;
	st_target_up(&t, 64, 512);
	flushes = iostat(&t).num_flush_ops;
	assert_int_equal(rw(&t, 0x2a, 1, 1, buf, 512), 0);
	assert_int_equal(iostat(&t).num_flush_ops, flushes);
	st_cdb_rw(cdb, 0x2a, 1, 1);
	cdb[1] = 0x08; /* FUA */
	assert_int_equal(st_exec(t.dev, &st, 0, cdb, 10, SCSI_DIR_TO_DEV, buf, 512), 0);
	assert_int_equal(st.t.transferred, 512);
	assert_int_equal(iostat(&t).num_flush_ops, flushes + 1);
	st_target_down(&t);
}

static void write_same(struct st_target *t, bool sixteen, uint8_t flags, uint64_t lba,
		       uint32_t blocks, void *block, size_t len)
{
	uint8_t cdb[16];
	size_t n = st_cdb_rw(cdb, sixteen ? 0x93 : 0x41, lba, blocks);

	cdb[1] = flags;
	st_exec(t->dev, &st, 0, cdb, n, SCSI_DIR_TO_DEV, block, len);
}

static void assert_blocks(struct st_target *t, uint64_t lba, uint32_t blocks, const uint8_t *block)
{
	uint8_t *r = malloc((size_t)blocks * 512);

	assert_int_equal(rw(t, 0x88, lba, blocks, r, (size_t)blocks * 512), 0);
	for (uint32_t i = 0; i < blocks; i++)
		if (block)
			assert_memory_equal(r + (size_t)i * 512, block, 512);
		else
			for (int j = 0; j < 512; j++)
				assert_int_equal(r[(size_t)i * 512 + j], 0);
	free(r);
}

static void test_write_same(void **state)
{
	struct st_target t;
	uint8_t block[512], zero[512] = { 0 }, *junk = malloc(1000 * 512);
	struct bdev_iostat before;

	(void)state;
	st_target_up(&t, 1024, 512);
	st_fill(junk, 1000 * 512, 3);
	assert_int_equal(rw(&t, 0x8a, 0, 1000, junk, 1000 * 512), 0);
	/* A pattern over more than one bounce buffer (256 KiB = 512 blocks). */
	st_fill(block, sizeof(block), 9);
	write_same(&t, true, 0, 10, 600, block, sizeof(block));
	assert_int_equal(st.t.status, 0);
	assert_int_equal(st.t.transferred, 512);
	assert_blocks(&t, 10, 600, block);
	assert_blocks(&t, 610, 1, junk + 610 * 512);
	/* Zeroes: WRITE ZEROES; with UNMAP: an unmap. */
	before = iostat(&t);
	write_same(&t, false, 0, 0, 5, zero, sizeof(zero));
	assert_int_equal(st.t.status, 0);
	assert_int_equal(iostat(&t).num_write_zeroes_ops, before.num_write_zeroes_ops + 1);
	assert_blocks(&t, 0, 5, NULL);
	write_same(&t, true, 0x08, 700, 100, zero, sizeof(zero));
	assert_int_equal(st.t.status, 0);
	assert_int_equal(iostat(&t).num_unmap_ops, before.num_unmap_ops + 1);
	assert_blocks(&t, 700, 100, NULL);
	assert_blocks(&t, 800, 1, junk + 800 * 512);
	/* UNMAP with data that is not zero: the data is written. */
	write_same(&t, false, 0x08, 900, 3, block, sizeof(block));
	assert_int_equal(st.t.status, 0);
	assert_int_equal(iostat(&t).num_unmap_ops, before.num_unmap_ops + 1);
	assert_blocks(&t, 900, 3, block);
	/* NDOB: zeroes without a data-out buffer. */
	write_same(&t, true, 0x01, 900, 2, NULL, 0);
	assert_int_equal(st.t.status, 0);
	assert_blocks(&t, 900, 2, NULL);
	assert_blocks(&t, 902, 1, block);
	/* Bad: no blocks (WSNZ), out of range, a short data-out buffer. */
	write_same(&t, false, 0, 0, 0, block, sizeof(block));
	st_assert_sense(&st, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB);
	assert_int_equal(st_sense(&st).sks[2], 7);
	write_same(&t, true, 0, 1000, 25, block, sizeof(block));
	st_assert_sense(&st, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE);
	write_same(&t, true, 0, 0, 2, block, 100);
	st_assert_sense(&st, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_IU);
	assert_int_equal(st.t.residual_kind, SCSI_RESIDUAL_OVERFLOW);
	assert_int_equal(st.t.residual, 412);
	assert_blocks(&t, 0, 2, NULL);
	st_target_down(&t);
	free(junk);
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

/* An UNMAP parameter list with n descriptors; returns its length. */
static size_t unmap_list(uint8_t *p, const uint64_t (*ranges)[2], unsigned n)
{
	size_t len = 8 + 16 * (size_t)n;

	memset(p, 0, len);
	p[0] = (uint8_t)((len - 2) >> 8);
	p[1] = (uint8_t)(len - 2);
	p[2] = (uint8_t)((16 * n) >> 8);
	p[3] = (uint8_t)(16 * n);
	for (unsigned i = 0; i < n; i++) {
		put_be64(p + 8 + 16 * i, ranges[i][0]);
		put_be32(p + 8 + 16 * i + 8, (uint32_t)ranges[i][1]);
	}
	return len;
}

static int unmap(struct st_target *t, uint16_t list_len, void *list, size_t buf_len)
{
	uint8_t cdb[10] = { 0x42, [7] = (uint8_t)(list_len >> 8), [8] = (uint8_t)list_len };

	return st_exec(t->dev, &st, 0, cdb, sizeof(cdb), SCSI_DIR_TO_DEV, list, buf_len);
}

static void test_unmap(void **state)
{
	static const uint64_t ranges[][2] = { { 2, 3 }, { 10, 0 }, { 20, 4 } };
	static const uint64_t bad_range[][2] = { { 0, 1 }, { 62, 3 } };
	struct st_target t;
	uint8_t *w = malloc(64 * 512), list[8 + 16 * 300];
	size_t len;

	(void)state;
	st_target_up(&t, 64, 512);
	st_fill(w, 64 * 512, 5);
	assert_int_equal(rw(&t, 0x8a, 0, 64, w, 64 * 512), 0);
	len = unmap_list(list, ranges, 3);
	assert_int_equal(unmap(&t, (uint16_t)len, list, len), 0);
	assert_int_equal(st.t.transferred, len);
	assert_blocks(&t, 2, 3, NULL);
	assert_blocks(&t, 20, 4, NULL);
	assert_blocks(&t, 1, 1, w + 512);
	assert_blocks(&t, 5, 1, w + 5 * 512);
	assert_blocks(&t, 10, 1, w + 10 * 512); /* 0 blocks: nothing */
	assert_blocks(&t, 24, 1, w + 24 * 512);
	/* No list: nothing to do. A list under 8 bytes or a descriptor length beyond it. */
	assert_int_equal(unmap(&t, 0, NULL, 0), 0);
	unmap(&t, 6, list, 6);
	st_assert_sense(&st, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_PARAMETER_LIST_LENGTH);
	len = unmap_list(list, ranges, 3);
	unmap(&t, (uint16_t)(len - 16), list, len);
	st_assert_sense(&st, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_PARAMETER_LIST_LENGTH);
	/* A data-out buffer shorter than the list length. */
	unmap(&t, (uint16_t)len, list, len - 1);
	st_assert_sense(&st, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_IU);
	/* Too many descriptors. */
	memset(list, 0, sizeof(list));
	list[2] = (uint8_t)((16 * 257) >> 8);
	list[3] = (uint8_t)(16 * 257);
	unmap(&t, 8 + 16 * 257, list, 8 + 16 * 257);
	st_assert_sense(&st, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_PARAM);
	/* One descriptor out of range: nothing is unmapped, not even the good one before it. */
	len = unmap_list(list, bad_range, 2);
	unmap(&t, (uint16_t)len, list, len);
	st_assert_sense(&st, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE);
	assert_blocks(&t, 0, 1, w);
	st_target_down(&t);
	free(w);
}

static void test_unmap_unsupported(void **state)
{
	static const uint64_t one[][2] = { { 0, 1 } };
	struct st_target t;
	uint8_t list[24], block[512] = { 0 };
	size_t len = unmap_list(list, one, 1);

	(void)state;
	assert_int_equal(bdev_null_create("N", 64, 512, NULL, NULL), 0);
	st_target_up_on(&t, "N");
	unmap(&t, (uint16_t)len, list, len);
	st_assert_sense(&st, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_INVALID_OPCODE);
	/* WRITE SAME with UNMAP still zeroes (the null bdev has WRITE ZEROES). */
	write_same(&t, true, 0x08, 0, 4, block, sizeof(block));
	assert_int_equal(st.t.status, 0);
	st_target_down(&t);
}

static void verify(struct st_target *t, uint8_t bytchk, uint64_t lba, uint32_t blocks, void *buf,
		   size_t len)
{
	uint8_t cdb[16];
	size_t n = st_cdb_rw(cdb, len > 1024 ? 0x8f : 0x2f, lba, blocks);

	cdb[1] = (uint8_t)(bytchk << 1);
	st_exec(t->dev, &st, 0, cdb, n, SCSI_DIR_TO_DEV, buf, len);
}

static void test_verify(void **state)
{
	struct st_target t;
	uint8_t *w = malloc(700 * 512), block[512];
	struct scsi_sense s;

	(void)state;
	st_target_up(&t, 1024, 512);
	st_fill(w, 700 * 512, 11);
	assert_int_equal(rw(&t, 0x8a, 100, 700, w, 700 * 512), 0);
	/* BYTCHK 0: range only. */
	verify(&t, 0, 0, 1024, NULL, 0);
	assert_int_equal(st.t.status, 0);
	verify(&t, 0, 1000, 25, NULL, 0);
	st_assert_sense(&st, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE);
	/* BYTCHK 1 across more than one bounce buffer: equal, then one byte off. */
	verify(&t, 1, 100, 700, w, 700 * 512);
	assert_int_equal(st.t.status, 0);
	assert_int_equal(st.t.transferred, 700 * 512);
	w[600 * 512 + 77] ^= 1;
	verify(&t, 1, 100, 700, w, 700 * 512);
	st_assert_sense(&st, SCSI_SK_MISCOMPARE, SCSI_ASC_MISCOMPARE_VERIFY);
	s = st_sense(&st);
	assert_true(s.info_valid);
	assert_int_equal(s.info, 600 * 512 + 77);
	/* A short data-out buffer. */
	verify(&t, 1, 100, 2, w, 512);
	st_assert_sense(&st, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_IU);
	/* BYTCHK 11b: one block against each block of the range. */
	st_fill(block, 512, 4);
	write_same(&t, false, 0, 5, 3, block, 512);
	assert_int_equal(st.t.status, 0);
	verify(&t, 3, 5, 3, block, 512);
	assert_int_equal(st.t.status, 0);
	verify(&t, 3, 5, 4, block, 512);
	st_assert_sense(&st, SCSI_SK_MISCOMPARE, SCSI_ASC_MISCOMPARE_VERIFY);
	assert_true(st_sense(&st).info >= 3 * 512);
	st_target_down(&t);
	free(w);
}

static void test_sync_cache(void **state)
{
	struct st_target t;
	uint8_t cdb[16];
	uint64_t flushes;

	(void)state;
	st_target_up(&t, 64, 512);
	flushes = iostat(&t).num_flush_ops;
	st_cdb_rw(cdb, 0x35, 0, 0);
	assert_int_equal(st_exec(t.dev, &st, 0, cdb, 10, SCSI_DIR_NONE, NULL, 0), 0);
	st_cdb_rw(cdb, 0x91, 10, 54);
	assert_int_equal(st_exec(t.dev, &st, 0, cdb, 16, SCSI_DIR_NONE, NULL, 0), 0);
	assert_int_equal(iostat(&t).num_flush_ops, flushes + 2);
	st_cdb_rw(cdb, 0x91, 10, 55);
	st_exec(t.dev, &st, 0, cdb, 16, SCSI_DIR_NONE, NULL, 0);
	st_assert_sense(&st, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE);
	st_cdb_rw(cdb, 0x35, 64, 0);
	st_exec(t.dev, &st, 0, cdb, 10, SCSI_DIR_NONE, NULL, 0);
	st_assert_sense(&st, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE);
	st_target_down(&t);
	/* No volatile cache (null bdev): GOOD without a flush. */
	assert_int_equal(bdev_null_create("N", 64, 512, NULL, NULL), 0);
	st_target_up_on(&t, "N");
	st_cdb_rw(cdb, 0x35, 0, 0);
	assert_int_equal(st_exec(t.dev, &st, 0, cdb, 10, SCSI_DIR_NONE, NULL, 0), 0);
	st_target_down(&t);
}

static void test_read_capacity(void **state)
{
	static const uint8_t rc10[10] = { 0x25 };
	static const uint8_t rc16[16] = { 0x9e, 0x10, [13] = 32 };
	struct st_target t;
	uint8_t buf[64];

	(void)state;
	st_target_up(&t, 1000, 4096);
	assert_int_equal(st_exec(t.dev, &st, 0, rc10, 10, SCSI_DIR_FROM_DEV, buf, 8), 0);
	assert_memory_equal(buf, ((uint8_t[]){ 0, 0, 0x03, 0xe7, 0, 0, 0x10, 0 }), 8);
	assert_int_equal(st_exec(t.dev, &st, 0, rc16, 16, SCSI_DIR_FROM_DEV, buf, 64), 0);
	assert_int_equal(st.t.transferred, 32);
	assert_memory_equal(buf, ((uint8_t[]){ 0, 0, 0, 0, 0, 0, 0x03, 0xe7, 0, 0, 0x10, 0 }), 12);
	assert_int_equal(buf[14] & 0xc0, 0xc0); /* LBPME, LBPRZ */
	st_target_down(&t);
	/* 2^33 blocks: READ CAPACITY(10) says FFFFFFFFh; no unmap: no LBPME. */
	assert_int_equal(bdev_null_create("Big", 1ull << 33, 512, NULL, NULL), 0);
	st_target_up_on(&t, "Big");
	assert_int_equal(st_exec(t.dev, &st, 0, rc10, 10, SCSI_DIR_FROM_DEV, buf, 8), 0);
	assert_memory_equal(buf, ((uint8_t[]){ 0xff, 0xff, 0xff, 0xff, 0, 0, 0x02, 0 }), 8);
	assert_int_equal(st_exec(t.dev, &st, 0, rc16, 16, SCSI_DIR_FROM_DEV, buf, 64), 0);
	assert_memory_equal(buf, ((uint8_t[]){ 0, 0, 0, 0x01, 0xff, 0xff, 0xff, 0xff }), 8);
	assert_int_equal(buf[14], 0);
	st_target_down(&t);
}

static void test_bdev_errors_become_sense(void **state)
{
	struct st_target t;
	uint8_t buf[512] = { 0 }, cdb[16];

	(void)state;
	assert_int_equal(bdev_malloc_create("Base", 64, 512, NULL, NULL), 0);
	assert_int_equal(bdev_error_create("Base", NULL, NULL), 0);
	st_target_up_on(&t, "EE_Base");
	assert_int_equal(bdev_error_inject("EE_Base", BDEV_IO_READ, BDEV_ERROR_FAILURE, 1), 0);
	rw(&t, 0x28, 0, 1, buf, 512);
	st_assert_sense(&st, SCSI_SK_MEDIUM_ERROR, SCSI_ASC_UNRECOVERED_READ_ERROR);
	assert_int_equal(st.t.transferred, 0);
	assert_int_equal(rw(&t, 0x28, 0, 1, buf, 512), 0); /* only one was injected */
	assert_int_equal(bdev_error_inject("EE_Base", BDEV_IO_WRITE, BDEV_ERROR_FAILURE, 1), 0);
	rw(&t, 0x2a, 0, 1, buf, 512);
	st_assert_sense(&st, SCSI_SK_MEDIUM_ERROR, SCSI_ASC_WRITE_ERROR);
	assert_int_equal(bdev_error_inject("EE_Base", BDEV_IO_FLUSH, BDEV_ERROR_FAILURE, 1), 0);
	st_cdb_rw(cdb, 0x35, 0, 0);
	st_exec(t.dev, &st, 0, cdb, 10, SCSI_DIR_NONE, NULL, 0);
	st_assert_sense(&st, SCSI_SK_MEDIUM_ERROR, SCSI_ASC_WRITE_ERROR);
	assert_int_equal(bdev_error_inject("EE_Base", BDEV_IO_UNMAP, BDEV_ERROR_FAILURE, 1), 0);
	write_same(&t, true, 0x09, 0, 1, NULL, 0);
	st_assert_sense(&st, SCSI_SK_HARDWARE_ERROR, SCSI_ASC_INTERNAL_TARGET_FAILURE);
	st_target_down(&t);
}

static void deleted(void *arg, int status)
{
	*(int *)arg = status == 0 ? 1 : -1;
}

static void test_bdev_gone_is_lun_not_supported(void **state)
{
	struct st_target t;
	uint8_t buf[512];
	int done = 0;

	(void)state;
	st_target_up(&t, 64, 512);
	assert_int_equal(bdev_malloc_delete("M0", deleted, &done), 0);
	test_reactor_run_for(5);
	assert_int_equal(t.disk.bdev_removes, 1);
	assert_int_equal(done, 0); /* still open */
	rw(&t, 0x28, 0, 1, buf, 512);
	st_assert_sense(&st, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_LUN_NOT_SUPPORTED);
	scsi_dev_destroy(t.dev, NULL, NULL);
	st_disk_close(&t.disk);
	test_reactor_run_for(5);
	assert_int_equal(done, 1);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, st_setup, st_teardown)
	const struct CMUnitTest tests[] = {
		T(test_round_trip_every_size),
		T(test_scattered_buffer),
		T(test_out_of_range),
		T(test_transfer_limit),
		T(test_residuals),
		T(test_fua_flushes),
		T(test_write_same),
		T(test_unmap),
		T(test_unmap_unsupported),
		T(test_verify),
		T(test_sync_cache),
		T(test_read_capacity),
		T(test_bdev_errors_become_sense),
		T(test_bdev_gone_is_lun_not_supported),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
