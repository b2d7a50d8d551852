/* Block commands (SBC-3): READ CAPACITY, READ/WRITE, SYNCHRONIZE CACHE, START STOP UNIT. */
#include "scsi/scsi_internal.h"

void sbc_decode(const struct scsi_task *task, uint64_t *lba, uint32_t *blocks, uint16_t *len_at)
{
	const uint8_t *c = task->cdb;

	switch (task->priv.cmd->cdb_len) {
	case 6: /* 21-bit LBA; a length of 0 means 256 blocks */
		*lba = (uint64_t)(c[1] & 0x1f) << 16 | scsi_get_be16(&c[2]);
		*blocks = c[4] ? c[4] : 256;
		*len_at = 4;
		break;
	case 10:
		*lba = scsi_get_be32(&c[2]);
		*blocks = scsi_get_be16(&c[7]);
		*len_at = 7;
		break;
	case 12:
		*lba = scsi_get_be32(&c[2]);
		*blocks = scsi_get_be32(&c[6]);
		*len_at = 6;
		break;
	default:
		*lba = scsi_get_be64(&c[2]);
		*blocks = scsi_get_be32(&c[10]);
		*len_at = 10;
		break;
	}
}

bool sbc_check_range(struct scsi_task *task, uint64_t lba, uint64_t blocks)
{
	uint64_t size = task->priv.lun->num_blocks;

	if (lba > size || blocks > size - lba) {
		scsi_task_fail(task, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE);
		return false;
	}
	return true;
}

uint32_t sbc_max_transfer_blocks(const struct scsi_lun *lun)
{
	return lun->max_transfer_blocks;
}

enum scsi_exec sbc_read_capacity10(struct scsi_task *task)
{
	const struct scsi_lun *lun = task->priv.lun;
	uint64_t last = lun->num_blocks - 1;
	uint8_t d[8];

	/* FFFFFFFFh: too large, use READ CAPACITY(16). */
	scsi_put_be32(d, last > 0xfffffffe ? 0xffffffff : (uint32_t)last);
	scsi_put_be32(&d[4], lun->bdev->block_size);
	scsi_task_data_in(task, d, sizeof(d));
	return SCSI_EXEC_DONE;
}

enum scsi_exec sbc_read_capacity16(struct scsi_task *task)
{
	const struct scsi_lun *lun = task->priv.lun;
	uint32_t alloc = scsi_get_be32(&task->cdb[10]);
	uint8_t d[32] = { 0 };

	scsi_put_be64(d, lun->num_blocks - 1);
	scsi_put_be32(&d[8], lun->bdev->block_size);
	if (bdev_io_type_supported(lun->bdev, BDEV_IO_UNMAP))
		d[14] = 0x80 | (lun->bdev->unmap_reads_zero ? 0x40 : 0); /* LBPME, LBPRZ */
	scsi_task_data_in(task, d, alloc < sizeof(d) ? alloc : sizeof(d));
	return SCSI_EXEC_DONE;
}

/*
 * A buffer longer than the transfer leaves an underflow residual. A shorter one: a READ fills the
 * whole blocks that fit and reports the overflow; a WRITE is refused (writing part of what the
 * initiator meant would be worse than nothing).
 */
enum scsi_exec sbc_read_write(struct scsi_task *task)
{
	struct scsi_task_priv *p = &task->priv;
	const struct bdev *bdev = p->lun->bdev;
	bool write = p->cmd->dir == SCSI_DIR_TO_DEV;
	uint32_t blocks, bs = bdev->block_size;
	uint64_t lba, fit;
	uint16_t len_at;

	sbc_decode(task, &lba, &blocks, &len_at);
	if (!sbc_check_range(task, lba, blocks))
		return SCSI_EXEC_DONE;
	if (blocks > sbc_max_transfer_blocks(p->lun)) {
		scsi_task_fail_field(task, true, len_at, -1);
		return SCSI_EXEC_DONE;
	}
	p->want = (uint64_t)blocks * bs;
	fit = p->buf_len < p->want ? p->buf_len / bs : blocks; /* no division when it all fits */
	if (write && fit < blocks) {
		scsi_task_fail(task, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_IU);
		return SCSI_EXEC_DONE;
	}
	if (!fit)
		return SCSI_EXEC_DONE;
	p->iovcnt = scsi_task_iov_trim(task, fit * bs);
	if (p->iovcnt > BDEV_IO_MAX_IOVCNT) {
		scsi_task_fail(task, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_IU);
		return SCSI_EXEC_DONE;
	}
	p->op = write ? BDEV_IO_WRITE : BDEV_IO_READ;
	p->lba = lba;
	p->left = p->chunk = (uint32_t)fit;
	/* FUA (not in 6-byte CDBs): the data must be on stable media before GOOD. */
	p->flush_after = write && p->cmd->cdb_len > 6 && (task->cdb[1] & 0x08) &&
			 bdev->write_cache && bdev_io_type_supported(p->lun->bdev, BDEV_IO_FLUSH);
	return sbc_io_run(task);
}

/* The range is checked (0 blocks: up to the end); nothing to do without a volatile cache. */
enum scsi_exec sbc_sync_cache(struct scsi_task *task)
{
	struct scsi_task_priv *p = &task->priv;
	uint64_t lba;
	uint32_t blocks;
	uint16_t len_at;

	sbc_decode(task, &lba, &blocks, &len_at);
	if (!sbc_check_range(task, lba, blocks ? blocks : 1))
		return SCSI_EXEC_DONE;
	if (!p->lun->bdev->write_cache || !bdev_io_type_supported(p->lun->bdev, BDEV_IO_FLUSH))
		return SCSI_EXEC_DONE;
	p->op = BDEV_IO_FLUSH;
	p->lba = lba;
	p->left = p->chunk = 1;
	return sbc_io_run(task);
}

/* A bdev has no motor or medium: accepted and ignored. */
enum scsi_exec sbc_start_stop(struct scsi_task *task)
{
	(void)task;
	return SCSI_EXEC_DONE;
}
