/* A task's life: start, its data buffer (copies, trimming, residuals) and its end. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/iov.h"
#include "scsi/scsi_internal.h"

static uint64_t iov_total(const struct iovec *iov, int iovcnt)
{
	uint64_t total = 0;

	for (int i = 0; iov && i < iovcnt; i++)
		if (__builtin_add_overflow(total, (uint64_t)iov[i].iov_len, &total))
			return UINT64_MAX;
	return total;
}

void scsi_task_start(struct scsi_task *task, struct scsi_dev *dev, const struct scsi_cmd *cmd)
{
	memset(&task->priv, 0, offsetof(struct scsi_task_priv, dev));
	task->priv.dev = dev;
	task->priv.cmd = cmd;
	task->priv.trim_idx = -1;
	/* A buffer going the other way than the command's data is not touched (a data-out buffer
	 * may be read-only to us): it counts as no buffer. */
	if (cmd && cmd->dir != SCSI_DIR_NONE && cmd->dir == task->dir)
		task->priv.buf_len = iov_total(task->iov, task->iovcnt);
	task->status = SCSI_STATUS_GOOD;
	task->sense_len = 0;
	task->transferred = 0;
	task->residual_kind = SCSI_RESIDUAL_NONE;
	task->residual = 0;
}

void scsi_task_finish(struct scsi_task *task)
{
	struct scsi_task_priv *p = &task->priv;

	scsi_task_iov_restore(task);
	free(p->bounce);
	free(p->ranges);
	p->bounce = NULL;
	p->ranges = NULL;
	if (p->aborted) {
		task->status = SCSI_STATUS_TASK_ABORTED;
		task->sense_len = 0;
	}
	if (p->want > p->buf_len) {
		task->residual_kind = SCSI_RESIDUAL_OVERFLOW;
		task->residual = p->want - p->buf_len;
	} else if (p->buf_len > task->transferred) {
		task->residual_kind = SCSI_RESIDUAL_UNDERFLOW;
		task->residual = p->buf_len - task->transferred;
	}
	if (p->lun)
		scsi_lun_task_unlink(p->lun, task);
	task->done(task);
}

int64_t scsi_iov_compare(const struct iovec *iov, int iovcnt, uint64_t off, const uint8_t *buf,
			 size_t len)
{
	size_t done = 0;

	for (int i = 0; i < iovcnt && done < len; i++) {
		size_t seg = iov[i].iov_len, n;
		const uint8_t *p = (const uint8_t *)iov[i].iov_base + off;

		if (off >= seg) {
			off -= seg;
			continue;
		}
		n = seg - off < len - done ? seg - off : len - done;
		if (memcmp(p, buf + done, n) != 0)
			for (size_t j = 0; j < n; j++)
				if (p[j] != buf[done + j])
					return (int64_t)(done + j);
		done += n;
		off = 0;
	}
	return -1;
}

void scsi_task_data_in(struct scsi_task *task, const void *buf, size_t len)
{
	size_t n = len < task->priv.buf_len ? len : task->priv.buf_len;

	task->priv.want = len;
	task->transferred = iov_from_buf(task->iov, task->iovcnt, 0, buf, n);
}

bool scsi_task_data_out(struct scsi_task *task, void *buf, size_t len)
{
	task->priv.want = len;
	if (task->priv.buf_len < len) {
		scsi_task_fail(task, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_IN_IU);
		return false;
	}
	task->transferred = iov_to_buf(task->iov, task->iovcnt, 0, buf, len);
	return true;
}

int scsi_task_iov_trim(struct scsi_task *task, size_t len)
{
	struct iovec *iov = task->iov;
	int i = 0;

	/* len > 0 and len <= the total, so the loop stops on an element that holds the rest. */
	while (len > iov[i].iov_len)
		len -= iov[i++].iov_len;
	if (len < iov[i].iov_len) {
		task->priv.trim_idx = i;
		task->priv.trim_len = iov[i].iov_len;
		iov[i].iov_len = len;
	}
	return i + 1;
}

void scsi_task_iov_restore(struct scsi_task *task)
{
	if (task->priv.trim_idx < 0)
		return;
	task->iov[task->priv.trim_idx].iov_len = task->priv.trim_len;
	task->priv.trim_idx = -1;
}
