/*
 * MODE SENSE and MODE SELECT: page layouts, page control values, block descriptors, validation
 * against the changeable masks, D_SENSE switching every error to descriptor-format sense, and
 * the MODE PARAMETERS CHANGED unit attention for the other initiators.
 */
#include "scsi_test.h"

#include <string.h>

static struct st_task st;

static int sense6(struct scsi_dev *dev, uint8_t byte1, uint8_t byte2, uint8_t sub, uint8_t *buf)
{
	uint8_t cdb[6] = { 0x1a, byte1, byte2, sub, 255, 0 };

	return st_exec(dev, &st, 0, cdb, sizeof(cdb), SCSI_DIR_FROM_DEV, buf, 255);
}

static int sense10(struct scsi_dev *dev, uint8_t byte1, uint8_t byte2, uint8_t *buf)
{
	uint8_t cdb[10] = { 0x5a, byte1, byte2, 0, 0, 0, 0, 1, 0, 0 };

	return st_exec(dev, &st, 0, cdb, sizeof(cdb), SCSI_DIR_FROM_DEV, buf, 256);
}

static int select6(struct scsi_dev *dev, uint64_t initiator, uint8_t *list, uint8_t len)
{
	uint8_t cdb[6] = { 0x15, 0x10, 0, 0, len, 0 };

	st_prepare(&st, 0, cdb, sizeof(cdb), SCSI_DIR_TO_DEV, list, len);
	st.t.initiator = initiator;
	scsi_dev_execute(dev, &st.t);
	return st_wait(&st);
}

static int select10(struct scsi_dev *dev, uint8_t *list, uint16_t len, size_t buf_len)
{
	uint8_t cdb[10] = { 0x55, 0x10, 0, 0, 0, 0, 0, (uint8_t)(len >> 8), (uint8_t)len, 0 };

	return st_exec(dev, &st, 0, cdb, sizeof(cdb), SCSI_DIR_TO_DEV, list, buf_len);
}

/* A MODE SELECT(6) list: header without block descriptor, then the control page with D_SENSE. */
static uint8_t control_list(uint8_t *p, bool d_sense)
{
	memset(p, 0, 16);
	p[4] = 0x0a;
	p[5] = 0x0a;
	p[6] = d_sense ? 0x04 : 0;
	return 16;
}

static void test_sense_all_pages(void **state)
{
	struct st_target t;
	uint8_t buf[256];

	(void)state;
	st_target_up(&t, 1000, 4096);
	assert_int_equal(sense6(t.dev, 0, 0x3f, 0, buf), 0);
	/* header: length, medium, DPOFUA, 8-byte block descriptor */
	assert_int_equal(buf[0], 4 + 8 + 12 + 20 + 12 - 1);
	assert_int_equal(buf[2], 0x10);
	assert_int_equal(buf[3], 8);
	assert_memory_equal(&buf[4], ((uint8_t[]){ 0, 0, 0x03, 0xe8, 0, 0, 0x10, 0 }), 8);
	/* pages 01h, 08h (WCE: malloc has a volatile cache), 0Ah */
	assert_int_equal(buf[12], 0x01);
	assert_int_equal(buf[13], 0x0a);
	assert_int_equal(buf[24], 0x08);
	assert_int_equal(buf[25], 0x12);
	assert_int_equal(buf[26], 0x04);
	assert_int_equal(buf[44], 0x0a);
	assert_int_equal(buf[45], 0x0a);
	assert_int_equal(buf[46], 0x00);
	assert_int_equal(st.t.transferred, 56);
	/* "All pages and subpages" is the same here; DBD drops the descriptor. */
	assert_int_equal(sense6(t.dev, 0x08, 0x3f, 0xff, buf), 0);
	assert_int_equal(buf[3], 0);
	assert_int_equal(buf[4], 0x01);
	/* One page. */
	assert_int_equal(sense6(t.dev, 0x08, 0x08, 0, buf), 0);
	assert_int_equal(buf[0], 3 + 20);
	assert_int_equal(buf[4], 0x08);
	/* The allocation length clips (Linux asks for 4 bytes first). */
	assert_int_equal(st_exec(t.dev, &st, 0, (uint8_t[]){ 0x1a, 0, 0x3f, 0, 4, 0 }, 6,
				 SCSI_DIR_FROM_DEV, buf, 255), 0);
	assert_int_equal(st.t.transferred, 4);
	st_target_down(&t);
}

static void test_sense10_long_lba(void **state)
{
	struct st_target t;
	uint8_t buf[256];

	(void)state;
	st_target_up(&t, 1000, 512);
	assert_int_equal(sense10(t.dev, 0x10, 0x0a, buf), 0);
	assert_int_equal(buf[0] << 8 | buf[1], 8 + 16 + 12 - 2);
	assert_int_equal(buf[3], 0x10);
	assert_int_equal(buf[4] & 0x01, 1); /* LONGLBA */
	assert_int_equal(buf[7], 16);
	assert_memory_equal(&buf[8], ((uint8_t[]){ 0, 0, 0, 0, 0, 0, 0x03, 0xe8 }), 8);
	assert_memory_equal(&buf[20], ((uint8_t[]){ 0, 0, 0x02, 0 }), 4);
	assert_int_equal(buf[24], 0x0a);
	/* Without LLBAA: the short descriptor. */
	assert_int_equal(sense10(t.dev, 0, 0x0a, buf), 0);
	assert_int_equal(buf[4], 0);
	assert_int_equal(buf[7], 8);
	assert_int_equal(buf[16], 0x0a);
	st_target_down(&t);
}

static void test_page_control(void **state)
{
	struct st_target t;
	uint8_t buf[256];

	(void)state;
	st_target_up(&t, 64, 512);
	/* changeable: only D_SENSE */
	assert_int_equal(sense6(t.dev, 0x08, 0x40 | 0x3f, 0, buf), 0);
	assert_int_equal(buf[4 + 2], 0);
	assert_int_equal(buf[16 + 2], 0);
	assert_int_equal(buf[36 + 2], 0x04);
	/* default: D_SENSE clear, WCE as the bdev */
	assert_int_equal(sense6(t.dev, 0x08, 0x80 | 0x3f, 0, buf), 0);
	assert_int_equal(buf[16 + 2], 0x04);
	assert_int_equal(buf[36 + 2], 0);
	/* saved: not supported */
	sense6(t.dev, 0x08, 0xc0 | 0x3f, 0, buf);
	st_assert_sense(&st, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_SAVING_NOT_SUPPORTED);
	/* unknown page, subpage */
	sense6(t.dev, 0, 0x1c, 0, buf);
	st_assert_sense(&st, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB);
	assert_int_equal(st_sense(&st).sks[0], 0x80 | 0x40 | 0x08 | 5);
	sense6(t.dev, 0, 0x0a, 0x01, buf);
	st_assert_sense(&st, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB);
	assert_int_equal(st_sense(&st).sks[2], 3);
	st_target_down(&t);
	/* No volatile cache: WCE clear. */
	assert_int_equal(bdev_null_create("N", 64, 512, NULL, NULL), 0);
	st_target_up_on(&t, "N");
	assert_int_equal(sense6(t.dev, 0x08, 0x08, 0, buf), 0);
	assert_int_equal(buf[4 + 2], 0);
	st_target_down(&t);
}

static void test_d_sense_switches_format(void **state)
{
	struct st_target t;
	uint8_t list[64], buf[256], bad[6] = { 0x02 };

	(void)state;
	st_target_up(&t, 64, 512);
	st_exec(t.dev, &st, 0, bad, 6, SCSI_DIR_NONE, NULL, 0);
	assert_int_equal(st.t.sense[0], 0x70);
	assert_int_equal(select6(t.dev, ST_INITIATOR, list, control_list(list, true)), 0);
	assert_int_equal(sense6(t.dev, 0x08, 0x0a, 0, buf), 0);
	assert_int_equal(buf[4 + 2], 0x04);
	/* Errors now come in descriptor format, with the field pointer descriptor. */
	st_exec(t.dev, &st, 0, bad, 6, SCSI_DIR_NONE, NULL, 0);
	assert_int_equal(st.t.sense[0], 0x72);
	st_assert_sense(&st, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_INVALID_OPCODE);
	sense6(t.dev, 0, 0x1c, 0, buf);
	assert_int_equal(st.t.sense[0], 0x72);
	assert_true(st_sense(&st).sks_valid);
	/* MODE SELECT(10) with an 8-byte header turns it back. */
	memset(list, 0, sizeof(list));
	list[8] = 0x0a;
	list[9] = 0x0a;
	assert_int_equal(select10(t.dev, list, 20, 20), 0);
	st_exec(t.dev, &st, 0, bad, 6, SCSI_DIR_NONE, NULL, 0);
	assert_int_equal(st.t.sense[0], 0x70);
	st_target_down(&t);
}

static void test_request_sense_format(void **state)
{
	struct st_target t;
	uint8_t buf[64], cdb[6] = { 0x03, 0x01, 0, 0, 64, 0 };

	(void)state;
	st_target_up(&t, 64, 512);
	assert_int_equal(st_exec(t.dev, &st, 0, cdb, 6, SCSI_DIR_FROM_DEV, buf, 64), 0);
	assert_int_equal(buf[0], 0x72);
	assert_int_equal(buf[1], SCSI_SK_NO_SENSE);
	assert_int_equal(st.t.transferred, 8);
	cdb[1] = 0;
	assert_int_equal(st_exec(t.dev, &st, 0, cdb, 6, SCSI_DIR_FROM_DEV, buf, 64), 0);
	assert_int_equal(buf[0], 0x70);
	assert_int_equal(st.t.transferred, 18);
	st_target_down(&t);
}

static void test_select_rejects_what_cannot_change(void **state)
{
	struct st_target t;
	uint8_t list[64], buf[256];
	struct scsi_sense s;

	(void)state;
	st_target_up(&t, 64, 512);
	/* D_SENSE set, then a caching page clearing WCE: the whole list is refused, pointing at
	 * byte 2 of the caching page, and D_SENSE stays clear. */
	control_list(list, true);
	memset(list + 16, 0, 20);
	list[16] = 0x08;
	list[17] = 0x12;
	assert_int_equal(select6(t.dev, ST_INITIATOR, list, 36), 2);
	st_assert_sense(&st, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_PARAM);
	s = st_sense(&st);
	assert_int_equal(s.sks[0], 0x80 | 0x08 | 2); /* parameter list, bit 2 */
	assert_int_equal(s.sks[2], 18);
	assert_int_equal(sense6(t.dev, 0x08, 0x0a, 0, buf), 0);
	assert_int_equal(buf[4 + 2], 0);
	/* A non-changeable bit of the control page (QERR). */
	control_list(list, false);
	list[7] = 0x02;
	select6(t.dev, ST_INITIATOR, list, 16);
	st_assert_sense(&st, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_PARAM);
	assert_int_equal(st_sense(&st).sks[2], 7);
	/* Wrong page length, unknown page, subpage format. */
	control_list(list, false);
	list[5] = 0x0b;
	select6(t.dev, ST_INITIATOR, list, 16);
	st_assert_sense(&st, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_PARAM);
	control_list(list, false);
	list[4] = 0x1c;
	select6(t.dev, ST_INITIATOR, list, 16);
	st_assert_sense(&st, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_PARAM);
	control_list(list, false);
	list[4] = 0x4a;
	select6(t.dev, ST_INITIATOR, list, 16);
	st_assert_sense(&st, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_PARAM);
	/* Truncated: a page running past the list, a list shorter than its header. */
	control_list(list, false);
	select6(t.dev, ST_INITIATOR, list, 12);
	st_assert_sense(&st, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_PARAMETER_LIST_LENGTH);
	select6(t.dev, ST_INITIATOR, list, 5);
	st_assert_sense(&st, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_PARAMETER_LIST_LENGTH);
	select6(t.dev, ST_INITIATOR, list, 3);
	st_assert_sense(&st, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_PARAMETER_LIST_LENGTH);
	/* Zero length: nothing to do. */
	assert_int_equal(select6(t.dev, ST_INITIATOR, NULL, 0), 0);
	/* A data-out buffer shorter than the list length. */
	control_list(list, true);
	assert_int_equal(select10(t.dev, list, 40, 20), 2);
	st_assert_sense(&st, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_IU);
	/* SP (save pages) is not supported. */
	st_exec(t.dev, &st, 0, (uint8_t[]){ 0x15, 0x11, 0, 0, 16, 0 }, 6, SCSI_DIR_TO_DEV, list,
		16);
	st_assert_sense(&st, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB);
	st_target_down(&t);
}

static void test_select_block_descriptor(void **state)
{
	struct st_target t;
	uint8_t list[64];

	(void)state;
	st_target_up(&t, 64, 512);
	/* A block descriptor repeating our block size is fine, another size is not. */
	memset(list, 0, sizeof(list));
	list[3] = 8;
	list[4 + 6] = 0x02;
	list[12] = 0x0a;
	list[13] = 0x0a;
	assert_int_equal(select6(t.dev, ST_INITIATOR, list, 24), 0);
	list[4 + 6] = 0x10;
	select6(t.dev, ST_INITIATOR, list, 24);
	st_assert_sense(&st, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_PARAM);
	assert_int_equal(st_sense(&st).sks[2], 9);
	/* A descriptor length that is neither 0 nor 8, one past the list. */
	list[3] = 7;
	select6(t.dev, ST_INITIATOR, list, 24);
	st_assert_sense(&st, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_PARAM);
	list[3] = 8;
	select6(t.dev, ST_INITIATOR, list, 10);
	st_assert_sense(&st, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_PARAMETER_LIST_LENGTH);
	st_target_down(&t);
}

static void test_other_initiators_see_the_change(void **state)
{
	struct st_target t;
	uint8_t list[64], tur[6] = { 0 };

	(void)state;
	st_target_up(&t, 64, 512);
	st_clear_ua(t.dev, 0, 2);
	/* The same value again changes nothing: no unit attention. */
	assert_int_equal(select6(t.dev, ST_INITIATOR, list, control_list(list, false)), 0);
	st_prepare(&st, 0, tur, 6, SCSI_DIR_NONE, NULL, 0);
	st.t.initiator = 2;
	scsi_dev_execute(t.dev, &st.t);
	assert_int_equal(st_wait(&st), 0);
	assert_int_equal(select6(t.dev, ST_INITIATOR, list, control_list(list, true)), 0);
	assert_int_equal(st_exec(t.dev, &st, 0, tur, 6, SCSI_DIR_NONE, NULL, 0), 0);
	st_prepare(&st, 0, tur, 6, SCSI_DIR_NONE, NULL, 0);
	st.t.initiator = 2;
	scsi_dev_execute(t.dev, &st.t);
	st_wait(&st);
	st_assert_sense(&st, SCSI_SK_UNIT_ATTENTION, SCSI_ASC_MODE_PARAMETERS_CHANGED);
	st_target_down(&t);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, st_setup, st_teardown)
	const struct CMUnitTest tests[] = {
		T(test_sense_all_pages),
		T(test_sense10_long_lba),
		T(test_page_control),
		T(test_d_sense_switches_format),
		T(test_request_sense_format),
		T(test_select_rejects_what_cannot_change),
		T(test_select_block_descriptor),
		T(test_other_initiators_see_the_change),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
