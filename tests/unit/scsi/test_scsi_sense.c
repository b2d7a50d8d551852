/* Sense data: fixed and descriptor layouts byte by byte, parsing both, and bad input. */
#include "scsi_test.h"

#include <errno.h>
#include <string.h>

static void test_fixed_layout(void **state)
{
	struct scsi_sense s = { .key = SCSI_SK_ILLEGAL_REQUEST,
				.asc = SCSI_ASC_INVALID_FIELD_IN_CDB };
	uint8_t b[SCSI_SENSE_MAX];

	(void)state;
	memset(b, 0xee, sizeof(b));
	scsi_sense_set_field(&s, true, 0x0102, 4);
	assert_int_equal(scsi_sense_build(b, false, &s), 18);
	assert_int_equal(b[0], 0x70); /* current, fixed, not VALID */
	assert_int_equal(b[2], 0x05);
	assert_int_equal(b[7], 10);
	assert_int_equal(b[12], 0x24);
	assert_int_equal(b[13], 0x00);
	/* SKSV, C/D (CDB), BPV, bit 4; byte 0x0102 */
	assert_int_equal(b[15], 0x80 | 0x40 | 0x08 | 4);
	assert_int_equal(b[16], 0x01);
	assert_int_equal(b[17], 0x02);
	for (int i = 18; i < SCSI_SENSE_MAX; i++)
		assert_int_equal(b[i], 0); /* the rest is cleared */
}

static void test_fixed_information(void **state)
{
	struct scsi_sense s = { .key = SCSI_SK_MISCOMPARE, .asc = SCSI_ASC_MISCOMPARE_VERIFY,
				.info_valid = true, .info = 0x11223344 };
	uint8_t b[SCSI_SENSE_MAX];

	(void)state;
	scsi_sense_build(b, false, &s);
	assert_int_equal(b[0], 0xf0); /* VALID */
	assert_int_equal(b[2], 0x0e);
	assert_int_equal(b[3], 0x11);
	assert_int_equal(b[6], 0x44);
	assert_int_equal(b[12], 0x1d);
	assert_int_equal(b[15], 0); /* no sense-key specific data */
	/* Four bytes of INFORMATION cannot hold a larger value: not VALID. */
	s.info = 0x100000000ull;
	scsi_sense_build(b, false, &s);
	assert_int_equal(b[0], 0x70);
	assert_int_equal(b[3] | b[4] | b[5] | b[6], 0);
}

static void test_descriptor_layout(void **state)
{
	struct scsi_sense s = { .key = SCSI_SK_MISCOMPARE, .asc = SCSI_ASC_MISCOMPARE_VERIFY,
				.info_valid = true, .info = 0x0102030405060708ull };
	uint8_t b[SCSI_SENSE_MAX];

	(void)state;
	scsi_sense_set_field(&s, false, 7, -1);
	assert_int_equal(scsi_sense_build(b, true, &s), 8 + 12 + 8);
	assert_int_equal(b[0], 0x72);
	assert_int_equal(b[1], 0x0e);
	assert_int_equal(b[2], 0x1d);
	assert_int_equal(b[3], 0x00);
	assert_int_equal(b[7], 20);
	/* information descriptor */
	assert_int_equal(b[8], 0x00);
	assert_int_equal(b[9], 0x0a);
	assert_int_equal(b[10], 0x80);
	assert_int_equal(b[12], 0x01);
	assert_int_equal(b[19], 0x08);
	/* sense key specific descriptor: field pointer into the parameter list, no bit */
	assert_int_equal(b[20], 0x02);
	assert_int_equal(b[21], 0x06);
	assert_int_equal(b[24], 0x80);
	assert_int_equal(b[25], 0x00);
	assert_int_equal(b[26], 0x07);
	/* Only the header without extras. */
	s.info_valid = s.sks_valid = false;
	s.asc = SCSI_ASC_CAPACITY_CHANGED;
	assert_int_equal(scsi_sense_build(b, true, &s), 8);
	assert_int_equal(b[2], 0x2a);
	assert_int_equal(b[3], 0x09);
	assert_int_equal(b[7], 0);
}

static void round_trip(bool descriptor)
{
	struct scsi_sense s = { .key = SCSI_SK_UNIT_ATTENTION,
				.asc = SCSI_ASC_REPORTED_LUNS_CHANGED,
				.info_valid = true, .info = 77 };
	struct scsi_sense out;
	uint8_t b[SCSI_SENSE_MAX];
	size_t len;

	scsi_sense_set_field(&s, true, 9, 0);
	len = scsi_sense_build(b, descriptor, &s);
	assert_int_equal(scsi_sense_parse(b, len, &out), 0);
	assert_int_equal(out.key, s.key);
	assert_int_equal(out.asc, s.asc);
	assert_true(out.info_valid);
	assert_int_equal(out.info, 77);
	assert_true(out.sks_valid);
	assert_memory_equal(out.sks, s.sks, 3);
}

static void test_parse_round_trips(void **state)
{
	(void)state;
	round_trip(false);
	round_trip(true);
}

static void test_parse_bad_input(void **state)
{
	uint8_t b[SCSI_SENSE_MAX] = { 0 };
	struct scsi_sense s = { .key = SCSI_SK_MEDIUM_ERROR, .asc = SCSI_ASC_WRITE_ERROR }, out;

	(void)state;
	assert_int_equal(scsi_sense_parse(b, 0, &out), -EINVAL);
	assert_int_equal(scsi_sense_parse(b, sizeof(b), &out), -EINVAL); /* response code 0 */
	scsi_sense_build(b, false, &s);
	assert_int_equal(scsi_sense_parse(b, 13, &out), -EINVAL); /* no room for the ASCQ */
	assert_int_equal(scsi_sense_parse(b, 14, &out), 0);
	assert_int_equal(out.asc, SCSI_ASC_WRITE_ERROR);
	assert_false(out.sks_valid);
	/* Deferred errors (71h, 73h) parse as well. */
	b[0] = 0x71;
	assert_int_equal(scsi_sense_parse(b, 18, &out), 0);
	assert_int_equal(out.key, SCSI_SK_MEDIUM_ERROR);
	/* A descriptor whose length runs past the data is ignored, not read beyond. */
	memset(b, 0, sizeof(b));
	b[0] = 0x73;
	b[1] = 0x03;
	b[7] = 200;
	b[8] = 0x00;
	b[9] = 0x0a;
	b[10] = 0x80;
	assert_int_equal(scsi_sense_parse(b, 12, &out), 0);
	assert_false(out.info_valid);
	assert_int_equal(out.key, SCSI_SK_MEDIUM_ERROR);
}

static void test_transport_check_condition(void **state)
{
	struct scsi_task t;
	struct scsi_sense s;

	(void)state;
	memset(&t, 0, sizeof(t));
	scsi_task_set_sense(&t, SCSI_SK_ABORTED_COMMAND, SCSI_ASC_NONE);
	assert_int_equal(t.status, SCSI_STATUS_CHECK_CONDITION);
	assert_int_equal(t.sense_len, 18);
	assert_int_equal(t.sense[0], 0x70);
	assert_int_equal(scsi_sense_parse(t.sense, t.sense_len, &s), 0);
	assert_int_equal(s.key, SCSI_SK_ABORTED_COMMAND);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixed_layout),
		cmocka_unit_test(test_fixed_information),
		cmocka_unit_test(test_descriptor_layout),
		cmocka_unit_test(test_parse_round_trips),
		cmocka_unit_test(test_parse_bad_input),
		cmocka_unit_test(test_transport_check_condition),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
