/* Helpers for the SCSI unit tests (see scsi_test.h). */
#include "scsi_test.h"

#include "core/reactor.h"

#include <errno.h>
#include <string.h>

int st_setup(void **state)
{
	(void)state;
	return reactors_init(NULL);
}

static void flag_set(void *arg)
{
	*(bool *)arg = true;
}

int st_teardown(void **state)
{
	bool done = false;

	(void)state;
	bdev_unregister_all(flag_set, &done);
	test_reactor_run_until(&done);
	test_reactor_run_for(5);
	reactors_fini();
	return 0;
}

static void disk_event(enum bdev_event event, struct bdev *bdev, void *ctx)
{
	(void)bdev;
	if (event == BDEV_EVENT_REMOVE)
		((struct st_disk *)ctx)->bdev_removes++;
}

void st_disk_open(struct st_disk *d, const char *name)
{
	memset(d, 0, sizeof(*d));
	assert_int_equal(bdev_open(name, true, disk_event, d, &d->desc), 0);
	d->bdev = bdev_desc_bdev(d->desc);
	d->ch = bdev_channel_get(d->desc);
	assert_non_null(d->ch);
}

void st_disk_malloc(struct st_disk *d, const char *name, uint64_t blocks, uint32_t bs,
		    const uint8_t *uuid)
{
	assert_int_equal(bdev_malloc_create(name, blocks, bs, uuid, NULL), 0);
	st_disk_open(d, name);
}

void st_disk_close(struct st_disk *d)
{
	bdev_channel_put(d->ch);
	bdev_close(d->desc);
	d->ch = NULL;
	d->desc = NULL;
}

static void lun_removed(void *ctx)
{
	((struct st_disk *)ctx)->lun_removed++;
}

struct scsi_lun_opts st_lun_opts(struct st_disk *d, bool readonly)
{
	return (struct scsi_lun_opts){ .readonly = readonly, .removed = lun_removed,
				       .removed_ctx = d };
}

void st_target_up_on(struct st_target *t, const char *bdev_name)
{
	struct scsi_lun_opts opts;

	st_disk_open(&t->disk, bdev_name);
	opts = st_lun_opts(&t->disk, false);
	assert_int_equal(scsi_dev_create("t0", 0, &t->dev), 0);
	assert_int_equal(scsi_dev_add_lun(t->dev, 0, t->disk.desc, t->disk.ch, &opts), 0);
	st_clear_ua(t->dev, 0, ST_INITIATOR);
}

void st_target_up(struct st_target *t, uint64_t blocks, uint32_t bs)
{
	assert_int_equal(bdev_malloc_create("M0", blocks, bs, NULL, NULL), 0);
	st_target_up_on(t, "M0");
}

void st_target_down(struct st_target *t)
{
	bool destroyed = false, deleted = false;

	scsi_dev_destroy(t->dev, flag_set, &destroyed);
	assert_true(test_reactor_run_until(&destroyed));
	st_disk_close(&t->disk);
	bdev_unregister(t->disk.bdev, flag_set, &deleted);
	assert_true(test_reactor_run_until(&deleted));
}

static void task_done(struct scsi_task *task)
{
	struct st_task *st = task->done_arg;

	st->done = true;
	st->calls++;
}

void st_prepare(struct st_task *st, uint32_t lun, const uint8_t *cdb, size_t cdb_len,
		enum scsi_dir dir, void *buf, size_t len)
{
	memset(st, 0, sizeof(*st));
	memcpy(st->t.cdb, cdb, cdb_len);
	st->t.lun_id = lun;
	st->t.initiator = ST_INITIATOR;
	st->t.dir = dir;
	if (buf) {
		st->iov.iov_base = buf;
		st->iov.iov_len = len;
		st->t.iov = &st->iov;
		st->t.iovcnt = 1;
	}
	st->t.done = task_done;
	st->t.done_arg = st;
}

void st_start(struct scsi_dev *dev, struct st_task *st, uint32_t lun, const uint8_t *cdb,
	      size_t cdb_len, enum scsi_dir dir, void *buf, size_t len)
{
	st_prepare(st, lun, cdb, cdb_len, dir, buf, len);
	scsi_dev_execute(dev, &st->t);
}

int st_wait(struct st_task *st)
{
	if (!test_reactor_run_until(&st->done))
		return -1;
	assert_int_equal(st->calls, 1);
	return st->t.status;
}

int st_exec(struct scsi_dev *dev, struct st_task *st, uint32_t lun, const uint8_t *cdb,
	    size_t cdb_len, enum scsi_dir dir, void *buf, size_t len)
{
	st_start(dev, st, lun, cdb, cdb_len, dir, buf, len);
	return st_wait(st);
}

struct scsi_sense st_sense(const struct st_task *st)
{
	struct scsi_sense s;

	assert_int_equal(scsi_sense_parse(st->t.sense, st->t.sense_len, &s), 0);
	return s;
}

void st_assert_sense(const struct st_task *st, uint8_t key, uint16_t asc)
{
	struct scsi_sense s;

	assert_int_equal(st->t.status, SCSI_STATUS_CHECK_CONDITION);
	s = st_sense(st);
	assert_int_equal(s.key, key);
	assert_int_equal(s.asc, asc);
}

void st_clear_ua(struct scsi_dev *dev, uint32_t lun, uint64_t initiator)
{
	static const uint8_t tur[6] = { 0 };
	struct st_task st;

	for (int i = 0; i < 16; i++) {
		st_prepare(&st, lun, tur, sizeof(tur), SCSI_DIR_NONE, NULL, 0);
		st.t.initiator = initiator;
		scsi_dev_execute(dev, &st.t);
		if (st_wait(&st) == SCSI_STATUS_GOOD)
			return;
	}
	fail_msg("unit attentions do not clear");
}

static void put_be(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = bytes - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

size_t st_cdb_rw(uint8_t *cdb, uint8_t opcode, uint64_t lba, uint32_t blocks)
{
	size_t len = opcode < 0x20 ? 6 : opcode < 0x80 ? 10 : opcode < 0xa0 ? 16 : 12;

	memset(cdb, 0, 16);
	cdb[0] = opcode;
	switch (len) {
	case 6:
		put_be(&cdb[1], lba, 3);
		cdb[4] = (uint8_t)blocks;
		break;
	case 10:
		put_be(&cdb[2], lba, 4);
		put_be(&cdb[7], blocks, 2);
		break;
	case 12:
		put_be(&cdb[2], lba, 4);
		put_be(&cdb[6], blocks, 4);
		break;
	default:
		put_be(&cdb[2], lba, 8);
		put_be(&cdb[10], blocks, 4);
		break;
	}
	return len;
}

void st_fill(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 13 + seed + (i >> 9));
}
