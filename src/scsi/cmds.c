/*
 * The supported commands: opcode, CDB length, usage map (what REPORT SUPPORTED OPERATION CODES
 * reports, and what the dispatcher lets through: any other bit set is INVALID FIELD IN CDB) and
 * handler. The last CDB byte is CONTROL: NACA and LINK are not supported, so its map is 0.
 */
#include "scsi/scsi_internal.h"

#define IN SCSI_DIR_FROM_DEV
#define OUT SCSI_DIR_TO_DEV
#define NONE SCSI_DIR_NONE
#define ANY_LUN_NO_UA (SCSI_CMD_ANY_LUN | SCSI_CMD_NO_UA)

/* READ/WRITE byte 1: DPO 0x10, FUA 0x08 (and RARC 0x04 for reads); GROUP NUMBER bits 4-0. */
#define RD1 0x1c
#define WR1 0x18
#define GRP 0x1f
#define FF2 0xff, 0xff
#define FF4 FF2, FF2
#define FF8 FF4, FF4

const struct scsi_cmd scsi_cmds[] = {
	{ 0x00, 0, 6, 0, NONE, { 0x00, 0, 0, 0, 0, 0 }, spc_test_unit_ready },
	{ 0x03, 0, 6, ANY_LUN_NO_UA, IN, { 0x03, 0x01, 0, 0, 0xff, 0 }, spc_request_sense },
	{ 0x08, 0, 6, 0, IN, { 0x08, 0x1f, FF2, 0xff, 0 }, sbc_read_write },
	{ 0x0a, 0, 6, SCSI_CMD_WRITES, OUT, { 0x0a, 0x1f, FF2, 0xff, 0 }, sbc_read_write },
	{ 0x12, 0, 6, ANY_LUN_NO_UA, IN, { 0x12, 0x01, 0xff, FF2, 0 }, spc_inquiry },
	{ 0x15, 0, 6, 0, OUT, { 0x15, 0x10, 0, 0, 0xff, 0 }, mode_select },
	{ 0x1a, 0, 6, 0, IN, { 0x1a, 0x08, 0xff, 0xff, 0xff, 0 }, mode_sense },
	{ 0x1b, 0, 6, 0, NONE, { 0x1b, 0x01, 0, 0x0f, 0xf7, 0 }, sbc_start_stop },
	{ 0x25, 0, 10, 0, IN, { 0x25 }, sbc_read_capacity10 },
	{ 0x28, 0, 10, 0, IN, { 0x28, RD1, FF4, GRP, FF2, 0 }, sbc_read_write },
	{ 0x2a, 0, 10, SCSI_CMD_WRITES, OUT, { 0x2a, WR1, FF4, GRP, FF2, 0 }, sbc_read_write },
	/* VERIFY byte 1: DPO, BYTCHK (bits 2-1). */
	{ 0x2f, 0, 10, 0, OUT, { 0x2f, 0x16, FF4, GRP, FF2, 0 }, sbc_verify },
	{ 0x35, 0, 10, 0, NONE, { 0x35, 0x02, FF4, GRP, FF2, 0 }, sbc_sync_cache },
	/* WRITE SAME byte 1: UNMAP (ANCHOR is not supported). */
	{ 0x41, 0, 10, SCSI_CMD_WRITES, OUT, { 0x41, 0x08, FF4, GRP, FF2, 0 }, sbc_write_same },
	{ 0x42, 0, 10, SCSI_CMD_WRITES, OUT, { 0x42, 0, 0, 0, 0, 0, GRP, FF2, 0 }, sbc_unmap },
	{ 0x55, 0, 10, 0, OUT, { 0x55, 0x10, 0, 0, 0, 0, 0, FF2, 0 }, mode_select },
	{ 0x5a, 0, 10, 0, IN, { 0x5a, 0x18, 0xff, 0xff, 0, 0, 0, FF2, 0 }, mode_sense },
	{ 0x88, 0, 16, 0, IN, { 0x88, RD1, FF8, FF4, GRP, 0 }, sbc_read_write },
	{ 0x8a, 0, 16, SCSI_CMD_WRITES, OUT, { 0x8a, WR1, FF8, FF4, GRP, 0 }, sbc_read_write },
	{ 0x8f, 0, 16, 0, OUT, { 0x8f, 0x16, FF8, FF4, GRP, 0 }, sbc_verify },
	{ 0x91, 0, 16, 0, NONE, { 0x91, 0x02, FF8, FF4, GRP, 0 }, sbc_sync_cache },
	/* WRITE SAME(16) byte 1: UNMAP, NDOB. */
	{ 0x93, 0, 16, SCSI_CMD_WRITES, OUT, { 0x93, 0x09, FF8, FF4, GRP, 0 }, sbc_write_same },
	/* SERVICE ACTION IN(16) / READ CAPACITY(16): the obsolete LBA and PMI must be zero. */
	{ 0x9e, 0x10, 16, SCSI_CMD_HAS_SA, IN, { 0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, FF4, 0, 0 },
	  sbc_read_capacity16 },
	{ 0xa0, 0, 12, ANY_LUN_NO_UA, IN, { 0xa0, 0, 0xff, 0, 0, 0, FF4, 0, 0 }, spc_report_luns },
	/* MAINTENANCE IN / REPORT SUPPORTED OPERATION CODES: RCTD, REPORTING OPTIONS. */
	{ 0xa3, 0x0c, 12, SCSI_CMD_HAS_SA, IN, { 0xa3, 0x0c, 0x87, 0xff, FF2, FF4, 0, 0 },
	  spc_report_opcodes },
	{ 0xa8, 0, 12, 0, IN, { 0xa8, RD1, FF4, FF4, GRP, 0 }, sbc_read_write },
	{ 0xaa, 0, 12, SCSI_CMD_WRITES, OUT, { 0xaa, WR1, FF4, FF4, GRP, 0 }, sbc_read_write },
};

const size_t scsi_cmd_count = sizeof(scsi_cmds) / sizeof(scsi_cmds[0]);

const struct scsi_cmd *scsi_cmd_find(const uint8_t *cdb, bool *sa_mismatch)
{
	*sa_mismatch = false;
	for (size_t i = 0; i < scsi_cmd_count; i++) {
		const struct scsi_cmd *c = &scsi_cmds[i];

		if (c->opcode != cdb[0])
			continue;
		if (!(c->flags & SCSI_CMD_HAS_SA) || (cdb[1] & 0x1f) == c->sa)
			return c;
		*sa_mismatch = true;
	}
	return NULL;
}

bool scsi_cmd_check_cdb(struct scsi_task *task, const struct scsi_cmd *cmd)
{
	for (int i = 1; i < cmd->cdb_len; i++) {
		uint8_t allowed = cmd->usage[i];
		uint8_t stray;

		if (i == 1 && (cmd->flags & SCSI_CMD_HAS_SA))
			allowed |= 0x1f; /* the service action was matched by scsi_cmd_find() */
		stray = task->cdb[i] & (uint8_t)~allowed;
		if (stray) {
			scsi_task_fail_field(task, true, (uint16_t)i, 31 - __builtin_clz(stray));
			return false;
		}
	}
	return true;
}
