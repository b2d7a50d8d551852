/*
 * The LUN state machine and task management, with I/O held in flight by an error bdev
 * (PENDING): REMOVING refuses new tasks while in-flight ones finish, multi-step commands issue
 * no I/O once the LUN is REMOVING or the task aborted, TMFs wait for the tasks they abort, and
 * callbacks may remove or destroy from inside.
 */
#include "scsi_test.h"

#include <errno.h>
#include <string.h>

static const uint8_t tur[6] = { 0 };

/* Target "t0", LUN 0 on EE_Base over a malloc bdev "Base". */
static void up(struct st_target *t, uint64_t blocks)
{
	assert_int_equal(bdev_malloc_create("Base", blocks, 512, NULL, NULL), 0);
	assert_int_equal(bdev_error_create("Base", NULL, NULL), 0);
	st_target_up_on(t, "EE_Base");
}

static struct bdev_iostat base_stat(void)
{
	struct bdev_iostat s;

	bdev_iostat_get(bdev_get_by_name("Base"), &s);
	return s;
}

/* Starts a one-block READ with tag, from initiator, held when the error bdev holds reads. */
static void start_read(struct scsi_dev *dev, struct st_task *st, uint64_t initiator, uint64_t tag,
		       uint8_t *buf)
{
	uint8_t cdb[16];

	st_cdb_rw(cdb, 0x28, 1, 1);
	st_prepare(st, 0, cdb, 10, SCSI_DIR_FROM_DEV, buf, 512);
	st->t.initiator = initiator;
	st->t.tag = tag;
	scsi_dev_execute(dev, &st->t);
}

static void test_removing_refuses_new_tasks(void **state)
{
	struct st_target t;
	struct st_task rd, st;
	struct scsi_lun *lun;
	struct scsi_lun_opts opts;
	uint8_t buf[512], inq[36];

	(void)state;
	up(&t, 64);
	lun = scsi_dev_get_lun(t.dev, 0);
	assert_int_equal(scsi_lun_id(lun), 0);
	assert_ptr_equal(scsi_lun_bdev(lun), t.disk.bdev);
	assert_int_equal(bdev_error_inject("EE_Base", BDEV_IO_READ, BDEV_ERROR_PENDING, 1), 0);
	start_read(t.dev, &rd, ST_INITIATOR, 1, buf);
	test_reactor_run_for(5);
	assert_false(rd.done);
	assert_int_equal(scsi_lun_inflight(lun), 1);
	assert_int_equal(scsi_dev_remove_lun(t.dev, 0), 0);
	assert_int_equal(scsi_lun_state(lun), SCSI_LUN_REMOVING);
	assert_int_equal(scsi_dev_remove_lun(t.dev, 0), -EALREADY);
	assert_int_equal(t.disk.lun_removed, 0);
	/* New tasks never reach it. */
	st_exec(t.dev, &st, 0, tur, 6, SCSI_DIR_NONE, NULL, 0);
	st_assert_sense(&st, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_LUN_NOT_SUPPORTED);
	assert_int_equal(st_exec(t.dev, &st, 0, (uint8_t[6]){ 0x12, 0, 0, 0, 36, 0 }, 6,
				 SCSI_DIR_FROM_DEV, inq, sizeof(inq)), 0);
	assert_int_equal(inq[0], 0x7f);
	assert_int_equal(scsi_lun_inflight(lun), 1);
	/* Its number stays taken until it is gone. */
	opts = st_lun_opts(&t.disk, false);
	assert_int_equal(scsi_dev_add_lun(t.dev, 0, t.disk.desc, t.disk.ch, &opts), -EEXIST);
	/* The held READ finishes normally; then the LUN is freed. */
	assert_int_equal(bdev_error_clear("EE_Base"), 0);
	assert_int_equal(st_wait(&rd), 0);
	assert_int_equal(rd.t.transferred, 512);
	assert_int_equal(t.disk.lun_removed, 1);
	assert_null(scsi_dev_get_lun(t.dev, 0));
	assert_int_equal(scsi_dev_remove_lun(t.dev, 0), -ENODEV);
	/* The number can be used again. */
	assert_int_equal(scsi_dev_add_lun(t.dev, 0, t.disk.desc, t.disk.ch, &opts), 0);
	st_clear_ua(t.dev, 0, ST_INITIATOR);
	st_target_down(&t);
}

static void test_add_remove_errors(void **state)
{
	struct st_target t;
	struct scsi_lun_opts opts;
	struct scsi_dev *dev;

	(void)state;
	assert_int_equal(scsi_dev_create(NULL, 0, &dev), -EINVAL);
	assert_int_equal(scsi_dev_create("x", -1, &dev), -EINVAL);
	st_target_up(&t, 64, 512);
	opts = st_lun_opts(&t.disk, false);
	assert_int_equal(scsi_dev_add_lun(t.dev, SCSI_DEV_MAX_LUNS, t.disk.desc, t.disk.ch, &opts),
			 -EINVAL);
	assert_int_equal(scsi_dev_add_lun(t.dev, 1, NULL, t.disk.ch, &opts), -EINVAL);
	assert_int_equal(scsi_dev_add_lun(t.dev, 1, t.disk.desc, NULL, &opts), -EINVAL);
	assert_int_equal(scsi_dev_add_lun(t.dev, 0, t.disk.desc, t.disk.ch, &opts), -EEXIST);
	assert_int_equal(scsi_dev_remove_lun(t.dev, 7), -ENODEV);
	assert_int_equal(scsi_dev_remove_lun(t.dev, 1u << 31), -ENODEV);
	assert_null(scsi_dev_get_lun(t.dev, 1u << 31));
	/* A LUN with no options has no callback to call. */
	assert_int_equal(scsi_dev_add_lun(t.dev, 255, t.disk.desc, t.disk.ch, NULL), 0);
	/* Removing an idle LUN finishes at once. */
	assert_int_equal(scsi_dev_remove_lun(t.dev, 0), 0);
	assert_int_equal(t.disk.lun_removed, 1);
	st_target_down(&t);
}

static void flag_set(void *arg)
{
	*(bool *)arg = true;
}

static void test_destroy_waits_for_inflight(void **state)
{
	struct st_target t;
	struct st_task rd, st;
	struct scsi_lun_opts opts;
	uint8_t buf[512];
	bool destroyed = false;

	(void)state;
	up(&t, 64);
	assert_int_equal(bdev_error_inject("EE_Base", BDEV_IO_READ, BDEV_ERROR_PENDING, 1), 0);
	start_read(t.dev, &rd, ST_INITIATOR, 1, buf);
	scsi_dev_destroy(t.dev, flag_set, &destroyed);
	test_reactor_run_for(5);
	assert_false(destroyed);
	st_exec(t.dev, &st, 0, tur, 6, SCSI_DIR_NONE, NULL, 0);
	st_assert_sense(&st, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_LUN_NOT_SUPPORTED);
	opts = st_lun_opts(&t.disk, false);
	assert_int_equal(scsi_dev_add_lun(t.dev, 3, t.disk.desc, t.disk.ch, &opts), -ENODEV);
	assert_int_equal(bdev_error_clear("EE_Base"), 0);
	assert_true(test_reactor_run_until(&destroyed));
	assert_true(rd.done);
	assert_int_equal(t.disk.lun_removed, 1);
	st_disk_close(&t.disk);
}

static void test_no_io_reaches_a_removing_lun(void **state)
{
	struct st_target t;
	struct st_task st;
	uint8_t list[8 + 3 * 16] = { 0, 54, 0, 48 }, cdb[10] = { 0x42, [8] = sizeof(list) };
	uint64_t unmaps;

	(void)state;
	up(&t, 64);
	for (int i = 0; i < 3; i++) {
		list[8 + 16 * i + 7] = (uint8_t)(10 * i);
		list[8 + 16 * i + 11] = 2;
	}
	unmaps = base_stat().num_unmap_ops;
	assert_int_equal(bdev_error_inject("EE_Base", BDEV_IO_UNMAP, BDEV_ERROR_PENDING, 1), 0);
	st_start(t.dev, &st, 0, cdb, sizeof(cdb), SCSI_DIR_TO_DEV, list, sizeof(list));
	test_reactor_run_for(5);
	assert_false(st.done);
	assert_int_equal(scsi_dev_remove_lun(t.dev, 0), 0);
	assert_int_equal(bdev_error_clear("EE_Base"), 0);
	st_wait(&st);
	/* The held first range went through; the other two were never issued. */
	st_assert_sense(&st, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_LUN_NOT_SUPPORTED);
	assert_int_equal(base_stat().num_unmap_ops, unmaps + 1);
	assert_int_equal(t.disk.lun_removed, 1);
	st_target_down(&t);
}

struct order {
	int seq;
	int task_at, tmf_at;
};

static struct order order;

static void tmf_done(struct scsi_tmf *tmf)
{
	*(bool *)tmf->done_arg = true;
	order.tmf_at = ++order.seq;
}

static void ordered_task_done(struct scsi_task *task)
{
	struct st_task *st = task->done_arg;

	st->done = true;
	st->calls++;
	order.task_at = ++order.seq;
}

static void test_abort_task_waits_for_it(void **state)
{
	struct st_target t;
	struct st_task rd;
	struct scsi_lun *lun;
	uint8_t buf[512];
	bool done = false;
	struct scsi_tmf tmf = { .type = SCSI_TMF_ABORT_TASK, .initiator = ST_INITIATOR, .tag = 7,
				.done = tmf_done, .done_arg = &done };

	(void)state;
	up(&t, 64);
	lun = scsi_dev_get_lun(t.dev, 0);
	assert_int_equal(bdev_error_inject("EE_Base", BDEV_IO_READ, BDEV_ERROR_PENDING, 1), 0);
	memset(&order, 0, sizeof(order));
	start_read(t.dev, &rd, ST_INITIATOR, 7, buf);
	rd.t.done = ordered_task_done;
	/* QUERY TASK finds it, another tag is not there. */
	tmf.type = SCSI_TMF_QUERY_TASK;
	scsi_lun_tmf(lun, &tmf);
	assert_true(done);
	assert_int_equal(tmf.response, SCSI_TMF_SUCCEEDED);
	done = false;
	tmf.tag = 8;
	scsi_lun_tmf(lun, &tmf);
	assert_int_equal(tmf.response, SCSI_TMF_COMPLETE);
	/* ABORT TASK of an unknown tag: complete at once. */
	done = false;
	tmf.type = SCSI_TMF_ABORT_TASK;
	scsi_lun_tmf(lun, &tmf);
	assert_true(done);
	/* The right tag from another initiator is not this task. */
	done = false;
	tmf.tag = 7;
	tmf.initiator = 2;
	scsi_lun_tmf(lun, &tmf);
	assert_true(done);
	/* Now for real: done only after the task ended, with TASK ABORTED. */
	done = false;
	order.seq = 0;
	tmf.initiator = ST_INITIATOR;
	scsi_lun_tmf(lun, &tmf);
	test_reactor_run_for(5);
	assert_false(done);
	assert_false(rd.done);
	assert_int_equal(bdev_error_clear("EE_Base"), 0);
	assert_true(test_reactor_run_until(&done));
	assert_true(rd.done);
	assert_int_equal(rd.t.status, SCSI_STATUS_TASK_ABORTED);
	assert_int_equal(rd.t.sense_len, 0);
	assert_true(order.task_at < order.tmf_at);
	assert_int_equal(tmf.response, SCSI_TMF_COMPLETE);
	/* An unknown function is rejected. */
	done = false;
	tmf.type = (enum scsi_tmf_type)99;
	scsi_lun_tmf(lun, &tmf);
	assert_true(done);
	assert_int_equal(tmf.response, SCSI_TMF_REJECTED);
	st_target_down(&t);
}

static void test_task_set_and_lun_reset(void **state)
{
	struct st_target t;
	struct st_task a, b, c;
	struct scsi_lun *lun;
	uint8_t buf[3][512];
	bool done = false;
	struct scsi_tmf tmf = { .type = SCSI_TMF_ABORT_TASK_SET, .initiator = ST_INITIATOR,
				.done = tmf_done, .done_arg = &done };

	(void)state;
	up(&t, 64);
	st_clear_ua(t.dev, 0, 2);
	lun = scsi_dev_get_lun(t.dev, 0);
	assert_int_equal(bdev_error_inject("EE_Base", BDEV_IO_READ, BDEV_ERROR_PENDING, 3), 0);
	start_read(t.dev, &a, ST_INITIATOR, 1, buf[0]);
	start_read(t.dev, &b, 2, 1, buf[1]);
	start_read(t.dev, &c, ST_INITIATOR, 2, buf[2]);
	scsi_lun_tmf(lun, &tmf);
	assert_false(done);
	assert_int_equal(bdev_error_clear("EE_Base"), 0);
	assert_true(test_reactor_run_until(&done));
	assert_true(test_reactor_run_until(&b.done));
	assert_int_equal(a.t.status, SCSI_STATUS_TASK_ABORTED);
	assert_int_equal(c.t.status, SCSI_STATUS_TASK_ABORTED);
	assert_int_equal(b.t.status, SCSI_STATUS_GOOD);
	/* LUN RESET: every initiator's task. With nothing in flight it completes at once. */
	assert_int_equal(bdev_error_inject("EE_Base", BDEV_IO_READ, BDEV_ERROR_PENDING, 2), 0);
	start_read(t.dev, &a, ST_INITIATOR, 1, buf[0]);
	start_read(t.dev, &b, 2, 1, buf[1]);
	done = false;
	tmf.type = SCSI_TMF_LUN_RESET;
	scsi_lun_tmf(lun, &tmf);
	assert_false(done);
	/* A task started after the reset is not part of it. */
	assert_int_equal(st_exec(t.dev, &c, 0, tur, 6, SCSI_DIR_NONE, NULL, 0), 2);
	assert_int_equal(bdev_error_clear("EE_Base"), 0);
	assert_true(test_reactor_run_until(&done));
	assert_true(test_reactor_run_until(&b.done));
	assert_int_equal(a.t.status, SCSI_STATUS_TASK_ABORTED);
	assert_int_equal(b.t.status, SCSI_STATUS_TASK_ABORTED);
	done = false;
	scsi_lun_tmf(lun, &tmf);
	assert_true(done);
	st_target_down(&t);
}

static void test_aborted_task_issues_no_more_io(void **state)
{
	struct st_target t;
	struct st_task ws;
	uint8_t block[512], cdb[16];
	uint64_t writes;
	bool done = false;
	struct scsi_tmf tmf = { .type = SCSI_TMF_ABORT_TASK, .initiator = ST_INITIATOR, .tag = 5,
				.done = tmf_done, .done_arg = &done };

	(void)state;
	up(&t, 2048);
	st_fill(block, sizeof(block), 1);
	writes = base_stat().num_write_ops;
	/* WRITE SAME of a pattern over 1200 blocks: three bounce-buffer writes. */
	assert_int_equal(bdev_error_inject("EE_Base", BDEV_IO_WRITE, BDEV_ERROR_PENDING, 1), 0);
	st_cdb_rw(cdb, 0x93, 0, 1200);
	st_prepare(&ws, 0, cdb, 16, SCSI_DIR_TO_DEV, block, sizeof(block));
	ws.t.tag = 5;
	scsi_dev_execute(t.dev, &ws.t);
	scsi_lun_tmf(scsi_dev_get_lun(t.dev, 0), &tmf);
	assert_int_equal(bdev_error_clear("EE_Base"), 0);
	assert_true(test_reactor_run_until(&done));
	assert_int_equal(ws.t.status, SCSI_STATUS_TASK_ABORTED);
	assert_int_equal(base_stat().num_write_ops, writes + 1);
	st_target_down(&t);
}

/* Done callbacks that tear things down. */
struct reentry {
	struct st_task st;
	struct scsi_dev *dev;
	bool destroy;
	bool destroyed;
};

static void reentry_done(struct scsi_task *task)
{
	struct reentry *r = task->done_arg;

	r->st.done = true;
	if (r->destroy)
		scsi_dev_destroy(r->dev, flag_set, &r->destroyed);
	else
		assert_int_equal(scsi_dev_remove_lun(r->dev, 0), 0);
}

static void test_teardown_from_a_done_callback(void **state)
{
	struct st_target t;
	struct reentry r = { 0 };
	uint8_t buf[512], cdb[16];

	(void)state;
	/* The last in-flight task removes its LUN from its own completion. */
	st_target_up(&t, 64, 512);
	r.dev = t.dev;
	st_cdb_rw(cdb, 0x28, 0, 1);
	st_prepare(&r.st, 0, cdb, 10, SCSI_DIR_FROM_DEV, buf, sizeof(buf));
	r.st.t.done = reentry_done;
	r.st.t.done_arg = &r;
	scsi_dev_execute(t.dev, &r.st.t);
	assert_true(test_reactor_run_until(&r.st.done));
	assert_int_equal(t.disk.lun_removed, 1);
	assert_null(scsi_dev_get_lun(t.dev, 0));
	st_target_down(&t);
	/* A command answered inside scsi_dev_execute destroys the whole target. */
	st_target_up(&t, 64, 512);
	memset(&r, 0, sizeof(r));
	r.dev = t.dev;
	r.destroy = true;
	st_prepare(&r.st, 0, tur, 6, SCSI_DIR_NONE, NULL, 0);
	r.st.t.done = reentry_done;
	r.st.t.done_arg = &r;
	scsi_dev_execute(t.dev, &r.st.t);
	assert_true(r.destroyed);
	assert_int_equal(t.disk.lun_removed, 1);
	/* Also from a task on a missing LUN (answered by the dev itself). */
	assert_int_equal(scsi_dev_create("t1", 1, &r.dev), 0);
	r.destroyed = false;
	st_prepare(&r.st, 4, tur, 6, SCSI_DIR_NONE, NULL, 0);
	r.st.t.done = reentry_done;
	r.st.t.done_arg = &r;
	scsi_dev_execute(r.dev, &r.st.t);
	assert_true(r.destroyed);
	st_disk_close(&t.disk);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, st_setup, st_teardown)
	const struct CMUnitTest tests[] = {
		T(test_removing_refuses_new_tasks),
		T(test_add_remove_errors),
		T(test_destroy_waits_for_inflight),
		T(test_no_io_reaches_a_removing_lun),
		T(test_abort_task_waits_for_it),
		T(test_task_set_and_lun_reset),
		T(test_aborted_task_issues_no_more_io),
		T(test_teardown_from_a_done_callback),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
