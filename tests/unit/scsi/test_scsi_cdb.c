/*
 * CDB decoding: every supported command with good fields, every field bit it does not use
 * (INVALID FIELD IN CDB pointing at that bit), unknown opcodes and service actions, commands to a
 * missing LUN, and REPORT SUPPORTED OPERATION CODES against the table.
 */
#include "scsi_test.h"

#include "scsi/scsi_internal.h"

#include <stdlib.h>
#include <string.h>

#define BLOCKS 64
#define BS 512

struct good_cdb {
	uint8_t cdb[16];
	enum scsi_dir dir;
	size_t len;
};

/* One valid CDB per table entry, using the optional bits where there are some. */
static const struct good_cdb good[] = {
	{ { 0x00 }, SCSI_DIR_NONE, 0 },
	{ { 0x03, 0x01, 0, 0, 32, 0 }, SCSI_DIR_FROM_DEV, 32 },
	{ { 0x08, 0x00, 0x00, 0x03, 1, 0 }, SCSI_DIR_FROM_DEV, BS },
	{ { 0x0a, 0x00, 0x00, 0x03, 1, 0 }, SCSI_DIR_TO_DEV, BS },
	{ { 0x12, 0x00, 0, 0, 96, 0 }, SCSI_DIR_FROM_DEV, 96 },
	{ { 0x15, 0x10, 0, 0, 0, 0 }, SCSI_DIR_TO_DEV, 0 },
	{ { 0x1a, 0x08, 0x3f, 0, 255, 0 }, SCSI_DIR_FROM_DEV, 255 },
	{ { 0x1b, 0x01, 0, 0, 0x01, 0 }, SCSI_DIR_NONE, 0 },
	{ { 0x25 }, SCSI_DIR_FROM_DEV, 8 },
	{ { 0x28, 0x1c, 0, 0, 0, 5, 0x01, 0, 1, 0 }, SCSI_DIR_FROM_DEV, BS },
	{ { 0x2a, 0x18, 0, 0, 0, 5, 0x01, 0, 1, 0 }, SCSI_DIR_TO_DEV, BS },
	{ { 0x2f, 0x10, 0, 0, 0, 5, 0, 0, 4, 0 }, SCSI_DIR_NONE, 0 },
	{ { 0x35, 0x02, 0, 0, 0, 0, 0, 0, 0, 0 }, SCSI_DIR_NONE, 0 },
	{ { 0x41, 0x00, 0, 0, 0, 8, 0, 0, 2, 0 }, SCSI_DIR_TO_DEV, BS },
	{ { 0x42, 0x00, 0, 0, 0, 0, 0, 0, 0, 0 }, SCSI_DIR_NONE, 0 },
	{ { 0x55, 0x10, 0, 0, 0, 0, 0, 0, 0, 0 }, SCSI_DIR_TO_DEV, 0 },
	{ { 0x5a, 0x10, 0x0a, 0, 0, 0, 0, 0, 64, 0 }, SCSI_DIR_FROM_DEV, 64 },
	{ { 0x88, 0x08, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 2, 0, 0 }, SCSI_DIR_FROM_DEV, 2 * BS },
	{ { 0x8a, 0x08, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 2, 0, 0 }, SCSI_DIR_TO_DEV, 2 * BS },
	{ { 0x8f, 0x00, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 2, 0, 0 }, SCSI_DIR_NONE, 0 },
	{ { 0x91, 0x00, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 2, 0, 0 }, SCSI_DIR_NONE, 0 },
	{ { 0x93, 0x01, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 2, 0, 0 }, SCSI_DIR_NONE, 0 },
	{ { 0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0 }, SCSI_DIR_FROM_DEV, 32 },
	{ { 0xa0, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 16, 0, 0 }, SCSI_DIR_FROM_DEV, 16 },
	{ { 0xa3, 0x0c, 0x00, 0, 0, 0, 0, 0, 0x10, 0, 0, 0 }, SCSI_DIR_FROM_DEV, 4096 },
	{ { 0xa8, 0x1c, 0, 0, 0, 7, 0, 0, 0, 1, 0, 0 }, SCSI_DIR_FROM_DEV, BS },
	{ { 0xaa, 0x08, 0, 0, 0, 7, 0, 0, 0, 1, 0, 0 }, SCSI_DIR_TO_DEV, BS },
};

#define GOOD_COUNT (sizeof(good) / sizeof(good[0]))

static void test_every_command_accepts_good_fields(void **state)
{
	struct st_target t;
	struct st_task st;
	uint8_t *buf = calloc(1, 4096);

	(void)state;
	st_target_up(&t, BLOCKS, BS);
	/* The list covers the table. */
	assert_int_equal(GOOD_COUNT, scsi_cmd_count);
	for (size_t i = 0; i < GOOD_COUNT; i++) {
		bool sa_mismatch;

		assert_ptr_equal(scsi_cmd_find(good[i].cdb, &sa_mismatch), &scsi_cmds[i]);
		memset(buf, 0, 4096);
		st_exec(t.dev, &st, 0, good[i].cdb, 16, good[i].dir, good[i].len ? buf : NULL,
			good[i].len);
		if (st.t.status != SCSI_STATUS_GOOD)
			fail_msg("opcode %02x: status %d sense key %x asc %04x", good[i].cdb[0],
				 st.t.status, st_sense(&st).key, st_sense(&st).asc);
	}
	st_target_down(&t);
	free(buf);
}

static void test_every_unused_bit_is_an_invalid_field(void **state)
{
	struct st_target t;
	struct st_task st;
	int checked = 0;

	(void)state;
	st_target_up(&t, BLOCKS, BS);
	for (size_t c = 0; c < scsi_cmd_count; c++) {
		const struct scsi_cmd *cmd = &scsi_cmds[c];

		for (int byte = 1; byte < cmd->cdb_len; byte++) {
			uint8_t allowed = cmd->usage[byte];

			if (byte == 1 && (cmd->flags & SCSI_CMD_HAS_SA))
				allowed |= 0x1f;
			for (int bit = 0; bit < 8; bit++) {
				uint8_t cdb[16];
				struct scsi_sense s;

				if (allowed & (1 << bit))
					continue;
				memcpy(cdb, good[c].cdb, sizeof(cdb));
				cdb[byte] |= (uint8_t)(1 << bit);
				st_exec(t.dev, &st, 0, cdb, sizeof(cdb), SCSI_DIR_NONE, NULL, 0);
				st_assert_sense(&st, SCSI_SK_ILLEGAL_REQUEST,
						SCSI_ASC_INVALID_FIELD_IN_CDB);
				s = st_sense(&st);
				assert_true(s.sks_valid);
				assert_int_equal(s.sks[0], 0x80 | 0x40 | 0x08 | bit);
				assert_int_equal(s.sks[1] << 8 | s.sks[2], byte);
				checked++;
			}
		}
	}
	/* NACA and LINK in every CONTROL byte, the reserved bits elsewhere. */
	assert_true(checked > 400);
	st_target_down(&t);
}

static void test_unknown_opcodes_and_service_actions(void **state)
{
	static const uint8_t unknown[] = { 0x01, 0x02, 0x04, 0x1d, 0x3b, 0x5e, 0x7f, 0x89, 0xa2,
					   0xc0, 0xff };
	struct st_target t;
	struct st_task st;
	uint8_t cdb[16] = { 0 };
	struct scsi_sense s;

	(void)state;
	st_target_up(&t, BLOCKS, BS);
	for (size_t i = 0; i < sizeof(unknown); i++) {
		cdb[0] = unknown[i];
		st_exec(t.dev, &st, 0, cdb, sizeof(cdb), SCSI_DIR_NONE, NULL, 0);
		st_assert_sense(&st, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_INVALID_OPCODE);
	}
	/* SERVICE ACTION IN with GET LBA STATUS (12h), MAINTENANCE IN with 0Ah: unsupported. */
	cdb[0] = 0x9e;
	cdb[1] = 0x12;
	st_exec(t.dev, &st, 0, cdb, sizeof(cdb), SCSI_DIR_NONE, NULL, 0);
	st_assert_sense(&st, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB);
	s = st_sense(&st);
	assert_int_equal(s.sks[0], 0x80 | 0x40 | 0x08 | 4);
	assert_int_equal(s.sks[2], 1);
	cdb[0] = 0xa3;
	cdb[1] = 0x0a;
	st_exec(t.dev, &st, 0, cdb, sizeof(cdb), SCSI_DIR_NONE, NULL, 0);
	st_assert_sense(&st, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB);
	st_target_down(&t);
}

static void test_field_decoding(void **state)
{
	struct st_target t;
	struct st_task st;
	uint8_t buf[BS * 256], cdb[16];

	(void)state;
	st_target_up(&t, 512, BS);
	/* READ(6) and WRITE(6): a length of 0 is 256 blocks; the LBA has 21 bits. */
	st_cdb_rw(cdb, 0x08, 0x10, 0);
	assert_int_equal(st_exec(t.dev, &st, 0, cdb, 6, SCSI_DIR_FROM_DEV, buf, sizeof(buf)), 0);
	assert_int_equal(st.t.transferred, 256 * BS);
	st_cdb_rw(cdb, 0x08, 0x1fffff, 1);
	st_exec(t.dev, &st, 0, cdb, 6, SCSI_DIR_FROM_DEV, buf, BS);
	st_assert_sense(&st, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE);
	/* INQUIRY: a page code needs EVPD. */
	memcpy(cdb, (uint8_t[]){ 0x12, 0x00, 0x80, 0, 64, 0 }, 6);
	st_exec(t.dev, &st, 0, cdb, 6, SCSI_DIR_FROM_DEV, buf, 64);
	st_assert_sense(&st, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB);
	assert_int_equal(st_sense(&st).sks[2], 2);
	/* REPORT LUNS: SELECT REPORT 03h is unknown; an allocation length under 16 is refused. */
	memcpy(cdb, (uint8_t[]){ 0xa0, 0, 0x03, 0, 0, 0, 0, 0, 1, 0, 0, 0 }, 12);
	st_exec(t.dev, &st, 0, cdb, 12, SCSI_DIR_FROM_DEV, buf, 256);
	st_assert_sense(&st, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB);
	memcpy(cdb, (uint8_t[]){ 0xa0, 0, 0x00, 0, 0, 0, 0, 0, 0, 15, 0, 0 }, 12);
	st_exec(t.dev, &st, 0, cdb, 12, SCSI_DIR_FROM_DEV, buf, 256);
	st_assert_sense(&st, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB);
	assert_int_equal(st_sense(&st).sks[2], 6);
	/* VERIFY: BYTCHK 10b is reserved. */
	st_cdb_rw(cdb, 0x2f, 0, 1);
	cdb[1] = 0x04;
	st_exec(t.dev, &st, 0, cdb, 10, SCSI_DIR_TO_DEV, buf, BS);
	st_assert_sense(&st, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB);
	/* REPORT SUPPORTED OPERATION CODES: reporting options 4..7 are reserved. */
	memcpy(cdb, (uint8_t[]){ 0xa3, 0x0c, 0x04, 0, 0, 0, 0, 0, 1, 0, 0, 0 }, 12);
	st_exec(t.dev, &st, 0, cdb, 12, SCSI_DIR_FROM_DEV, buf, 256);
	st_assert_sense(&st, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB);
	st_target_down(&t);
}

static void test_missing_lun(void **state)
{
	static const uint8_t tur[6] = { 0 }, inquiry[6] = { 0x12, 0, 0, 0, 36, 0 };
	static const uint8_t vpd[6] = { 0x12, 1, 0x80, 0, 64, 0 };
	static const uint8_t sense[6] = { 0x03, 0, 0, 0, 18, 0 };
	static const uint8_t luns[12] = { 0xa0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0 };
	struct st_target t;
	struct st_task st;
	uint8_t buf[256];

	(void)state;
	st_target_up(&t, BLOCKS, BS);
	st_exec(t.dev, &st, 5, tur, 6, SCSI_DIR_NONE, NULL, 0);
	st_assert_sense(&st, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_LUN_NOT_SUPPORTED);
	st_exec(t.dev, &st, 1u << 20, tur, 6, SCSI_DIR_NONE, NULL, 0);
	st_assert_sense(&st, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_LUN_NOT_SUPPORTED);
	/* INQUIRY answers: peripheral qualifier 011b, device type 1Fh. */
	assert_int_equal(st_exec(t.dev, &st, 5, inquiry, 6, SCSI_DIR_FROM_DEV, buf, 36), 0);
	assert_int_equal(buf[0], 0x7f);
	assert_int_equal(st.t.transferred, 36);
	st_exec(t.dev, &st, 5, vpd, 6, SCSI_DIR_FROM_DEV, buf, 64);
	st_assert_sense(&st, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_LUN_NOT_SUPPORTED);
	/* REQUEST SENSE: GOOD, and the data says the LUN is not supported. */
	assert_int_equal(st_exec(t.dev, &st, 5, sense, 6, SCSI_DIR_FROM_DEV, buf, 18), 0);
	assert_int_equal(buf[2], SCSI_SK_ILLEGAL_REQUEST);
	assert_int_equal(buf[12], 0x25);
	/* REPORT LUNS lists the target's LUNs from any LUN number. */
	assert_int_equal(st_exec(t.dev, &st, 9, luns, 12, SCSI_DIR_FROM_DEV, buf, 256), 0);
	assert_int_equal(buf[3], 8);
	assert_int_equal(st.t.transferred, 16);
	st_target_down(&t);
}

static void test_buffer_in_the_wrong_direction_is_not_touched(void **state)
{
	static const uint8_t inquiry[6] = { 0x12, 0, 0, 0, 36, 0 };
	struct st_target t;
	struct st_task st;
	uint8_t buf[36];

	(void)state;
	st_target_up(&t, BLOCKS, BS);
	memset(buf, 0xaa, sizeof(buf));
	assert_int_equal(st_exec(t.dev, &st, 0, inquiry, 6, SCSI_DIR_TO_DEV, buf, sizeof(buf)), 0);
	for (size_t i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0xaa);
	assert_int_equal(st.t.transferred, 0);
	assert_int_equal(st.t.residual_kind, SCSI_RESIDUAL_OVERFLOW);
	assert_int_equal(st.t.residual, 36);
	st_target_down(&t);
}

static void test_read_only_lun_refuses_writes(void **state)
{
	struct st_disk d;
	struct scsi_dev *dev;
	struct scsi_lun_opts opts;
	struct st_task st;
	uint8_t buf[BS] = { 0 }, cdb[16];

	(void)state;
	st_disk_malloc(&d, "RO", BLOCKS, BS, NULL);
	opts = st_lun_opts(&d, true);
	assert_int_equal(scsi_dev_create("ro", 3, &dev), 0);
	assert_string_equal(scsi_dev_name(dev), "ro");
	assert_int_equal(scsi_dev_id(dev), 3);
	assert_int_equal(scsi_dev_add_lun(dev, 0, d.desc, d.ch, &opts), 0);
	st_clear_ua(dev, 0, ST_INITIATOR);
	static const uint8_t writes[] = { 0x0a, 0x2a, 0xaa, 0x8a, 0x41, 0x93 };
	for (size_t i = 0; i < sizeof(writes); i++) {
		size_t len = st_cdb_rw(cdb, writes[i], 0, 1);

		st_exec(dev, &st, 0, cdb, len, SCSI_DIR_TO_DEV, buf, BS);
		st_assert_sense(&st, SCSI_SK_DATA_PROTECT, SCSI_ASC_WRITE_PROTECTED);
	}
	memcpy(cdb, (uint8_t[]){ 0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0 }, 10);
	st_exec(dev, &st, 0, cdb, 10, SCSI_DIR_TO_DEV, buf, 24);
	st_assert_sense(&st, SCSI_SK_DATA_PROTECT, SCSI_ASC_WRITE_PROTECTED);
	/* Reads work; MODE SENSE shows WP. */
	st_cdb_rw(cdb, 0x28, 0, 1);
	assert_int_equal(st_exec(dev, &st, 0, cdb, 10, SCSI_DIR_FROM_DEV, buf, BS), 0);
	memcpy(cdb, (uint8_t[]){ 0x1a, 0x08, 0x3f, 0, 64, 0 }, 6);
	assert_int_equal(st_exec(dev, &st, 0, cdb, 6, SCSI_DIR_FROM_DEV, buf, 64), 0);
	assert_int_equal(buf[2] & 0x80, 0x80);
	scsi_dev_destroy(dev, NULL, NULL);
	assert_int_equal(d.lun_removed, 1);
	st_disk_close(&d);
}

static void test_report_opcodes_all(void **state)
{
	struct st_target t;
	struct st_task st;
	uint8_t cdb[12] = { 0xa3, 0x0c, 0x00, 0, 0, 0, 0, 0, 0x10, 0, 0, 0 };
	uint8_t *buf = calloc(1, 4096);

	(void)state;
	st_target_up(&t, BLOCKS, BS);
	assert_int_equal(st_exec(t.dev, &st, 0, cdb, 12, SCSI_DIR_FROM_DEV, buf, 4096), 0);
	assert_int_equal((buf[0] << 24 | buf[1] << 16 | buf[2] << 8 | buf[3]), 8 * scsi_cmd_count);
	for (size_t i = 0; i < scsi_cmd_count; i++) {
		const uint8_t *d = buf + 4 + 8 * i;

		assert_int_equal(d[0], scsi_cmds[i].opcode);
		assert_int_equal(d[5], scsi_cmds[i].flags & SCSI_CMD_HAS_SA ? 0x01 : 0);
		assert_int_equal(d[7], scsi_cmds[i].cdb_len);
		if (scsi_cmds[i].flags & SCSI_CMD_HAS_SA)
			assert_int_equal(d[3], scsi_cmds[i].sa);
	}
	/* RCTD: 20-byte descriptors with CTDP and a timeouts descriptor of length 0Ah. */
	cdb[2] = 0x80;
	assert_int_equal(st_exec(t.dev, &st, 0, cdb, 12, SCSI_DIR_FROM_DEV, buf, 4096), 0);
	assert_int_equal(buf[3] | buf[2] << 8, 20 * scsi_cmd_count);
	assert_int_equal(buf[4 + 5] & 0x02, 0x02);
	assert_int_equal(buf[4 + 8 + 1], 0x0a);
	assert_int_equal(buf[4 + 20], scsi_cmds[1].opcode);
	/* The allocation length clips. */
	cdb[2] = 0;
	cdb[8] = 0;
	cdb[9] = 12;
	assert_int_equal(st_exec(t.dev, &st, 0, cdb, 12, SCSI_DIR_FROM_DEV, buf, 4096), 0);
	assert_int_equal(st.t.transferred, 12);
	st_target_down(&t);
	free(buf);
}

static void test_report_opcodes_one(void **state)
{
	struct st_target t;
	struct st_task st;
	uint8_t cdb[12] = { 0xa3, 0x0c, 0x01, 0x28, 0, 0, 0, 0, 1, 0, 0, 0 }, buf[256];
	const struct scsi_cmd *read10 = NULL, *rc16 = NULL;

	(void)state;
	for (size_t i = 0; i < scsi_cmd_count; i++) {
		if (scsi_cmds[i].opcode == 0x28)
			read10 = &scsi_cmds[i];
		if (scsi_cmds[i].opcode == 0x9e)
			rc16 = &scsi_cmds[i];
	}
	st_target_up(&t, BLOCKS, BS);
	/* 001b, READ(10): supported, usage map as in the table. */
	assert_int_equal(st_exec(t.dev, &st, 0, cdb, 12, SCSI_DIR_FROM_DEV, buf, 256), 0);
	assert_int_equal(buf[1] & 0x07, 0x03);
	assert_int_equal(buf[3], 10);
	assert_memory_equal(&buf[4], read10->usage, 10);
	assert_int_equal(st.t.transferred, 14);
	/* 001b, an unknown opcode: "not supported". */
	cdb[3] = 0x02;
	assert_int_equal(st_exec(t.dev, &st, 0, cdb, 12, SCSI_DIR_FROM_DEV, buf, 256), 0);
	assert_int_equal(buf[1] & 0x07, 0x01);
	assert_int_equal(st.t.transferred, 4);
	/* 001b for an opcode with service actions, 010b for one without: INVALID FIELD. */
	cdb[3] = 0x9e;
	st_exec(t.dev, &st, 0, cdb, 12, SCSI_DIR_FROM_DEV, buf, 256);
	st_assert_sense(&st, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB);
	cdb[2] = 0x02;
	cdb[3] = 0x28;
	st_exec(t.dev, &st, 0, cdb, 12, SCSI_DIR_FROM_DEV, buf, 256);
	st_assert_sense(&st, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_CDB);
	/* 010b, READ CAPACITY(16): supported with its service action in the usage map; another
	 * service action of the same opcode is not. */
	cdb[3] = 0x9e;
	cdb[5] = 0x10;
	assert_int_equal(st_exec(t.dev, &st, 0, cdb, 12, SCSI_DIR_FROM_DEV, buf, 256), 0);
	assert_int_equal(buf[1] & 0x07, 0x03);
	assert_memory_equal(&buf[4], rc16->usage, 16);
	assert_int_equal(buf[5], 0x10);
	cdb[5] = 0x11;
	assert_int_equal(st_exec(t.dev, &st, 0, cdb, 12, SCSI_DIR_FROM_DEV, buf, 256), 0);
	assert_int_equal(buf[1] & 0x07, 0x01);
	/* 011b takes either, RCTD appends the timeouts descriptor. */
	cdb[2] = 0x83;
	cdb[3] = 0x28;
	assert_int_equal(st_exec(t.dev, &st, 0, cdb, 12, SCSI_DIR_FROM_DEV, buf, 256), 0);
	assert_int_equal(buf[1], 0x80 | 0x03);
	assert_int_equal(st.t.transferred, 4 + 10 + 12);
	assert_int_equal(buf[15], 0x0a);
	st_target_down(&t);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, st_setup, st_teardown)
	const struct CMUnitTest tests[] = {
		T(test_every_command_accepts_good_fields),
		T(test_every_unused_bit_is_an_invalid_field),
		T(test_unknown_opcodes_and_service_actions),
		T(test_field_decoding),
		T(test_missing_lun),
		T(test_buffer_in_the_wrong_direction_is_not_touched),
		T(test_read_only_lun_refuses_writes),
		T(test_report_opcodes_all),
		T(test_report_opcodes_one),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
