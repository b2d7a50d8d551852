/* Sense data (SPC-4 4.5): fixed (0x70) and descriptor (0x72) formats; failing a task with it. */
#include <errno.h>
#include <string.h>

#include "scsi/scsi_internal.h"

#define SENSE_FIXED_LEN 18
#define SENSE_DESC_HDR 8
#define DESC_INFO 0x00 /* information descriptor, 12 bytes */
#define DESC_SKS 0x02  /* sense key specific descriptor, 8 bytes */

void scsi_sense_set_field(struct scsi_sense *s, bool in_cdb, uint16_t byte, int bit)
{
	s->sks_valid = true;
	s->sks[0] = 0x80 | (in_cdb ? 0x40 : 0) | (bit >= 0 ? 0x08 | (bit & 7) : 0);
	scsi_put_be16(&s->sks[1], byte);
}

static size_t sense_build_fixed(uint8_t *b, const struct scsi_sense *s)
{
	/* INFORMATION is 4 bytes here: a larger value is not VALID. */
	bool info = s->info_valid && s->info <= UINT32_MAX;

	b[0] = 0x70 | (info ? 0x80 : 0);
	b[2] = s->key & 0x0f;
	if (info)
		scsi_put_be32(&b[3], (uint32_t)s->info);
	b[7] = SENSE_FIXED_LEN - 8;
	b[12] = (uint8_t)(s->asc >> 8);
	b[13] = (uint8_t)s->asc;
	if (s->sks_valid)
		memcpy(&b[15], s->sks, 3);
	return SENSE_FIXED_LEN;
}

static size_t sense_build_descriptor(uint8_t *b, const struct scsi_sense *s)
{
	size_t len = SENSE_DESC_HDR;

	b[0] = 0x72;
	b[1] = s->key & 0x0f;
	b[2] = (uint8_t)(s->asc >> 8);
	b[3] = (uint8_t)s->asc;
	if (s->info_valid) {
		b[len] = DESC_INFO;
		b[len + 1] = 0x0a;
		b[len + 2] = 0x80; /* VALID */
		scsi_put_be64(&b[len + 4], s->info);
		len += 12;
	}
	if (s->sks_valid) {
		b[len] = DESC_SKS;
		b[len + 1] = 0x06;
		memcpy(&b[len + 4], s->sks, 3);
		len += 8;
	}
	b[7] = (uint8_t)(len - SENSE_DESC_HDR);
	return len;
}

size_t scsi_sense_build(uint8_t *buf, bool descriptor, const struct scsi_sense *s)
{
	memset(buf, 0, SCSI_SENSE_MAX);
	return descriptor ? sense_build_descriptor(buf, s) : sense_build_fixed(buf, s);
}

static void sense_parse_descriptors(const uint8_t *b, size_t len, struct scsi_sense *out)
{
	size_t end = SENSE_DESC_HDR + b[7], off = SENSE_DESC_HDR;

	if (end > len)
		end = len;
	while (off + 2 <= end && off + 2 + b[off + 1] <= end) {
		const uint8_t *d = &b[off];

		if (d[0] == DESC_INFO && d[1] == 0x0a && (d[2] & 0x80)) {
			out->info_valid = true;
			out->info = scsi_get_be64(&d[4]);
		} else if (d[0] == DESC_SKS && d[1] == 0x06 && (d[4] & 0x80)) {
			out->sks_valid = true;
			memcpy(out->sks, &d[4], 3);
		}
		off += 2 + d[1];
	}
}

int scsi_sense_parse(const uint8_t *b, size_t len, struct scsi_sense *out)
{
	uint8_t code = len ? b[0] & 0x7f : 0;

	memset(out, 0, sizeof(*out));
	if ((code == 0x70 || code == 0x71) && len >= 14) {
		out->key = b[2] & 0x0f;
		out->asc = scsi_get_be16(&b[12]);
		if (b[0] & 0x80) {
			out->info_valid = true;
			out->info = scsi_get_be32(&b[3]);
		}
		if (len >= SENSE_FIXED_LEN && (b[15] & 0x80)) {
			out->sks_valid = true;
			memcpy(out->sks, &b[15], 3);
		}
		return 0;
	}
	if ((code == 0x72 || code == 0x73) && len >= 4) {
		out->key = b[1] & 0x0f;
		out->asc = scsi_get_be16(&b[2]);
		if (len >= SENSE_DESC_HDR)
			sense_parse_descriptors(b, len, out);
		return 0;
	}
	return -EINVAL;
}

static void task_check_condition(struct scsi_task *task, bool descriptor,
				 const struct scsi_sense *s)
{
	task->status = SCSI_STATUS_CHECK_CONDITION;
	task->sense_len = (uint8_t)scsi_sense_build(task->sense, descriptor, s);
}

/* In the format the LUN's control mode page asks for (fixed without a LUN). */
void scsi_task_fail_sense(struct scsi_task *task, const struct scsi_sense *s)
{
	task_check_condition(task, task->priv.lun && task->priv.lun->d_sense, s);
}

void scsi_task_fail(struct scsi_task *task, uint8_t key, uint16_t asc)
{
	struct scsi_sense s = { .key = key, .asc = asc };

	scsi_task_fail_sense(task, &s);
}

void scsi_task_fail_field(struct scsi_task *task, bool in_cdb, uint16_t byte, int bit)
{
	struct scsi_sense s = {
		.key = SCSI_SK_ILLEGAL_REQUEST,
		.asc = in_cdb ? SCSI_ASC_INVALID_FIELD_IN_CDB : SCSI_ASC_INVALID_FIELD_IN_PARAM,
	};

	scsi_sense_set_field(&s, in_cdb, byte, bit);
	scsi_task_fail_sense(task, &s);
}

void scsi_task_set_sense(struct scsi_task *task, uint8_t key, uint16_t asc)
{
	struct scsi_sense s = { .key = key, .asc = asc };

	task_check_condition(task, false, &s); /* the task never reached a LUN */
}
