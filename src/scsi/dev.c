/* A SCSI target: its LUN table, its lifecycle and the entry point of every task. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "scsi/scsi_internal.h"

int scsi_dev_create(const char *name, int id, struct scsi_dev **out)
{
	struct scsi_dev *dev;

	if (!name || !out || id < 0)
		return -EINVAL;
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	dev->name = strdup(name);
	if (!dev->name) {
		free(dev);
		return -ENOMEM;
	}
	dev->id = id;
	*out = dev;
	return 0;
}

/* Frees a destroying dev once no LUN and no call into it is left. */
static void dev_progress(struct scsi_dev *dev)
{
	void (*done)(void *arg) = dev->destroyed;
	void *arg = dev->destroyed_arg;

	if (dev->busy || !dev->destroying || dev->nluns)
		return;
	free(dev->name);
	free(dev);
	if (done)
		done(arg);
}

void scsi_dev_destroy(struct scsi_dev *dev, void (*done)(void *arg), void *arg)
{
	dev->destroying = true;
	dev->destroyed = done;
	dev->destroyed_arg = arg;
	dev->busy++; /* a LUN freed at once must not free the dev under this loop */
	for (uint32_t i = 0; i < SCSI_DEV_MAX_LUNS; i++)
		if (dev->luns[i] && dev->luns[i]->state == SCSI_LUN_ACTIVE)
			scsi_lun_remove(dev->luns[i]);
	dev->busy--;
	dev_progress(dev);
}

void scsi_dev_lun_freed(struct scsi_dev *dev, uint32_t id)
{
	dev->luns[id] = NULL;
	dev->nluns--;
	dev_progress(dev);
}

/* The LUN inventory changed: every other LUN tells its initiators (SPC-4 REPORT LUNS). */
static void dev_luns_changed(struct scsi_dev *dev, const struct scsi_lun *changed)
{
	for (uint32_t i = 0; i < SCSI_DEV_MAX_LUNS; i++)
		if (dev->luns[i] && dev->luns[i] != changed)
			scsi_ua_raise_all(dev->luns[i], SCSI_UA_LUNS_CHANGED, NULL);
}

int scsi_dev_add_lun(struct scsi_dev *dev, uint32_t lun_id, struct bdev_desc *desc,
		     struct bdev_channel *ch, const struct scsi_lun_opts *opts)
{
	struct scsi_lun *lun;

	if (lun_id >= SCSI_DEV_MAX_LUNS || !desc || !ch)
		return -EINVAL;
	if (dev->destroying)
		return -ENODEV;
	if (dev->luns[lun_id])
		return -EEXIST;
	lun = scsi_lun_create(dev, lun_id, desc, ch, opts);
	if (!lun)
		return -ENOMEM;
	dev_luns_changed(dev, lun);
	dev->luns[lun_id] = lun;
	dev->nluns++;
	return 0;
}

int scsi_dev_remove_lun(struct scsi_dev *dev, uint32_t lun_id)
{
	struct scsi_lun *lun = scsi_dev_get_lun(dev, lun_id);

	if (!lun)
		return -ENODEV;
	if (lun->state != SCSI_LUN_ACTIVE)
		return -EALREADY;
	dev_luns_changed(dev, lun);
	scsi_lun_remove(lun);
	return 0;
}

struct scsi_lun *scsi_dev_get_lun(const struct scsi_dev *dev, uint32_t lun_id)
{
	return lun_id < SCSI_DEV_MAX_LUNS ? dev->luns[lun_id] : NULL;
}

const char *scsi_dev_name(const struct scsi_dev *dev)
{
	return dev->name;
}

int scsi_dev_id(const struct scsi_dev *dev)
{
	return dev->id;
}

void scsi_dev_execute(struct scsi_dev *dev, struct scsi_task *task)
{
	bool sa_mismatch;
	const struct scsi_cmd *cmd = scsi_cmd_find(task->cdb, &sa_mismatch);
	struct scsi_lun *lun = scsi_dev_get_lun(dev, task->lun_id);

	scsi_task_start(task, dev, cmd);
	if (lun && lun->state == SCSI_LUN_ACTIVE) {
		scsi_lun_execute(lun, task, sa_mismatch);
		return;
	}
	/* No LUN to reach (missing, REMOVING, REMOVED): only the commands SPC-4 answers anyway. */
	dev->busy++;
	if (!cmd || !(cmd->flags & SCSI_CMD_ANY_LUN))
		scsi_task_fail(task, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_LUN_NOT_SUPPORTED);
	else if (scsi_cmd_check_cdb(task, cmd))
		cmd->exec(task); /* these never wait for I/O */
	scsi_task_finish(task);
	dev->busy--;
	dev_progress(dev);
}
