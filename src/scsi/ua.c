/*
 * Unit attention conditions (SPC-4 5.14), kept per LUN per I_T nexus. An initiator the LUN has not
 * seen yet gets POWER ON first; an event raises its condition for every nexus already known (a
 * nexus seen later gets POWER ON, which covers it). Conditions are reported one per command,
 * highest priority first, and cleared when reported.
 */
#include <stdlib.h>

#include "scsi/scsi_internal.h"

/* The transport picks initiator ids (not the guest); this only bounds a runaway transport. */
#define NEXUS_MAX 4096

static const uint16_t ua_asc[SCSI_UA_COUNT] = {
	[SCSI_UA_POWER_ON] = SCSI_ASC_POWER_ON_RESET,
	[SCSI_UA_LUN_RESET] = SCSI_ASC_LUN_RESET_OCCURRED,
	[SCSI_UA_NEXUS_LOSS] = SCSI_ASC_NEXUS_LOSS,
	[SCSI_UA_MODE_CHANGED] = SCSI_ASC_MODE_PARAMETERS_CHANGED,
	[SCSI_UA_CAPACITY_CHANGED] = SCSI_ASC_CAPACITY_CHANGED,
	[SCSI_UA_LUNS_CHANGED] = SCSI_ASC_REPORTED_LUNS_CHANGED,
};

struct scsi_nexus *scsi_ua_nexus(struct scsi_lun *lun, uint64_t initiator)
{
	struct scsi_nexus *n;

	for (unsigned i = 0; i < lun->nnexus; i++)
		if (lun->nexus[i].initiator == initiator)
			return &lun->nexus[i];
	if (lun->nnexus == lun->nexus_cap) {
		unsigned cap = lun->nexus_cap ? lun->nexus_cap * 2 : 4;

		if (cap > NEXUS_MAX)
			return NULL;
		n = realloc(lun->nexus, cap * sizeof(*n));
		if (!n)
			return NULL;
		lun->nexus = n;
		lun->nexus_cap = cap;
	}
	n = &lun->nexus[lun->nnexus++];
	n->initiator = initiator;
	n->pending = lun->quiet_power_on ? 0 : 1u << SCSI_UA_POWER_ON;
	return n;
}

void scsi_ua_raise_all(struct scsi_lun *lun, enum scsi_ua ua, const struct scsi_nexus *skip)
{
	for (unsigned i = 0; i < lun->nnexus; i++)
		if (&lun->nexus[i] != skip)
			lun->nexus[i].pending |= 1u << ua;
}

bool scsi_ua_take(struct scsi_nexus *nexus, struct scsi_sense *s)
{
	int ua;

	if (!nexus || !nexus->pending)
		return false;
	ua = __builtin_ctz(nexus->pending);
	nexus->pending &= ~(1u << ua);
	*s = (struct scsi_sense){ .key = SCSI_SK_UNIT_ATTENTION, .asc = ua_asc[ua] };
	return true;
}

void scsi_ua_free(struct scsi_lun *lun)
{
	free(lun->nexus);
	lun->nexus = NULL;
	lun->nnexus = lun->nexus_cap = 0;
}
