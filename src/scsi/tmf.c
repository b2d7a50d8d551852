/*
 * Task management functions (SAM-5 7). A bdev I/O cannot be taken back, so aborting marks the
 * tasks: each ends with TASK ABORTED when its current I/O completes and starts no further I/O.
 * A TMF waits for the tasks it marked (those started before it: seq <= barrier).
 */
#include "scsi/scsi_internal.h"

static bool tmf_matches(const struct scsi_tmf *tmf, const struct scsi_task *task)
{
	switch (tmf->type) {
	case SCSI_TMF_ABORT_TASK:
	case SCSI_TMF_QUERY_TASK:
		return task->initiator == tmf->initiator && task->tag == tmf->tag;
	case SCSI_TMF_ABORT_TASK_SET:
	case SCSI_TMF_I_T_NEXUS_RESET:
		return task->initiator == tmf->initiator;
	case SCSI_TMF_CLEAR_TASK_SET:
	case SCSI_TMF_LUN_RESET:
		return true;
	}
	return false;
}

static bool tmf_waiting(const struct scsi_lun *lun, const struct scsi_tmf *tmf)
{
	const struct scsi_task *t;

	for (t = lun->head; t && t->priv.seq <= tmf->barrier; t = t->priv.next)
		if (tmf_matches(tmf, t))
			return true;
	return false;
}

unsigned scsi_tmf_progress(struct scsi_lun *lun)
{
	for (struct scsi_tmf **pp = &lun->tmfs; *pp; pp = &(*pp)->next) {
		struct scsi_tmf *tmf = *pp;

		if (tmf_waiting(lun, tmf))
			continue;
		*pp = tmf->next;
		/* The callback may start another TMF: the caller loops instead of this walk. */
		tmf->done(tmf);
		return 1;
	}
	return 0;
}

/* What the function does to the LUN besides aborting tasks. */
static void tmf_side_effects(struct scsi_lun *lun, const struct scsi_tmf *tmf)
{
	struct scsi_nexus *nexus;

	if (tmf->type == SCSI_TMF_LUN_RESET) {
		scsi_mode_reset(lun);
		scsi_ua_raise_all(lun, SCSI_UA_LUN_RESET, NULL);
	} else if (tmf->type == SCSI_TMF_I_T_NEXUS_RESET) {
		nexus = scsi_ua_nexus(lun, tmf->initiator);
		scsi_ua_raise(lun, nexus, SCSI_UA_NEXUS_LOSS);
	}
}

void scsi_lun_tmf(struct scsi_lun *lun, struct scsi_tmf *tmf)
{
	bool found = false;

	tmf->response = SCSI_TMF_COMPLETE;
	tmf->barrier = lun->seq;
	tmf->next = NULL;
	if ((unsigned)tmf->type > SCSI_TMF_QUERY_TASK) {
		tmf->response = SCSI_TMF_REJECTED;
		tmf->done(tmf);
		return;
	}
	for (struct scsi_task *t = lun->head; t; t = t->priv.next) {
		if (!tmf_matches(tmf, t))
			continue;
		found = true;
		if (tmf->type != SCSI_TMF_QUERY_TASK)
			t->priv.aborted = true;
	}
	if (tmf->type == SCSI_TMF_QUERY_TASK) {
		tmf->response = found ? SCSI_TMF_SUCCEEDED : SCSI_TMF_COMPLETE;
		tmf->done(tmf);
		return;
	}
	tmf_side_effects(lun, tmf);
	tmf->next = lun->tmfs;
	lun->tmfs = tmf;
	scsi_lun_enter(lun);
	scsi_lun_leave(lun); /* finishes it now when nothing was marked */
}
