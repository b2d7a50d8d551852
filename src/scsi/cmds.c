/*
 * The supported commands: opcode, CDB length, usage map (what REPORT SUPPORTED OPERATION CODES
 * reports, and what the dispatcher lets through: any other bit set is INVALID FIELD IN CDB) and
 * handler. The last CDB byte is CONTROL: NACA and LINK are not supported, so its map is 0.
 */
#include <string.h>

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

#define CMD_COUNT (sizeof(scsi_cmds) / sizeof(scsi_cmds[0]))

const size_t scsi_cmd_count = CMD_COUNT;

/* Built once from the table, so that dispatching a command needs neither a scan of the table nor
 * a loop over its CDB: the first entry of each opcode (index + 1, 0: none; entries of one opcode
 * are adjacent), and each entry's rejected CDB bits as two words. */
static uint8_t cmd_first[256];
static uint64_t cmd_reject[CMD_COUNT][2];

static uint8_t cmd_allowed(const struct scsi_cmd *cmd, int i)
{
	/* The opcode and, where there is one, the service action are matched by scsi_cmd_find(). */
	if (i == 0)
		return 0xff;
	if (i == 1 && (cmd->flags & SCSI_CMD_HAS_SA))
		return cmd->usage[1] | 0x1f;
	return i < cmd->cdb_len ? cmd->usage[i] : 0xff;
}

__attribute__((constructor)) static void cmd_index_build(void)
{
	for (size_t c = CMD_COUNT; c-- > 0;) {
		uint8_t reject[16];

		cmd_first[scsi_cmds[c].opcode] = (uint8_t)(c + 1);
		for (int i = 0; i < 16; i++)
			reject[i] = (uint8_t)~cmd_allowed(&scsi_cmds[c], i);
		memcpy(cmd_reject[c], reject, sizeof(reject));
	}
}

const struct scsi_cmd *scsi_cmd_find(const uint8_t *cdb, bool *sa_mismatch)
{
	unsigned first = cmd_first[cdb[0]];

	*sa_mismatch = false;
	for (size_t i = first ? first - 1 : CMD_COUNT; i < CMD_COUNT; i++) {
		const struct scsi_cmd *c = &scsi_cmds[i];

		if (c->opcode != cdb[0])
			break;
		if (!(c->flags & SCSI_CMD_HAS_SA) || (cdb[1] & 0x1f) == c->sa)
			return c;
		*sa_mismatch = true;
	}
	return NULL;
}

bool scsi_cmd_check_cdb(struct scsi_task *task, const struct scsi_cmd *cmd)
{
	const uint64_t *reject = cmd_reject[cmd - scsi_cmds];
	uint64_t w[2];
	uint8_t stray;
	int i;

	_Static_assert(SCSI_CDB_MAX >= sizeof(w), "CDB holds the words checked");
	memcpy(w, task->cdb, sizeof(w));
	if (!((w[0] & reject[0]) | (w[1] & reject[1])))
		return true;
	/* Some byte in 1..cdb_len-1 has a stray bit: the first one goes into the sense. */
	for (i = 1; !(stray = task->cdb[i] & (uint8_t)~cmd_allowed(cmd, i)); i++)
		;
	scsi_task_fail_field(task, true, (uint16_t)i, 31 - __builtin_clz(stray));
	return false;
}
