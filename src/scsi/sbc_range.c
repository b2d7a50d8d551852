/*
 * Block commands over ranges (SBC-3): VERIFY, WRITE SAME and UNMAP. Their data-out buffer is
 * copied or compared once; everything is validated before the first bdev I/O, so a bad request
 * changes nothing.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/iov.h"
#include "scsi/scsi_internal.h"

#define BOUNCE_BYTES (256u << 10)

static uint64_t bounce_blocks(const struct scsi_lun *lun, uint64_t blocks)
{
	uint64_t max = BOUNCE_BYTES / lun->bdev->block_size;

	if (!max)
		max = 1;
	return blocks < max ? blocks : max;
}

static uint32_t limit_or_max(uint32_t limit)
{
	return limit ? limit : UINT32_MAX;
}

/* BYTCHK 00b: the range is checked, nothing is read. 01b: the blocks are read and compared with
 * the data-out buffer; 11b: each block with the buffer's single block. */
enum scsi_exec sbc_verify(struct scsi_task *task)
{
	struct scsi_task_priv *p = &task->priv;
	uint32_t blocks, bs = p->lun->bdev->block_size;
	uint8_t bytchk = (task->cdb[1] >> 1) & 0x03;
	uint64_t lba, chunk;
	uint16_t len_at;

	sbc_decode(task, &lba, &blocks, &len_at);
	if (bytchk == 2) {
		scsi_task_fail_field(task, true, 1, 2);
		return SCSI_EXEC_DONE;
	}
	if (!sbc_check_range(task, lba, blocks) || !bytchk || !blocks)
		return SCSI_EXEC_DONE;
	if (bytchk == 1 && blocks > sbc_max_transfer_blocks(p->lun)) {
		scsi_task_fail_field(task, true, len_at, -1);
		return SCSI_EXEC_DONE;
	}
	p->want = bytchk == 1 ? (uint64_t)blocks * bs : bs;
	if (p->buf_len < p->want) {
		scsi_task_fail(task, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_IU);
		return SCSI_EXEC_DONE;
	}
	chunk = bounce_blocks(p->lun, blocks);
	if (!sbc_io_bounce(task, chunk)) {
		sbc_io_fail(task, BDEV_IO_READ, -ENOMEM);
		return SCSI_EXEC_DONE;
	}
	task->transferred = p->want;
	p->bytchk = bytchk;
	p->op = BDEV_IO_READ;
	p->lba = lba;
	p->left = blocks;
	p->chunk = (uint32_t)chunk;
	return sbc_io_run(task);
}

static bool all_zero(const uint8_t *p, size_t n)
{
	return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

/*
 * Zeroes (NDOB, or an all-zero block) become UNMAP when the UNMAP bit asks for it and the bdev can
 * (unmapped blocks read back as zeroes), else WRITE ZEROES; any other pattern is written in
 * bounce-buffer chunks. The UNMAP bit with non-zero data writes the data (SBC-3 allows it).
 */
enum scsi_exec sbc_write_same(struct scsi_task *task)
{
	struct scsi_task_priv *p = &task->priv;
	struct bdev *bdev = p->lun->bdev;
	bool unmap = task->cdb[1] & 0x08, ndob = task->cdb[0] == 0x93 && (task->cdb[1] & 0x01);
	uint32_t blocks, bs = bdev->block_size;
	uint64_t lba, chunk;
	uint16_t len_at;
	bool zero;

	sbc_decode(task, &lba, &blocks, &len_at);
	if (!blocks) { /* WSNZ */
		scsi_task_fail_field(task, true, len_at, -1);
		return SCSI_EXEC_DONE;
	}
	if (!sbc_check_range(task, lba, blocks))
		return SCSI_EXEC_DONE;
	chunk = bounce_blocks(p->lun, blocks);
	if (!sbc_io_bounce(task, chunk)) {
		sbc_io_fail(task, BDEV_IO_WRITE, -ENOMEM);
		return SCSI_EXEC_DONE;
	}
	if (ndob)
		memset(p->bounce, 0, bs);
	else if (!scsi_task_data_out(task, p->bounce, bs))
		return SCSI_EXEC_DONE;
	zero = all_zero(p->bounce, bs);
	p->lba = lba;
	p->left = blocks;
	/* Unmapping stands in for writing zeroes only where unmapped blocks read back as zeroes. */
	if (zero && unmap && bdev->unmap_reads_zero && bdev_io_type_supported(bdev, BDEV_IO_UNMAP)) {
		p->op = BDEV_IO_UNMAP;
		p->chunk = limit_or_max(bdev->max_unmap_blocks);
	} else if (zero && bdev_io_type_supported(bdev, BDEV_IO_WRITE_ZEROES)) {
		p->op = BDEV_IO_WRITE_ZEROES;
		p->chunk = limit_or_max(bdev->max_write_zeroes_blocks);
	} else {
		p->op = BDEV_IO_WRITE;
		p->chunk = (uint32_t)chunk;
		for (uint64_t i = 1; i < chunk; i++)
			memcpy(p->bounce + i * bs, p->bounce, bs);
	}
	if (p->op != BDEV_IO_WRITE) { /* no data to send */
		free(p->bounce);
		p->bounce = NULL;
	}
	return sbc_io_run(task);
}

static void fail_list_length(struct scsi_task *task)
{
	scsi_task_fail(task, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_PARAMETER_LIST_LENGTH);
}

/* Every descriptor inside the LUN and within the unmap limit; false after failing the task. */
static bool unmap_check(struct scsi_task *task, const uint8_t *ranges, uint32_t n)
{
	uint32_t max = limit_or_max(task->priv.lun->bdev->max_unmap_blocks);

	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *r = ranges + 16 * i;

		if (scsi_get_be32(r + 8) > max) {
			scsi_task_fail_field(task, false, (uint16_t)(8 + 16 * i + 8), -1);
			return false;
		}
		if (!sbc_check_range(task, scsi_get_be64(r), scsi_get_be32(r + 8)))
			return false;
	}
	return true;
}

enum scsi_exec sbc_unmap(struct scsi_task *task)
{
	struct scsi_task_priv *p = &task->priv;
	size_t len = scsi_get_be16(&task->cdb[7]);
	uint8_t hdr[8];
	uint32_t n;

	if (!bdev_io_type_supported(p->lun->bdev, BDEV_IO_UNMAP)) {
		scsi_task_fail(task, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_INVALID_OPCODE);
		return SCSI_EXEC_DONE;
	}
	if (!len)
		return SCSI_EXEC_DONE;
	if (len < sizeof(hdr)) {
		fail_list_length(task);
		return SCSI_EXEC_DONE;
	}
	p->want = len;
	if (p->buf_len < len) {
		scsi_task_fail(task, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_IU);
		return SCSI_EXEC_DONE;
	}
	iov_to_buf(task->iov, task->iovcnt, 0, hdr, sizeof(hdr));
	/* BLOCK DESCRIPTOR DATA LENGTH: whole 16-byte descriptors inside the list. */
	if (scsi_get_be16(&hdr[2]) > len - sizeof(hdr)) {
		fail_list_length(task);
		return SCSI_EXEC_DONE;
	}
	n = scsi_get_be16(&hdr[2]) / 16;
	if (n > SCSI_UNMAP_MAX_DESCRIPTORS) {
		scsi_task_fail_field(task, false, 2, -1);
		return SCSI_EXEC_DONE;
	}
	task->transferred = len;
	if (!n)
		return SCSI_EXEC_DONE;
	p->ranges = malloc(16u * n);
	if (!p->ranges) {
		sbc_io_fail(task, BDEV_IO_UNMAP, -ENOMEM);
		return SCSI_EXEC_DONE;
	}
	iov_to_buf(task->iov, task->iovcnt, sizeof(hdr), p->ranges, 16u * n);
	if (!unmap_check(task, p->ranges, n))
		return SCSI_EXEC_DONE;
	p->nranges = n;
	p->op = BDEV_IO_UNMAP;
	p->chunk = limit_or_max(p->lun->bdev->max_unmap_blocks);
	return sbc_io_run(task);
}
