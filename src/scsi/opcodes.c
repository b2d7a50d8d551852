/*
 * REPORT SUPPORTED OPERATION CODES (SPC-4 6.35), from the command table: reporting options 000b
 * (all commands), 001b (one opcode without service actions), 010b (opcode and service action)
 * and 011b (either). RCTD adds an all-zero command timeouts descriptor (no timeouts given).
 */
#include <stdlib.h>

#include "scsi/scsi_internal.h"

#define TIMEOUTS_LEN 12
#define ALL_DESC_LEN 8
#define SUPPORTED 0x03
#define NOT_SUPPORTED 0x01

static void timeouts_descriptor(uint8_t *p)
{
	scsi_put_be16(p, TIMEOUTS_LEN - 2);
}

static void report_all(struct scsi_task *task, bool rctd, uint32_t alloc)
{
	size_t each = ALL_DESC_LEN + (rctd ? TIMEOUTS_LEN : 0), len = 4 + each * scsi_cmd_count;
	uint8_t *d = calloc(1, len), *p = d + 4;

	if (!d) {
		task->status = SCSI_STATUS_BUSY;
		return;
	}
	for (size_t i = 0; i < scsi_cmd_count; i++, p += each) {
		const struct scsi_cmd *c = &scsi_cmds[i];
		bool sa = c->flags & SCSI_CMD_HAS_SA;

		p[0] = c->opcode;
		scsi_put_be16(&p[2], sa ? c->sa : 0);
		p[5] = (rctd ? 0x02 : 0) | (sa ? 0x01 : 0); /* CTDP, SERVACTV */
		scsi_put_be16(&p[6], c->cdb_len);
		if (rctd)
			timeouts_descriptor(&p[ALL_DESC_LEN]);
	}
	scsi_put_be32(d, (uint32_t)(len - 4));
	scsi_task_data_in(task, d, len < alloc ? len : alloc);
	free(d);
}

/* Whether opcode has service actions; false also for an unknown opcode. */
static bool opcode_has_sa(uint8_t opcode)
{
	for (size_t i = 0; i < scsi_cmd_count; i++)
		if (scsi_cmds[i].opcode == opcode)
			return scsi_cmds[i].flags & SCSI_CMD_HAS_SA;
	return false;
}

static const struct scsi_cmd *command_find(uint8_t opcode, bool use_sa, uint16_t sa)
{
	for (size_t i = 0; i < scsi_cmd_count; i++) {
		const struct scsi_cmd *c = &scsi_cmds[i];

		if (c->opcode == opcode && (!use_sa || c->sa == sa))
			return c;
	}
	return NULL;
}

static void report_one(struct scsi_task *task, uint8_t options, bool rctd, uint32_t alloc)
{
	const uint8_t *cdb = task->cdb;
	bool has_sa = opcode_has_sa(cdb[3]);
	bool known = command_find(cdb[3], false, 0);
	const struct scsi_cmd *c;
	uint8_t d[4 + 16 + TIMEOUTS_LEN] = { 0 };
	size_t len = 4;

	/* 001b names an opcode without service actions, 010b one with. */
	if ((options == 1 && has_sa) || (options == 2 && known && !has_sa)) {
		scsi_task_fail_field(task, true, 2, 2);
		return;
	}
	c = command_find(cdb[3], has_sa, scsi_get_be16(&cdb[4]));
	d[1] = (rctd ? 0x80 : 0) | (c ? SUPPORTED : NOT_SUPPORTED);
	if (c) {
		scsi_put_be16(&d[2], c->cdb_len);
		for (int i = 0; i < c->cdb_len; i++)
			d[len++] = c->usage[i];
		if (rctd) {
			timeouts_descriptor(&d[len]);
			len += TIMEOUTS_LEN;
		}
	}
	scsi_task_data_in(task, d, len < alloc ? len : alloc);
}

enum scsi_exec spc_report_opcodes(struct scsi_task *task)
{
	uint8_t options = task->cdb[2] & 0x07;
	bool rctd = task->cdb[2] & 0x80;
	uint32_t alloc = scsi_get_be32(&task->cdb[6]);

	if (options == 0)
		report_all(task, rctd, alloc);
	else if (options <= 3)
		report_one(task, options, rctd, alloc);
	else
		scsi_task_fail_field(task, true, 2, 2);
	return SCSI_EXEC_DONE;
}
