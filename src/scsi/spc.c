/* Primary commands (SPC-4): TEST UNIT READY, REQUEST SENSE, standard INQUIRY, REPORT LUNS. */
#include <string.h>

#include "scsi/scsi_internal.h"

#define INQUIRY_LEN 66 /* standard data up to and including three version descriptors */

void scsi_pad_copy(uint8_t *dst, const char *src, size_t n)
{
	size_t len = src ? strlen(src) : 0;

	memset(dst, ' ', n);
	if (len)
		memcpy(dst, src, len < n ? len : n);
}

static size_t min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

enum scsi_exec spc_test_unit_ready(struct scsi_task *task)
{
	(void)task;
	return SCSI_EXEC_DONE;
}

/* Reports (and clears) a pending unit attention as parameter data; else NO SENSE. Without a LUN:
 * LOGICAL UNIT NOT SUPPORTED, still with GOOD status (SPC-4 6.39). */
enum scsi_exec spc_request_sense(struct scsi_task *task)
{
	struct scsi_lun *lun = task->priv.lun;
	struct scsi_sense s = { .key = SCSI_SK_NO_SENSE };
	uint8_t buf[SCSI_SENSE_MAX];
	size_t len;

	if (!lun)
		s = (struct scsi_sense){ .key = SCSI_SK_ILLEGAL_REQUEST,
					 .asc = SCSI_ASC_LUN_NOT_SUPPORTED };
	else
		scsi_ua_take(lun, scsi_ua_nexus(lun, task->initiator), &s);
	len = scsi_sense_build(buf, task->cdb[1] & 0x01, &s);
	scsi_task_data_in(task, buf, min_size(len, task->cdb[4]));
	return SCSI_EXEC_DONE;
}

static void inquiry_standard(struct scsi_task *task, size_t alloc)
{
	const struct scsi_lun *lun = task->priv.lun;
	uint8_t d[INQUIRY_LEN] = { 0 };

	/* Peripheral qualifier 011b, type 1Fh: no logical unit at this number. */
	d[0] = lun ? SCSI_TYPE_DISK : 0x7f;
	d[2] = 0x06;        /* SPC-4 */
	d[3] = 0x10 | 0x02; /* HISUP, response data format 2 */
	d[4] = INQUIRY_LEN - 5;
	d[7] = 0x02;        /* CMDQUE */
	scsi_pad_copy(&d[8], SCSI_VENDOR, 8);
	scsi_pad_copy(&d[16], lun ? lun->bdev->product_name : NULL, 16);
	scsi_pad_copy(&d[32], SCSI_REVISION, 4);
	scsi_put_be16(&d[58], 0x00a0); /* SAM-5 */
	scsi_put_be16(&d[60], 0x0460); /* SPC-4 */
	scsi_put_be16(&d[62], 0x04c0); /* SBC-3 */
	scsi_task_data_in(task, d, min_size(sizeof(d), alloc));
}

enum scsi_exec spc_inquiry(struct scsi_task *task)
{
	const uint8_t *cdb = task->cdb;
	size_t alloc = scsi_get_be16(&cdb[3]);

	if (!(cdb[1] & 0x01)) {
		if (cdb[2]) /* a page code without EVPD */
			scsi_task_fail_field(task, true, 2, -1);
		else
			inquiry_standard(task, alloc);
		return SCSI_EXEC_DONE;
	}
	if (!task->priv.lun) {
		scsi_task_fail(task, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_LUN_NOT_SUPPORTED);
		return SCSI_EXEC_DONE;
	}
	return spc_vpd(task, cdb[2], alloc);
}

/* SELECT REPORT 00h and 02h list the ACTIVE LUNs, 01h the well-known ones (there are none). */
enum scsi_exec spc_report_luns(struct scsi_task *task)
{
	const uint8_t *cdb = task->cdb;
	const struct scsi_dev *dev = task->priv.dev;
	uint32_t alloc = scsi_get_be32(&cdb[6]);
	uint8_t d[8 + 8 * SCSI_DEV_MAX_LUNS] = { 0 };
	size_t len = 8;
	struct scsi_nexus *nexus;

	if (cdb[2] > 0x02) {
		scsi_task_fail_field(task, true, 2, -1);
		return SCSI_EXEC_DONE;
	}
	if (alloc < 16) { /* SPC-4 6.33 */
		scsi_task_fail_field(task, true, 6, -1);
		return SCSI_EXEC_DONE;
	}
	for (uint32_t i = 0; cdb[2] != 0x01 && i < SCSI_DEV_MAX_LUNS; i++) {
		if (!dev->luns[i] || dev->luns[i]->state != SCSI_LUN_ACTIVE)
			continue;
		d[len + 1] = (uint8_t)i; /* peripheral device addressing, bus 0 */
		len += 8;
	}
	scsi_put_be32(d, (uint32_t)(len - 8));
	scsi_task_data_in(task, d, min_size(len, alloc));
	/* The initiator has the new inventory now. */
	if (task->priv.lun) {
		nexus = scsi_ua_nexus(task->priv.lun, task->initiator);
		scsi_ua_clear(task->priv.lun, nexus, SCSI_UA_LUNS_CHANGED);
	}
	return SCSI_EXEC_DONE;
}
