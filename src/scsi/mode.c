/*
 * Mode parameters (SPC-4 7.5, SBC-3 6.4): read-write error recovery (01h), caching (08h: WCE is
 * the bdev's volatile cache, not changeable) and control (0Ah: D_SENSE is the one changeable
 * bit). Values live on the LUN, shared by every I_T nexus; none can be saved.
 */
#include <stdlib.h>
#include <string.h>

#include "scsi/scsi_internal.h"

enum { PC_CURRENT, PC_CHANGEABLE, PC_DEFAULT, PC_SAVED };

#define MODE_ALL_PAGES 0x3f
#define MODE_BUF 256
#define CONTROL_D_SENSE 0x04
#define CACHING_WCE 0x04

struct mode_page {
	uint8_t code;
	uint8_t len; /* PAGE LENGTH: the bytes after the two-byte header */
	/* Sets the page's fields for page control pc (the buffer comes zeroed). */
	void (*fill)(const struct scsi_lun *lun, int pc, uint8_t *p);
	/* Takes the page from MODE SELECT once the whole list is valid. */
	void (*apply)(struct scsi_lun *lun, const uint8_t *p);
};

static void caching_fill(const struct scsi_lun *lun, int pc, uint8_t *p)
{
	if (pc != PC_CHANGEABLE && lun->bdev->write_cache)
		p[2] = CACHING_WCE;
}

static void control_fill(const struct scsi_lun *lun, int pc, uint8_t *p)
{
	if (pc == PC_CHANGEABLE || (pc == PC_CURRENT && lun->d_sense))
		p[2] = CONTROL_D_SENSE;
}

static void control_apply(struct scsi_lun *lun, const uint8_t *p)
{
	lun->d_sense = p[2] & CONTROL_D_SENSE;
}

/* Error recovery: nothing to report or change (no retries behind a bdev). */
static const struct mode_page mode_pages[] = {
	{ 0x01, 0x0a, NULL, NULL },
	{ 0x08, 0x12, caching_fill, NULL },
	{ 0x0a, 0x0a, control_fill, control_apply },
};

#define MODE_PAGE_COUNT (sizeof(mode_pages) / sizeof(mode_pages[0]))

void scsi_mode_reset(struct scsi_lun *lun)
{
	lun->d_sense = false;
}

static size_t mode_page_build(const struct scsi_lun *lun, const struct mode_page *mp, int pc,
			      uint8_t *p)
{
	memset(p, 0, 2u + mp->len);
	p[0] = mp->code;
	p[1] = mp->len;
	if (mp->fill)
		mp->fill(lun, pc, p);
	return 2u + mp->len;
}

/* Every page (code MODE_ALL_PAGES) or one; 0 for an unknown code. */
static size_t mode_pages_build(const struct scsi_lun *lun, uint8_t code, int pc, uint8_t *p)
{
	size_t len = 0;

	for (size_t i = 0; i < MODE_PAGE_COUNT; i++)
		if (code == MODE_ALL_PAGES || code == mode_pages[i].code)
			len += mode_page_build(lun, &mode_pages[i], pc, p + len);
	return len;
}

static size_t mode_block_descriptor(const struct scsi_lun *lun, bool long_lba, uint8_t *p)
{
	uint32_t bs = lun->bdev->block_size;

	if (long_lba) {
		scsi_put_be64(p, lun->num_blocks);
		scsi_put_be32(&p[12], bs);
		return 16;
	}
	scsi_put_be32(p, lun->num_blocks > UINT32_MAX ? UINT32_MAX : (uint32_t)lun->num_blocks);
	p[5] = (uint8_t)(bs >> 16);
	scsi_put_be16(&p[6], (uint16_t)bs);
	return 8;
}

enum scsi_exec mode_sense(struct scsi_task *task)
{
	const struct scsi_lun *lun = task->priv.lun;
	const uint8_t *cdb = task->cdb;
	bool ten = cdb[0] == 0x5a;
	bool long_lba = ten && (cdb[1] & 0x10);
	int pc = cdb[2] >> 6;
	uint8_t code = cdb[2] & 0x3f;
	size_t hdr = ten ? 8 : 4, alloc = ten ? scsi_get_be16(&cdb[7]) : cdb[4];
	size_t bd = 0, pages;
	uint8_t d[MODE_BUF] = { 0 };

	if (pc == PC_SAVED) {
		scsi_task_fail(task, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_SAVING_NOT_SUPPORTED);
		return SCSI_EXEC_DONE;
	}
	/* No subpages: only "all pages and subpages" (3Fh/FFh) is accepted besides 00h. */
	if (cdb[3] && !(code == MODE_ALL_PAGES && cdb[3] == 0xff)) {
		scsi_task_fail_field(task, true, 3, -1);
		return SCSI_EXEC_DONE;
	}
	if (!(cdb[1] & 0x08)) /* DBD clear */
		bd = mode_block_descriptor(lun, long_lba, d + hdr);
	pages = mode_pages_build(lun, code, pc, d + hdr + bd);
	if (!pages) {
		scsi_task_fail_field(task, true, 2, 5);
		return SCSI_EXEC_DONE;
	}
	/* Device-specific parameter: WP, DPOFUA (FUA is honoured with a flush). */
	if (ten) {
		scsi_put_be16(d, (uint16_t)(hdr + bd + pages - 2));
		d[3] = (lun->readonly ? 0x80 : 0) | 0x10;
		d[4] = bd == 16 ? 0x01 : 0; /* LONGLBA */
		scsi_put_be16(&d[6], (uint16_t)bd);
	} else {
		d[0] = (uint8_t)(hdr + bd + pages - 1);
		d[2] = (lun->readonly ? 0x80 : 0) | 0x10;
		d[3] = (uint8_t)bd;
	}
	scsi_task_data_in(task, d, hdr + bd + pages < alloc ? hdr + bd + pages : alloc);
	return SCSI_EXEC_DONE;
}

static const struct mode_page *mode_page_find(uint8_t code)
{
	for (size_t i = 0; i < MODE_PAGE_COUNT; i++)
		if (mode_pages[i].code == code)
			return &mode_pages[i];
	return NULL;
}

static void fail_list_length(struct scsi_task *task)
{
	scsi_task_fail(task, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_PARAMETER_LIST_LENGTH);
}

/* Checks the page at list[off] against the current and changeable values; returns its length
 * or 0 after failing the task. */
static size_t mode_select_check_page(struct scsi_task *task, const uint8_t *list, size_t off,
				     size_t len)
{
	uint8_t cur[MODE_BUF], chg[MODE_BUF];
	const struct mode_page *mp;
	const uint8_t *p = list + off;

	if (off + 2 > len) {
		fail_list_length(task);
		return 0;
	}
	if (p[0] & 0x40) { /* SPF: we have no subpages */
		scsi_task_fail_field(task, false, (uint16_t)off, 6);
		return 0;
	}
	mp = mode_page_find(p[0] & 0x3f);
	if (!mp) {
		scsi_task_fail_field(task, false, (uint16_t)off, 5);
		return 0;
	}
	if (p[1] != mp->len) {
		scsi_task_fail_field(task, false, (uint16_t)(off + 1), -1);
		return 0;
	}
	if (off + 2 + mp->len > len) {
		fail_list_length(task);
		return 0;
	}
	mode_page_build(task->priv.lun, mp, PC_CURRENT, cur);
	mode_page_build(task->priv.lun, mp, PC_CHANGEABLE, chg);
	for (size_t i = 2; i < 2u + mp->len; i++) {
		uint8_t bad = (uint8_t)((p[i] ^ cur[i]) & ~chg[i]);
		int bit = bad ? 31 - __builtin_clz(bad) : -1;

		if (bad) {
			scsi_task_fail_field(task, false, (uint16_t)(off + i), bit);
			return 0;
		}
	}
	return 2u + mp->len;
}

/* Header and block descriptor: the descriptor may only repeat our block size. Returns where the
 * pages start, 0 after failing the task. */
static size_t mode_select_check_header(struct scsi_task *task, const uint8_t *list, size_t len,
				       bool ten)
{
	size_t hdr = ten ? 8 : 4;
	size_t bd = ten ? scsi_get_be16(&list[6]) : list[3];
	size_t want = ten && (list[4] & 0x01) ? 16 : 8;
	uint32_t bs;

	if (bd && bd != want) {
		scsi_task_fail_field(task, false, ten ? 6 : 3, -1);
		return 0;
	}
	if (hdr + bd > len) {
		fail_list_length(task);
		return 0;
	}
	if (!bd)
		return hdr;
	bs = want == 16 ? scsi_get_be32(&list[hdr + 12]) : scsi_get_be32(&list[hdr + 4]) & 0xffffff;
	if (bs != task->priv.lun->bdev->block_size) {
		scsi_task_fail_field(task, false, (uint16_t)(hdr + (want == 16 ? 12 : 5)), -1);
		return 0;
	}
	return hdr + bd;
}

/* Validates the whole list first, then applies it: a bad page changes nothing. */
static void mode_select_list(struct scsi_task *task, const uint8_t *list, size_t len, bool ten)
{
	struct scsi_lun *lun = task->priv.lun;
	uint8_t before[MODE_BUF], after[MODE_BUF];
	size_t start = mode_select_check_header(task, list, len, ten), off, n, all;

	if (!start)
		return;
	for (off = start; off < len; off += n) {
		n = mode_select_check_page(task, list, off, len);
		if (!n)
			return;
	}
	all = mode_pages_build(lun, MODE_ALL_PAGES, PC_CURRENT, before);
	for (off = start; off < len; off += 2u + list[off + 1]) {
		const struct mode_page *mp = mode_page_find(list[off] & 0x3f);

		if (mp->apply)
			mp->apply(lun, list + off);
	}
	mode_pages_build(lun, MODE_ALL_PAGES, PC_CURRENT, after);
	if (memcmp(before, after, all) != 0)
		scsi_ua_raise_all(lun, SCSI_UA_MODE_CHANGED, scsi_ua_nexus(lun, task->initiator));
}

enum scsi_exec mode_select(struct scsi_task *task)
{
	const uint8_t *cdb = task->cdb;
	bool ten = cdb[0] == 0x55;
	size_t len = ten ? scsi_get_be16(&cdb[7]) : cdb[4];
	uint8_t *list;

	if (!len)
		return SCSI_EXEC_DONE;
	if (len < (ten ? 8u : 4u)) {
		fail_list_length(task);
		return SCSI_EXEC_DONE;
	}
	list = malloc(len);
	if (!list) {
		task->status = SCSI_STATUS_BUSY;
		return SCSI_EXEC_DONE;
	}
	if (scsi_task_data_out(task, list, len))
		mode_select_list(task, list, len, ten);
	free(list);
	return SCSI_EXEC_DONE;
}
