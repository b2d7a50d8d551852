/*
 * Unit attention conditions (SPC-4 5.14), kept per LUN per I_T nexus. An initiator the LUN has not
 * seen yet gets POWER ON first; an event raises its condition for every nexus already known (a
 * nexus seen later gets POWER ON, which covers it). Conditions are reported one per command,
 * highest priority first, and cleared when reported. Copies of a LUN on several threads may share
 * one word instead (scsi_lun_opts.shared): hence atomics, though each copy stays on its thread.
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
	atomic_init(&n->pending, 1u << SCSI_UA_POWER_ON);
	return n;
}

void scsi_lun_shared_init(struct scsi_lun_shared *s, uint64_t num_blocks)
{
	atomic_store(&s->blocks, num_blocks);
	atomic_store(&s->ua, 1u << SCSI_UA_POWER_ON);
}

static _Atomic uint32_t *ua_word(struct scsi_lun *lun, struct scsi_nexus *nexus)
{
	return lun->shared ? &lun->shared->ua : &nexus->pending;
}

void scsi_ua_raise(struct scsi_lun *lun, struct scsi_nexus *nexus, enum scsi_ua ua)
{
	if (nexus)
		atomic_fetch_or_explicit(ua_word(lun, nexus), 1u << ua, memory_order_relaxed);
}

void scsi_ua_clear(struct scsi_lun *lun, struct scsi_nexus *nexus, enum scsi_ua ua)
{
	if (nexus)
		atomic_fetch_and_explicit(ua_word(lun, nexus), ~(1u << ua), memory_order_relaxed);
}

void scsi_ua_raise_all(struct scsi_lun *lun, enum scsi_ua ua, const struct scsi_nexus *skip)
{
	/* A shared word belongs to the transport's one initiator: skipping it leaves nobody. */
	if (lun->shared) {
		if (!skip)
			atomic_fetch_or_explicit(&lun->shared->ua, 1u << ua, memory_order_relaxed);
		return;
	}
	for (unsigned i = 0; i < lun->nnexus; i++)
		if (&lun->nexus[i] != skip)
			scsi_ua_raise(lun, &lun->nexus[i], ua);
}

bool scsi_ua_take(struct scsi_lun *lun, struct scsi_nexus *nexus, struct scsi_sense *s)
{
	_Atomic uint32_t *word;
	uint32_t pending;
	int ua;

	if (!nexus)
		return false;
	word = ua_word(lun, nexus);
	pending = atomic_load_explicit(word, memory_order_relaxed);
	do { /* another copy may take the same condition meanwhile: only one reports it */
		if (!pending)
			return false;
		ua = __builtin_ctz(pending);
	} while (!atomic_compare_exchange_weak_explicit(word, &pending, pending & ~(1u << ua),
							memory_order_relaxed,
							memory_order_relaxed));
	*s = (struct scsi_sense){ .key = SCSI_SK_UNIT_ATTENTION, .asc = ua_asc[ua] };
	return true;
}

void scsi_ua_free(struct scsi_lun *lun)
{
	free(lun->nexus);
	lun->nexus = NULL;
	lun->nnexus = lun->nexus_cap = 0;
}
