/*
 * A logical unit: its state (ACTIVE -> REMOVING -> REMOVED), the tasks in flight on it, and the
 * checks every command passes before its handler runs (unit attention, CDB fields, write
 * protection). Everything runs on the dev's owner thread.
 */
#include <stdlib.h>

#include "scsi/scsi_internal.h"

struct scsi_lun *scsi_lun_create(struct scsi_dev *dev, uint32_t id, struct bdev_desc *desc,
				 struct bdev_channel *ch, const struct scsi_lun_opts *opts)
{
	struct scsi_lun *lun = calloc(1, sizeof(*lun));

	if (!lun)
		return NULL;
	lun->dev = dev;
	lun->id = id;
	lun->state = SCSI_LUN_ACTIVE;
	lun->bdev = bdev_desc_bdev(desc);
	lun->ch = ch;
	lun->num_blocks = scsi_lun_blocks(lun);
	lun->max_transfer_blocks = SCSI_MAX_TRANSFER_BYTES / lun->bdev->block_size;
	if (!lun->max_transfer_blocks)
		lun->max_transfer_blocks = 1;
	if (opts) {
		lun->readonly = opts->readonly;
		lun->shared = opts->shared;
		lun->removed = opts->removed;
		lun->removed_ctx = opts->removed_ctx;
	}
	scsi_mode_reset(lun);
	return lun;
}

static void lun_free(struct scsi_lun *lun)
{
	struct scsi_dev *dev = lun->dev;
	uint32_t id = lun->id;

	lun->state = SCSI_LUN_REMOVED;
	if (lun->removed)
		lun->removed(lun->removed_ctx);
	scsi_ua_free(lun);
	free(lun);
	scsi_dev_lun_freed(dev, id);
}

void scsi_lun_enter(struct scsi_lun *lun)
{
	lun->busy++;
}

void scsi_lun_leave(struct scsi_lun *lun)
{
	if (--lun->busy)
		return;
	/* TMF callbacks may start further TMFs or the removal: run until nothing moves. */
	if (lun->tmfs) {
		lun->busy++;
		while (scsi_tmf_progress(lun))
			;
		lun->busy--;
	}
	if (lun->state == SCSI_LUN_REMOVING && lun->inflight == 0)
		lun_free(lun);
}

void scsi_lun_remove(struct scsi_lun *lun)
{
	lun->state = SCSI_LUN_REMOVING;
	scsi_lun_enter(lun);
	scsi_lun_leave(lun);
}

static void lun_task_link(struct scsi_lun *lun, struct scsi_task *task)
{
	struct scsi_task_priv *p = &task->priv;

	p->lun = lun;
	p->seq = ++lun->seq;
	p->prev = lun->tail;
	p->next = NULL;
	if (lun->tail)
		lun->tail->priv.next = task;
	else
		lun->head = task;
	lun->tail = task;
	lun->inflight++;
}

void scsi_lun_task_unlink(struct scsi_lun *lun, struct scsi_task *task)
{
	struct scsi_task_priv *p = &task->priv;

	if (p->prev)
		p->prev->priv.next = p->next;
	else
		lun->head = p->next;
	if (p->next)
		p->next->priv.prev = p->prev;
	else
		lun->tail = p->prev;
	lun->inflight--;
}

bool scsi_lun_notify_resize(struct scsi_lun *lun)
{
	uint64_t blocks = scsi_lun_blocks(lun), reported;

	if (blocks == lun->num_blocks)
		return false;
	lun->num_blocks = blocks;
	if (!lun->shared) {
		scsi_ua_raise_all(lun, SCSI_UA_CAPACITY_CHANGED, NULL);
		return true;
	}
	/* Of the copies, the first to see the new size raises it for all. */
	reported = atomic_load(&lun->shared->blocks);
	if (reported != blocks && atomic_compare_exchange_strong(&lun->shared->blocks, &reported,
								  blocks))
		scsi_ua_raise_all(lun, SCSI_UA_CAPACITY_CHANGED, NULL);
	return true;
}

/* The checks before the handler; false when they failed the task. */
static bool lun_task_admit(struct scsi_lun *lun, struct scsi_task *task, bool sa_mismatch)
{
	const struct scsi_cmd *cmd = task->priv.cmd;
	struct scsi_sense ua;

	/* A unit attention goes first, even before an unknown opcode (SPC-4 5.14). */
	if (!(cmd && (cmd->flags & SCSI_CMD_NO_UA)) &&
	    scsi_ua_take(lun, scsi_ua_nexus(lun, task->initiator), &ua)) {
		scsi_task_fail_sense(task, &ua);
		return false;
	}
	if (!cmd && sa_mismatch) {
		scsi_task_fail_field(task, true, 1, 4);
		return false;
	}
	if (!cmd) {
		scsi_task_fail(task, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_INVALID_OPCODE);
		return false;
	}
	if (!scsi_cmd_check_cdb(task, cmd))
		return false;
	if ((cmd->flags & SCSI_CMD_WRITES) && lun->readonly) {
		scsi_task_fail(task, SCSI_SK_DATA_PROTECT, SCSI_ASC_WRITE_PROTECTED);
		return false;
	}
	return true;
}

void scsi_lun_execute(struct scsi_lun *lun, struct scsi_task *task, bool sa_mismatch)
{
	scsi_lun_enter(lun);
	lun_task_link(lun, task);
	scsi_lun_notify_resize(lun);
	if (!lun_task_admit(lun, task, sa_mismatch) || task->priv.cmd->exec(task) == SCSI_EXEC_DONE)
		scsi_task_finish(task);
	scsi_lun_leave(lun);
}

enum scsi_lun_state scsi_lun_state(const struct scsi_lun *lun)
{
	return lun->state;
}

uint32_t scsi_lun_id(const struct scsi_lun *lun)
{
	return lun->id;
}

struct bdev *scsi_lun_bdev(const struct scsi_lun *lun)
{
	return lun->bdev;
}

unsigned scsi_lun_inflight(const struct scsi_lun *lun)
{
	return lun->inflight;
}
