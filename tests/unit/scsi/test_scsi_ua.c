/*
 * Unit attentions per LUN and initiator: POWER ON after creation, CAPACITY DATA HAS CHANGED after
 * a resize, BUS DEVICE RESET after a LUN reset, I_T NEXUS LOSS, REPORTED LUNS DATA HAS CHANGED;
 * reported once each, in priority order, never blocking INQUIRY / REPORT LUNS / REQUEST SENSE.
 */
#include "scsi_test.h"

#include <string.h>

static const uint8_t tur[6] = { 0 };
static const uint8_t inquiry[6] = { 0x12, 0, 0, 0, 36, 0 };
static const uint8_t report_luns[12] = { 0xa0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0 };

/* Runs cdb from initiator on LUN lun; returns the status. */
static int run(struct scsi_dev *dev, struct st_task *st, uint32_t lun, uint64_t initiator,
	       const uint8_t *cdb, size_t len)
{
	static uint8_t buf[256];

	st_prepare(st, lun, cdb, len, SCSI_DIR_FROM_DEV, buf, sizeof(buf));
	st->t.initiator = initiator;
	scsi_dev_execute(dev, &st->t);
	return st_wait(st);
}

static void assert_ua(struct scsi_dev *dev, uint32_t lun, uint64_t initiator, uint16_t asc)
{
	struct st_task st;

	run(dev, &st, lun, initiator, tur, sizeof(tur));
	st_assert_sense(&st, SCSI_SK_UNIT_ATTENTION, asc);
}

static void assert_no_ua(struct scsi_dev *dev, uint32_t lun, uint64_t initiator)
{
	struct st_task st;

	assert_int_equal(run(dev, &st, lun, initiator, tur, sizeof(tur)), 0);
}

static void test_power_on_once_per_initiator(void **state)
{
	struct st_disk d;
	struct scsi_dev *dev;
	struct scsi_lun_opts opts;
	struct st_task st;

	(void)state;
	st_disk_malloc(&d, "M", 64, 512, NULL);
	opts = st_lun_opts(&d, false);
	assert_int_equal(scsi_dev_create("t", 0, &dev), 0);
	assert_int_equal(scsi_dev_add_lun(dev, 0, d.desc, d.ch, &opts), 0);
	/* INQUIRY and REPORT LUNS pass and leave it pending. */
	assert_int_equal(run(dev, &st, 0, 1, inquiry, sizeof(inquiry)), 0);
	assert_int_equal(run(dev, &st, 0, 1, report_luns, sizeof(report_luns)), 0);
	assert_ua(dev, 0, 1, SCSI_ASC_POWER_ON_RESET);
	assert_no_ua(dev, 0, 1);
	/* Another initiator has its own. */
	assert_ua(dev, 0, 2, SCSI_ASC_POWER_ON_RESET);
	assert_no_ua(dev, 0, 2);
	assert_no_ua(dev, 0, 1);
	scsi_dev_destroy(dev, NULL, NULL);
	st_disk_close(&d);
}

/* Copies of a LUN on two threads (two devs) sharing one word: each condition is reported once,
 * on whichever copy the next command reaches - POWER ON first, a capacity change both copies
 * noticed later. */
static void test_copies_share_unit_attentions(void **state)
{
	struct st_disk d;
	struct scsi_dev *a, *b;
	struct scsi_lun_opts opts;
	struct scsi_lun_shared shared;

	(void)state;
	st_disk_malloc(&d, "M", 64, 512, NULL);
	opts = st_lun_opts(&d, false);
	scsi_lun_shared_init(&shared, 64);
	opts.shared = &shared;
	assert_int_equal(scsi_dev_create("a", 0, &a), 0);
	assert_int_equal(scsi_dev_create("b", 0, &b), 0);
	assert_int_equal(scsi_dev_add_lun(a, 0, d.desc, d.ch, &opts), 0);
	assert_int_equal(scsi_dev_add_lun(b, 0, d.desc, d.ch, &opts), 0);
	assert_ua(b, 0, 1, SCSI_ASC_POWER_ON_RESET);
	assert_no_ua(a, 0, 1);
	assert_no_ua(b, 0, 1);
	assert_int_equal(bdev_notify_resize(bdev_desc_bdev(d.desc), 128), 0);
	/* Copy a notices and reports it; b notices only after that: still once. */
	assert_true(scsi_lun_notify_resize(scsi_dev_get_lun(a, 0)));
	assert_ua(a, 0, 1, SCSI_ASC_CAPACITY_CHANGED);
	assert_true(scsi_lun_notify_resize(scsi_dev_get_lun(b, 0)));
	assert_no_ua(b, 0, 1);
	/* A new initiator (the guest rebooted): POWER ON again, once. */
	scsi_lun_shared_init(&shared, 128);
	assert_ua(a, 0, 1, SCSI_ASC_POWER_ON_RESET);
	assert_no_ua(b, 0, 1);
	scsi_dev_destroy(a, NULL, NULL);
	scsi_dev_destroy(b, NULL, NULL);
	st_disk_close(&d);
}

/* REQUEST SENSE returns a pending condition as its data, with GOOD status, and clears it. */
static void test_request_sense_takes_it(void **state)
{
	struct st_target t;
	struct st_task st;
	uint8_t cdb[6] = { 0x03, 0, 0, 0, 18, 0 }, data[18];
	struct scsi_sense s;

	(void)state;
	st_target_up(&t, 64, 512);
	st_prepare(&st, 0, cdb, 6, SCSI_DIR_FROM_DEV, data, sizeof(data));
	st.t.initiator = 9;
	scsi_dev_execute(t.dev, &st.t);
	assert_int_equal(st_wait(&st), 0);
	assert_int_equal(st.t.sense_len, 0);
	assert_int_equal(scsi_sense_parse(data, sizeof(data), &s), 0);
	assert_int_equal(s.key, SCSI_SK_UNIT_ATTENTION);
	assert_int_equal(s.asc, SCSI_ASC_POWER_ON_RESET);
	assert_no_ua(t.dev, 0, 9);
	st_target_down(&t);
}

static void test_capacity_change(void **state)
{
	struct st_target t;
	struct st_task st;
	uint8_t rc10[10] = { 0x25 }, buf[8];

	(void)state;
	assert_int_equal(bdev_null_create("N", 2048, 512, NULL, NULL), 0);
	st_target_up_on(&t, "N");
	st_clear_ua(t.dev, 0, 2);
	/* Resize, then tell the LUN: every initiator sees it once. */
	assert_int_equal(bdev_null_resize("N", 2), 0);
	assert_true(scsi_lun_notify_resize(scsi_dev_get_lun(t.dev, 0)));
	assert_false(scsi_lun_notify_resize(scsi_dev_get_lun(t.dev, 0)));
	assert_ua(t.dev, 0, ST_INITIATOR, SCSI_ASC_CAPACITY_CHANGED);
	assert_no_ua(t.dev, 0, ST_INITIATOR);
	assert_ua(t.dev, 0, 2, SCSI_ASC_CAPACITY_CHANGED);
	assert_int_equal(st_exec(t.dev, &st, 0, rc10, 10, SCSI_DIR_FROM_DEV, buf, 8), 0);
	assert_int_equal(buf[2] << 8 | buf[3], 4095);
	/* Without the notification the next command finds it anyway. */
	assert_int_equal(bdev_null_resize("N", 3), 0);
	assert_ua(t.dev, 0, ST_INITIATOR, SCSI_ASC_CAPACITY_CHANGED);
	assert_int_equal(st_exec(t.dev, &st, 0, rc10, 10, SCSI_DIR_FROM_DEV, buf, 8), 0);
	assert_int_equal(buf[2] << 8 | buf[3], 6143);
	/* ... and the resize does not get reported twice. */
	assert_false(scsi_lun_notify_resize(scsi_dev_get_lun(t.dev, 0)));
	assert_no_ua(t.dev, 0, ST_INITIATOR);
	st_target_down(&t);
}

static void tmf_done(struct scsi_tmf *tmf)
{
	*(bool *)tmf->done_arg = true;
}

static void run_tmf(struct scsi_dev *dev, enum scsi_tmf_type type, uint64_t initiator)
{
	bool done = false;
	struct scsi_tmf tmf = { .type = type, .initiator = initiator, .done = tmf_done,
				.done_arg = &done };

	scsi_lun_tmf(scsi_dev_get_lun(dev, 0), &tmf);
	assert_true(done);
	assert_int_equal(tmf.response, SCSI_TMF_COMPLETE);
}

static void test_lun_reset(void **state)
{
	struct st_target t;
	uint8_t list[16] = { 0, 0, 0, 0, 0x0a, 0x0a, 0x04 }, sel[6] = { 0x15, 0x10, 0, 0, 16, 0 };
	struct st_task st;

	(void)state;
	st_target_up(&t, 64, 512);
	st_clear_ua(t.dev, 0, 2);
	assert_int_equal(st_exec(t.dev, &st, 0, sel, 6, SCSI_DIR_TO_DEV, list, 16), 0);
	st_clear_ua(t.dev, 0, 2); /* MODE PARAMETERS CHANGED */
	run_tmf(t.dev, SCSI_TMF_LUN_RESET, ST_INITIATOR);
	/* INQUIRY still passes; TEST UNIT READY reports the reset, for every initiator. */
	assert_int_equal(run(t.dev, &st, 0, 2, inquiry, sizeof(inquiry)), 0);
	assert_ua(t.dev, 0, ST_INITIATOR, SCSI_ASC_LUN_RESET_OCCURRED);
	assert_ua(t.dev, 0, 2, SCSI_ASC_LUN_RESET_OCCURRED);
	assert_no_ua(t.dev, 0, 2);
	/* Mode parameters are back to their defaults: fixed-format sense again. */
	run(t.dev, &st, 0, ST_INITIATOR, (uint8_t[6]){ 0x02 }, 6);
	assert_int_equal(st.t.sense[0], 0x70);
	st_target_down(&t);
}

static void test_nexus_reset_is_per_initiator(void **state)
{
	struct st_target t;

	(void)state;
	st_target_up(&t, 64, 512);
	st_clear_ua(t.dev, 0, 2);
	run_tmf(t.dev, SCSI_TMF_I_T_NEXUS_RESET, 2);
	assert_no_ua(t.dev, 0, ST_INITIATOR);
	assert_ua(t.dev, 0, 2, SCSI_ASC_NEXUS_LOSS);
	assert_no_ua(t.dev, 0, 2);
	st_target_down(&t);
}

static void test_reported_luns_changed(void **state)
{
	struct st_target t;
	struct st_disk d;
	struct scsi_lun_opts opts;
	struct st_task st;

	(void)state;
	st_target_up(&t, 64, 512);
	st_disk_malloc(&d, "M1", 64, 512, NULL);
	opts = st_lun_opts(&d, false);
	assert_int_equal(scsi_dev_add_lun(t.dev, 1, d.desc, d.ch, &opts), 0);
	/* LUN 0 reports the new inventory; LUN 1 is new: POWER ON there. */
	assert_ua(t.dev, 0, ST_INITIATOR, SCSI_ASC_REPORTED_LUNS_CHANGED);
	assert_no_ua(t.dev, 0, ST_INITIATOR);
	assert_ua(t.dev, 1, ST_INITIATOR, SCSI_ASC_POWER_ON_RESET);
	assert_no_ua(t.dev, 1, ST_INITIATOR);
	/* Removing LUN 1: again on LUN 0; REPORT LUNS clears it without reporting it. */
	assert_int_equal(scsi_dev_remove_lun(t.dev, 1), 0);
	assert_int_equal(d.lun_removed, 1);
	assert_int_equal(run(t.dev, &st, 0, ST_INITIATOR, report_luns, sizeof(report_luns)), 0);
	assert_int_equal(st.t.transferred, 16);
	assert_no_ua(t.dev, 0, ST_INITIATOR);
	st_disk_close(&d);
	st_target_down(&t);
}

static void test_priority_and_unknown_opcode(void **state)
{
	struct st_target t;
	struct st_task st;

	(void)state;
	assert_int_equal(bdev_null_create("N", 2048, 512, NULL, NULL), 0);
	st_target_up_on(&t, "N");
	/* Capacity changed, then a LUN reset: the reset is reported first, then the capacity. */
	assert_int_equal(bdev_null_resize("N", 2), 0);
	assert_true(scsi_lun_notify_resize(scsi_dev_get_lun(t.dev, 0)));
	run_tmf(t.dev, SCSI_TMF_LUN_RESET, ST_INITIATOR);
	/* A pending unit attention is reported even before an unknown opcode. */
	run(t.dev, &st, 0, ST_INITIATOR, (uint8_t[6]){ 0x02 }, 6);
	st_assert_sense(&st, SCSI_SK_UNIT_ATTENTION, SCSI_ASC_LUN_RESET_OCCURRED);
	assert_ua(t.dev, 0, ST_INITIATOR, SCSI_ASC_CAPACITY_CHANGED);
	run(t.dev, &st, 0, ST_INITIATOR, (uint8_t[6]){ 0x02 }, 6);
	st_assert_sense(&st, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_INVALID_OPCODE);
	st_target_down(&t);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, st_setup, st_teardown)
	const struct CMUnitTest tests[] = {
		T(test_power_on_once_per_initiator),
		T(test_copies_share_unit_attentions),
		T(test_request_sense_takes_it),
		T(test_capacity_change),
		T(test_lun_reset),
		T(test_nexus_reset_is_per_initiator),
		T(test_reported_luns_changed),
		T(test_priority_and_unknown_opcode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
