/*
 * INQUIRY: standard data, each VPD page, allocation lengths, and the NAA designator: the same
 * for every LUN over one bdev, different across bdevs, and exactly derived from the UUID.
 */
#include "scsi_test.h"

#include <string.h>

static int inquiry(struct scsi_dev *dev, struct st_task *st, uint32_t lun, bool evpd,
		   uint8_t page, uint16_t alloc, uint8_t *buf, size_t len)
{
	uint8_t cdb[6] = { 0x12, evpd, page, (uint8_t)(alloc >> 8), (uint8_t)alloc, 0 };

	return st_exec(dev, st, lun, cdb, sizeof(cdb), SCSI_DIR_FROM_DEV, buf, len);
}

static void test_standard_data(void **state)
{
	struct st_target t;
	struct st_task st;
	uint8_t buf[256];

	(void)state;
	st_target_up(&t, 64, 512);
	memset(buf, 0xee, sizeof(buf));
	assert_int_equal(inquiry(t.dev, &st, 0, false, 0, 255, buf, sizeof(buf)), 0);
	assert_int_equal(buf[0], 0x00);          /* connected direct-access block device */
	assert_int_equal(buf[1], 0x00);          /* not removable */
	assert_int_equal(buf[2], 0x06);          /* SPC-4 */
	assert_int_equal(buf[3], 0x12);          /* HISUP, format 2 */
	assert_int_equal(buf[4] + 5, 66);        /* additional length */
	assert_int_equal(buf[7] & 0x02, 0x02);   /* CMDQUE */
	assert_memory_equal(&buf[8], "VHOSTD  ", 8);
	assert_memory_equal(&buf[16], "Malloc disk     ", 16);
	assert_memory_equal(&buf[32], "0001", 4);
	assert_int_equal(buf[58] << 8 | buf[59], 0x00a0);
	assert_int_equal(buf[60] << 8 | buf[61], 0x0460);
	assert_int_equal(buf[62] << 8 | buf[63], 0x04c0);
	/* 66 bytes sent, the rest of the buffer untouched and reported as underflow. */
	assert_int_equal(st.t.transferred, 66);
	assert_int_equal(buf[66], 0xee);
	assert_int_equal(st.t.residual_kind, SCSI_RESIDUAL_UNDERFLOW);
	assert_int_equal(st.t.residual, sizeof(buf) - 66);
	/* The allocation length clips; 0 sends nothing and is no error. */
	assert_int_equal(inquiry(t.dev, &st, 0, false, 0, 36, buf, sizeof(buf)), 0);
	assert_int_equal(st.t.transferred, 36);
	assert_int_equal(inquiry(t.dev, &st, 0, false, 0, 0, buf, sizeof(buf)), 0);
	assert_int_equal(st.t.transferred, 0);
	/* A buffer shorter than the allocation length: overflow, nothing written past it. */
	assert_int_equal(inquiry(t.dev, &st, 0, false, 0, 96, buf, 10), 0);
	assert_int_equal(st.t.transferred, 10);
	assert_int_equal(st.t.residual_kind, SCSI_RESIDUAL_OVERFLOW);
	assert_int_equal(st.t.residual, 66 - 10);
	st_target_down(&t);
}

static void test_supported_pages_and_serial(void **state)
{
	static const uint8_t pages[] = { 0x00, 0x80, 0x83, 0xb0, 0xb1, 0xb2 };
	static const uint8_t uuid[16] = { 0x5a, 0x3c, 0x1f, 0x7e, 0x11, 0x11, 0x42, 0x22,
					  0x83, 0x33, 0x44, 0x44, 0x55, 0x55, 0x66, 0x66 };
	struct st_target t;
	struct st_task st;
	uint8_t buf[256];

	(void)state;
	assert_int_equal(bdev_malloc_create("U", 64, 512, uuid, NULL), 0);
	st_target_up_on(&t, "U");
	assert_int_equal(inquiry(t.dev, &st, 0, true, 0x00, 255, buf, sizeof(buf)), 0);
	assert_int_equal(buf[1], 0x00);
	assert_int_equal(buf[3], sizeof(pages));
	assert_memory_equal(&buf[4], pages, sizeof(pages));
	/* Every listed page answers with its code and a consistent length. */
	for (size_t i = 0; i < sizeof(pages); i++) {
		assert_int_equal(inquiry(t.dev, &st, 0, true, pages[i], 255, buf, sizeof(buf)), 0);
		assert_int_equal(buf[1], pages[i]);
		assert_int_equal(st.t.transferred, 4 + (buf[2] << 8 | buf[3]));
	}
	assert_int_equal(inquiry(t.dev, &st, 0, true, 0x80, 255, buf, sizeof(buf)), 0);
	assert_int_equal(buf[3], 32);
	assert_memory_equal(&buf[4], "5a3c1f7e111142228333444455556666", 32);
	/* Unsupported pages: INVALID FIELD IN CDB at byte 2. */
	assert_int_equal(inquiry(t.dev, &st, 0, true, 0x89, 255, buf, sizeof(buf)), 2);
	st_assert_sense(&st, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB);
	assert_int_equal(st_sense(&st).sks[2], 2);
	/* A page clipped by the allocation length. */
	assert_int_equal(inquiry(t.dev, &st, 0, true, 0x80, 8, buf, sizeof(buf)), 0);
	assert_int_equal(st.t.transferred, 8);
	st_target_down(&t);
}

/* The NAA designator (first in page 83h) of lun on dev, after checking the page's layout. */
static void device_id(struct scsi_dev *dev, uint32_t lun, uint8_t naa[16], const char *uuid)
{
	struct st_task st;
	uint8_t buf[256];

	st_clear_ua(dev, lun, ST_INITIATOR);
	assert_int_equal(inquiry(dev, &st, lun, true, 0x83, 255, buf, sizeof(buf)), 0);
	assert_int_equal(buf[1], 0x83);
	assert_int_equal(buf[2] << 8 | buf[3], 20 + 48);
	assert_int_equal(buf[4], 0x01); /* binary */
	assert_int_equal(buf[5], 0x03); /* LU, NAA */
	assert_int_equal(buf[7], 16);
	memcpy(naa, &buf[8], 16);
	assert_int_equal(naa[0] >> 4, 6);
	/* Company id 025648h. */
	assert_int_equal((naa[0] & 0xf) << 20 | naa[1] << 12 | naa[2] << 4 | naa[3] >> 4, 0x025648);
	/* T10 vendor id: ASCII, LU, type 1: vendor then the UUID text. */
	assert_int_equal(buf[24], 0x02);
	assert_int_equal(buf[25], 0x01);
	assert_int_equal(buf[27], 44);
	assert_memory_equal(&buf[28], "VHOSTD  ", 8);
	if (uuid)
		assert_memory_equal(&buf[36], uuid, 36);
}

static void test_naa_same_bdev_same_id(void **state)
{
	struct st_disk a1, a2, b;
	struct scsi_dev *dev, *other;
	struct scsi_lun_opts o1 = st_lun_opts(&a1, false), o2 = st_lun_opts(&a2, false),
			     ob = st_lun_opts(&b, true);
	uint8_t n1[16], n2[16], n3[16], nb[16];

	(void)state;
	st_disk_malloc(&a1, "A", 64, 512, NULL);
	st_disk_open(&a2, "A"); /* a second desc on the same bdev */
	st_disk_malloc(&b, "B", 64, 512, NULL);
	assert_int_equal(scsi_dev_create("t0", 0, &dev), 0);
	assert_int_equal(scsi_dev_create("t7", 7, &other), 0);
	assert_int_equal(scsi_dev_add_lun(dev, 0, a1.desc, a1.ch, &o1), 0);
	assert_int_equal(scsi_dev_add_lun(dev, 3, b.desc, b.ch, &ob), 0);
	assert_int_equal(scsi_dev_add_lun(other, 5, a2.desc, a2.ch, &o2), 0);
	device_id(dev, 0, n1, NULL);
	device_id(other, 5, n2, NULL);
	device_id(dev, 3, nb, NULL);
	/* Same bdev through another LUN number and target: same designator. */
	assert_memory_equal(n1, n2, 16);
	assert_memory_not_equal(n1, nb, 16);
	/* And stable across a LUN re-created over it. */
	assert_int_equal(scsi_dev_remove_lun(dev, 0), 0);
	assert_int_equal(scsi_dev_add_lun(dev, 1, a1.desc, a1.ch, &o1), 0);
	device_id(dev, 1, n3, NULL);
	assert_memory_equal(n1, n3, 16);
	scsi_dev_destroy(dev, NULL, NULL);
	scsi_dev_destroy(other, NULL, NULL);
	st_disk_close(&a1);
	st_disk_close(&a2);
	st_disk_close(&b);
}

static void test_naa_known_answers(void **state)
{
	/* UUID 1: the vendor-specific bits are 1. UUID 2^127: its top bit lands on the top
	 * vendor-specific bit (bit 99), the low nibble of byte 3. */
	static const uint8_t one[16] = { [15] = 1 }, top[16] = { [0] = 0x80 };
	static const uint8_t naa_one[16] = { 0x60, 0x25, 0x64, 0x80, [15] = 0x01 };
	static const uint8_t naa_top[16] = { 0x60, 0x25, 0x64, 0x88 };
	struct st_target t;
	uint8_t naa[16];

	(void)state;
	assert_int_equal(bdev_malloc_create("One", 8, 512, one, NULL), 0);
	st_target_up_on(&t, "One");
	device_id(t.dev, 0, naa, "00000000-0000-0000-0000-000000000001");
	assert_memory_equal(naa, naa_one, 16);
	st_target_down(&t);
	assert_int_equal(bdev_malloc_create("Top", 8, 512, top, NULL), 0);
	st_target_up_on(&t, "Top");
	device_id(t.dev, 0, naa, "80000000-0000-0000-0000-000000000000");
	assert_memory_equal(naa, naa_top, 16);
	st_target_down(&t);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void test_block_pages_malloc(void **state)
{
	struct st_target t;
	struct st_task st;
	uint8_t buf[256];

	(void)state;
	st_target_up(&t, 64, 4096);
	assert_int_equal(inquiry(t.dev, &st, 0, true, 0xb0, 255, buf, sizeof(buf)), 0);
	assert_int_equal(buf[3], 0x3c);
	assert_int_equal(buf[4] & 0x01, 1);                   /* WSNZ */
	assert_int_equal(be32(&buf[8]), SCSI_MAX_TRANSFER_BYTES / 4096);
	assert_int_equal(be32(&buf[12]), 32);                 /* 128 KiB */
	assert_int_equal(be32(&buf[20]), 0xffffffff);          /* unmap: no limit */
	assert_int_equal(be32(&buf[24]), SCSI_UNMAP_MAX_DESCRIPTORS);
	assert_int_equal(be32(&buf[40]), 0xffffffff);          /* max WRITE SAME length */
	assert_int_equal(inquiry(t.dev, &st, 0, true, 0xb1, 255, buf, sizeof(buf)), 0);
	assert_int_equal(buf[3], 0x3c);
	assert_int_equal(buf[4] << 8 | buf[5], 1);            /* non-rotating */
	assert_int_equal(inquiry(t.dev, &st, 0, true, 0xb2, 255, buf, sizeof(buf)), 0);
	assert_int_equal(buf[3], 4);
	assert_int_equal(buf[5], 0x80 | 0x40 | 0x20 | 0x04);  /* LBPU LBPWS LBPWS10 LBPRZ */
	assert_int_equal(buf[6] & 0x07, 2);                   /* thin */
	st_target_down(&t);
}

static void test_block_pages_without_unmap(void **state)
{
	struct st_target t;
	struct st_task st;
	uint8_t buf[256];

	(void)state;
	assert_int_equal(bdev_null_create("N", 1024, 512, NULL, NULL), 0);
	st_target_up_on(&t, "N");
	assert_int_equal(inquiry(t.dev, &st, 0, true, 0xb0, 255, buf, sizeof(buf)), 0);
	assert_int_equal(be32(&buf[20]), 0);
	assert_int_equal(be32(&buf[24]), 0);
	assert_int_equal(inquiry(t.dev, &st, 0, true, 0xb2, 255, buf, sizeof(buf)), 0);
	assert_int_equal(buf[5], 0);
	assert_int_equal(buf[6], 0);
	assert_int_equal(inquiry(t.dev, &st, 0, false, 0, 255, buf, sizeof(buf)), 0);
	assert_memory_equal(&buf[16], "Null disk       ", 16);
	st_target_down(&t);
}

/* A bdev whose unmapped blocks need not read back as zeroes (a block device after BLKDISCARD):
 * provisioning is still reported, LBPRZ is not. */
static void test_unmap_without_zeroes_clears_lbprz(void **state)
{
	struct st_target t;
	struct st_task st;
	uint8_t buf[256];

	(void)state;
	st_target_up(&t, 1024, 512);
	bdev_get_by_name("M0")->unmap_reads_zero = false;
	assert_int_equal(inquiry(t.dev, &st, 0, true, 0xb2, 255, buf, sizeof(buf)), 0);
	assert_int_equal(buf[5], 0x80 | 0x40 | 0x20); /* LBPU LBPWS LBPWS10, no LBPRZ */
	st_target_down(&t);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, st_setup, st_teardown)
	const struct CMUnitTest tests[] = {
		T(test_standard_data),
		T(test_supported_pages_and_serial),
		T(test_naa_same_bdev_same_id),
		T(test_naa_known_answers),
		T(test_block_pages_malloc),
		T(test_unmap_without_zeroes_clears_lbprz),
		T(test_block_pages_without_unmap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
