/*
 * Block commands as a loop of bdev I/Os on the LUN's channel: one range [lba, lba + left) cut
 * into chunks, or a list of ranges (UNMAP), optionally followed by a FLUSH (FUA). READ/WRITE use
 * the task's own iovecs in one step; WRITE SAME and VERIFY go through a bounce buffer. Between
 * steps the task stops when aborted or when its LUN left ACTIVE: no new I/O reaches a REMOVING LUN.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "scsi/scsi_internal.h"

#define BOUNCE_ALIGN 64

uint8_t *sbc_io_bounce(struct scsi_task *task, uint64_t blocks)
{
	size_t align = task->priv.lun->bdev->required_alignment;
	void *p;

	if (align < BOUNCE_ALIGN)
		align = BOUNCE_ALIGN;
	if (posix_memalign(&p, align, blocks * task->priv.lun->bdev->block_size))
		return NULL;
	task->priv.bounce = p;
	return p;
}

void sbc_io_fail(struct scsi_task *task, enum bdev_io_type op, int rc)
{
	switch (rc) {
	case -ENODEV:
		scsi_task_fail(task, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_LUN_NOT_SUPPORTED);
		break;
	case -ENOMEM:
	case -EAGAIN:
	case -EBUSY:
		task->status = SCSI_STATUS_BUSY;
		break;
	case -EIO:
		if (op == BDEV_IO_READ)
			scsi_task_fail(task, SCSI_SK_MEDIUM_ERROR, SCSI_ASC_UNRECOVERED_READ_ERROR);
		else if (op != BDEV_IO_UNMAP)
			scsi_task_fail(task, SCSI_SK_MEDIUM_ERROR, SCSI_ASC_WRITE_ERROR);
		else
			scsi_task_fail(task, SCSI_SK_HARDWARE_ERROR,
				       SCSI_ASC_INTERNAL_TARGET_FAILURE);
		break;
	default:
		scsi_task_fail(task, SCSI_SK_HARDWARE_ERROR, SCSI_ASC_INTERNAL_TARGET_FAILURE);
		break;
	}
}

/* VERIFY with BYTCHK: the blocks just read against the data-out buffer (BYTCHK 01b: all of it,
 * 11b: its one block against every block). False after failing the task on a miscompare. */
static bool io_compare(struct scsi_task *task, uint64_t blocks)
{
	struct scsi_task_priv *p = &task->priv;
	uint32_t bs = p->lun->bdev->block_size;
	struct scsi_sense s = { .key = SCSI_SK_MISCOMPARE, .asc = SCSI_ASC_MISCOMPARE_VERIFY };
	int64_t off = -1;

	if (p->bytchk == 1) {
		off = scsi_iov_compare(task->iov, task->iovcnt, p->compared, p->bounce,
				       blocks * bs);
	} else {
		for (uint64_t i = 0; i < blocks && off < 0; i++) {
			off = scsi_iov_compare(task->iov, task->iovcnt, 0, p->bounce + i * bs, bs);
			if (off >= 0)
				off += (int64_t)(i * bs);
		}
	}
	if (off >= 0) {
		s.info_valid = true;
		s.info = p->compared + (uint64_t)off;
		scsi_task_fail_sense(task, &s);
		return false;
	}
	p->compared += blocks * bs;
	return true;
}

/* Picks the next range or the trailing FLUSH; false when nothing is left. */
static bool io_more(struct scsi_task_priv *p)
{
	while (p->left == 0) {
		if (p->ranges && p->next_range < p->nranges) {
			const uint8_t *r = p->ranges + 16 * p->next_range++;

			p->lba = scsi_get_be64(r);
			p->left = scsi_get_be32(r + 8);
		} else if (p->flush_after) {
			p->flush_after = false;
			p->op = BDEV_IO_FLUSH;
			p->left = p->chunk = 1; /* FLUSH ignores the range */
		} else {
			return false;
		}
	}
	return true;
}

static void io_done(struct bdev_io *io, int rc);

/* Submits the next I/O; false when the task is over (finished, failed or stopped). */
static bool io_next(struct scsi_task *task)
{
	struct scsi_task_priv *p = &task->priv;
	struct bdev_io *io = &p->io;
	uint64_t n;

	if (!io_more(p) || p->aborted)
		return false;
	if (p->lun->state != SCSI_LUN_ACTIVE) {
		scsi_task_fail(task, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_LUN_NOT_SUPPORTED);
		return false;
	}
	n = p->left < p->chunk ? p->left : p->chunk;
	io->type = p->op;
	io->offset_blocks = p->lba;
	io->num_blocks = n;
	if (p->bounce) {
		p->bounce_iov.iov_base = p->bounce;
		p->bounce_iov.iov_len = n * p->lun->bdev->block_size;
		io->iov = &p->bounce_iov;
		io->iovcnt = 1;
	} else if (p->op == BDEV_IO_READ || p->op == BDEV_IO_WRITE) {
		io->iov = task->iov;
		io->iovcnt = p->iovcnt;
	} else {
		io->iov = NULL;
		io->iovcnt = 0;
	}
	io->done = io_done;
	io->done_arg = task;
	bdev_io_submit(p->lun->ch, io);
	return true;
}

/* Accounts a finished step; false after failing the task. */
static bool io_step_done(struct scsi_task *task, const struct bdev_io *io)
{
	struct scsi_task_priv *p = &task->priv;

	if (p->bytchk && io->type == BDEV_IO_READ && !io_compare(task, io->num_blocks))
		return false;
	if (!p->bounce && (io->type == BDEV_IO_READ || io->type == BDEV_IO_WRITE))
		task->transferred += io->num_blocks * p->lun->bdev->block_size;
	p->lba += io->num_blocks;
	p->left -= io->num_blocks;
	return true;
}

static void io_done(struct bdev_io *io, int rc)
{
	struct scsi_task *task = io->done_arg;
	struct scsi_lun *lun = task->priv.lun;

	scsi_lun_enter(lun);
	if (rc)
		sbc_io_fail(task, io->type, rc);
	if (rc || !io_step_done(task, io) || !io_next(task))
		scsi_task_finish(task);
	scsi_lun_leave(lun);
}

enum scsi_exec sbc_io_run(struct scsi_task *task)
{
	return io_next(task) ? SCSI_EXEC_PENDING : SCSI_EXEC_DONE;
}
