/*
 * Targets coming and going under a connected front-end, against a real vhostd: RESCAN and
 * REMOVED events on the eventq (also when no buffer was posted: they wait; past the bound the
 * guest gets EVENTS_MISSED), removal with I/O held in flight (no new I/O reaches the LUN, the
 * event comes only after the drain), a bdev deleted underneath, a resize (unit attention plus a
 * PARAM_CHANGE event), and the session stopping while a target is REMOVING (trap 1).
 */
#include "test_clock.h"
#include "scsi_test.h"
#include "tap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define QUIET_MS 300 /* how long "nothing arrives" is watched */
#define HELD 4

static bool event_is(const struct virtio_scsi_event *ev, uint32_t event, int target,
		     uint32_t reason)
{
	return ev->event == event && ev->lun[0] == 1 && ev->lun[1] == target &&
	       ev->lun[2] == 0 && ev->lun[3] == 0 && ev->reason == reason;
}

static void expect_event(struct vu_front *f, uint32_t event, int target, uint32_t reason)
{
	struct virtio_scsi_event ev;
	int rc = sf_event_wait(f, ST_TIMEOUT_MS, &ev);

	CHECK_EQ(rc, 1);
	CHECK_MSG(rc != 1 || event_is(&ev, event, target, reason),
		  "event %#x target %u reason %u, expected %#x %d %u", ev.event, ev.lun[1],
		  ev.reason, event, target, reason);
}

static bool target_listed(struct test_daemon *d, const char *ctrlr, int num)
{
	json_t *list = it_call(d, "vhost_get_controllers", json_pack("{s:s}", "name", ctrlr));
	json_t *scsi = json_object_get(json_object_get(json_array_get(list, 0), "backend_specific"),
				       "scsi"), *t;
	bool found = false;
	size_t i;

	json_array_foreach(scsi, i, t)
		found |= json_integer_value(json_object_get(t, "scsi_dev_num")) == num;
	json_decref(list);
	return found;
}

/* A connected guest sees a new target through a RESCAN event and can use it on every queue. */
static void test_hot_add_event(void)
{
	struct test_daemon *d = test_daemon_start("-m 0x3 --poll adaptive");
	struct vu_front *f;
	struct sf_result res;
	struct virtio_scsi_event ev;
	uint8_t inq[36];
	long long start;

	REQUIRE(d);
	REQUIRE(st_setup(d, "sc", "M", 1));
	REQUIRE(it_malloc(d, "N", 4096, 512));
	f = st_connect(d, "sc", 2);
	REQUIRE(f);
	REQUIRE(sf_event_post(f, 4) == 0);
	CHECK_EQ(sf_event_wait(f, QUIET_MS, &ev), 0);
	CHECK_EQ(st_inquiry(f, SF_IOQ, 3, inq, sizeof(inq), &res), 0);
	CHECK_EQ(res.response, VIRTIO_SCSI_S_BAD_TARGET);
	json_decref(st_add_target(d, "sc", 3, "N"));
	expect_event(f, VIRTIO_SCSI_T_TRANSPORT_RESET, 3, VIRTIO_SCSI_EVT_RESET_RESCAN);
	for (int q = 0; q < 2; q++) {
		CHECK_EQ(st_inquiry(f, SF_IOQ + q, 3, inq, sizeof(inq), &res), 0);
		CHECK_EQ(res.response, VIRTIO_SCSI_S_OK);
		CHECK_EQ(inq[0] >> 5, 0);
	}
	/* Three event buffers are still held: closing must not wait for them (the queue gives
	 * them back as it stops), so the controller is free at once. */
	start = test_now_ms();
	vu_front_close(f);
	CHECK_MSG(test_now_ms() - start < 1000, "close took %lld ms", test_now_ms() - start);
	CHECK(it_delete_ctrlr(d, "sc"));
	CHECK_MSG(test_now_ms() - start < 1000, "close and delete took %lld ms", test_now_ms() - start);
	CHECK(test_daemon_stop(d, NULL) == 0);
}

/* No eventq buffer when the target comes: the event waits and goes out with the first buffer. */
static void test_event_waits_for_buffer(void)
{
	struct test_daemon *d = test_daemon_start("--poll never");
	struct vu_front *f;
	struct virtio_scsi_event ev;

	REQUIRE(d);
	REQUIRE(st_setup(d, "sc", "M", 1));
	REQUIRE(it_malloc(d, "N", 4096, 512));
	f = st_connect(d, "sc", 1);
	REQUIRE(f);
	json_decref(st_add_target(d, "sc", 8, "N"));
	CHECK(st_remove_target(d, "sc", 0));
	usleep(QUIET_MS * 1000);
	REQUIRE(sf_event_post(f, 1) == 0);
	expect_event(f, VIRTIO_SCSI_T_TRANSPORT_RESET, 8, VIRTIO_SCSI_EVT_RESET_RESCAN);
	CHECK_EQ(sf_event_wait(f, QUIET_MS, &ev), 0); /* one buffer, one event */
	REQUIRE(sf_event_post(f, 1) == 0);
	expect_event(f, VIRTIO_SCSI_T_TRANSPORT_RESET, 0, VIRTIO_SCSI_EVT_RESET_REMOVED);
	vu_front_close(f);
	CHECK(test_daemon_stop(d, NULL) == 0);
}

/* More events than the bound without buffers: the guest gets one EVENTS_MISSED (a full rescan). */
static void test_events_missed(void)
{
	struct test_daemon *d = test_daemon_start("--poll never");
	struct vu_front *f;
	struct virtio_scsi_event ev;

	REQUIRE(d);
	REQUIRE(it_malloc(d, "N", 4096, 512));
	REQUIRE(it_ok(d, "vhost_create_scsi_controller", json_pack("{s:s}", "ctrlr", "sc")));
	f = st_connect(d, "sc", 1);
	REQUIRE(f);
	for (int i = 0; i < 40; i++)
		json_decref(st_add_target(d, "sc", i, "N"));
	usleep(QUIET_MS * 1000);
	REQUIRE(sf_event_post(f, 4) == 0);
	CHECK_EQ(sf_event_wait(f, ST_TIMEOUT_MS, &ev), 1);
	CHECK(ev.event & VIRTIO_SCSI_T_EVENTS_MISSED);
	CHECK_EQ(sf_event_wait(f, QUIET_MS, &ev), 0);
	/* Afterwards events flow one by one again. */
	CHECK(st_remove_target(d, "sc", 39));
	expect_event(f, VIRTIO_SCSI_T_TRANSPORT_RESET, 39, VIRTIO_SCSI_EVT_RESET_REMOVED);
	vu_front_close(f);
	CHECK(test_daemon_stop(d, NULL) == 0);
}

/* Target 1 over an error bdev holding HELD reads per queue. */
static struct vu_front *setup_held(struct test_daemon *d, int nio)
{
	struct vu_front *f;
	struct sf_result res;

	if (!st_setup(d, "sc", "M", 1) || !it_malloc(d, "B", 4096, 512) ||
	    !it_ok(d, "bdev_error_create", json_pack("{s:s}", "base_name", "B")))
		return NULL;
	json_decref(st_add_target(d, "sc", 1, "EE_B"));
	f = it_connect(d, "sc", &(struct vu_front_opts){ .num_queues = SF_IOQ + nio,
						       .connect_timeout_ms = 2000 });
	for (int q = 0; f && q < nio; q++)
		for (int t = 0; t < 2; t++)
			st_test_unit_ready(f, SF_IOQ + q, t, &res); /* POWER ON */
	if (f && (sf_event_post(f, 4) ||
		  !it_ok(d, "bdev_error_inject_error",
			 json_pack("{s:s, s:s, s:s, s:i}", "name", "EE_B", "io_type", "read",
				   "error_type", "pending", "num", HELD * nio)))) {
		vu_front_close(f);
		return NULL;
	}
	return f;
}

static void submit_reads(struct vu_front *f, int q, int n, uint8_t *buf)
{
	uint8_t lun[8], cdb[10] = { 0x28, 0, 0, 0, 0, 0, 0, 0, 8, 0 };

	sf_lun(lun, 1, 0);
	for (int i = 0; i < n; i++)
		CHECK(sf_cmd_submit(f, q, lun, 1000 + i, cdb, sizeof(cdb), buf, 4096, SF_IN));
}

/* Remove with reads held: new commands are refused at once, the REMOVED event waits for the
 * drain, and then the bdev is free. */
static void test_hot_remove_during_io(void)
{
	struct test_daemon *d = test_daemon_start("-m 0x3 --poll adaptive");
	struct vu_front *f;
	struct sf_result res;
	struct virtio_scsi_event ev;
	static uint8_t buf[4096];
	uint64_t tag;
	int done = 0;

	REQUIRE(d);
	f = setup_held(d, 2);
	REQUIRE(f);
	submit_reads(f, SF_IOQ, HELD, buf);
	submit_reads(f, SF_IOQ + 1, HELD, buf);
	usleep(100000);
	CHECK(st_remove_target(d, "sc", 1));
	usleep(100000);
	/* REMOVING: nothing new reaches the LUN. */
	CHECK_EQ(st_rw(f, SF_IOQ, 1, false, 0, buf, 512, &res), 0);
	CHECK(res.response == VIRTIO_SCSI_S_BAD_TARGET ||
	      (res.status == 2 && st_sense_asc(&res) == 0x2500));
	CHECK_EQ(sf_event_wait(f, QUIET_MS, &ev), 0);
	CHECK(!target_listed(d, "sc", 1));
	/* The other target keeps working. */
	CHECK_EQ(st_test_unit_ready(f, SF_IOQ + 1, 0, &res), 0);
	CHECK_EQ(res.status, 0);
	/* Release the held reads: they finish, then the event. */
	CHECK(it_ok(d, "bdev_error_inject_error",
		    json_pack("{s:s, s:s, s:s}", "name", "EE_B", "io_type", "clear", "error_type",
			      "pending")));
	for (int q = 0; q < 2; q++)
		for (int i = 0; i < HELD; i++)
			if (sf_cmd_wait(f, SF_IOQ + q, ST_TIMEOUT_MS, &tag, &res) == 1 &&
			    res.response == VIRTIO_SCSI_S_OK)
				done++;
	CHECK_EQ(done, 2 * HELD);
	expect_event(f, VIRTIO_SCSI_T_TRANSPORT_RESET, 1, VIRTIO_SCSI_EVT_RESET_REMOVED);
	CHECK_EQ(st_test_unit_ready(f, SF_IOQ, 1, &res), 0);
	CHECK_EQ(res.response, VIRTIO_SCSI_S_BAD_TARGET);
	/* Released: the number takes a new target, the bdev can go. */
	json_decref(st_add_target(d, "sc", 1, "M0"));
	expect_event(f, VIRTIO_SCSI_T_TRANSPORT_RESET, 1, VIRTIO_SCSI_EVT_RESET_RESCAN);
	CHECK(it_ok(d, "bdev_error_delete", json_pack("{s:s}", "name", "EE_B")));
	vu_front_close(f);
	CHECK(test_daemon_stop(d, NULL) == 0);
}

/* The bdev deleted under a connected target: same as a removal. */
static void test_bdev_deleted(void)
{
	struct test_daemon *d = test_daemon_start("-m 0x3 --poll adaptive");
	struct vu_front *f;
	struct sf_result res;

	REQUIRE(d);
	REQUIRE(st_setup(d, "sc", "M", 2));
	f = st_connect(d, "sc", 2);
	REQUIRE(f);
	REQUIRE(sf_event_post(f, 2) == 0);
	CHECK(it_ok(d, "bdev_malloc_delete", json_pack("{s:s}", "name", "M1")));
	expect_event(f, VIRTIO_SCSI_T_TRANSPORT_RESET, 1, VIRTIO_SCSI_EVT_RESET_REMOVED);
	CHECK(!target_listed(d, "sc", 1));
	for (int q = 0; q < 2; q++) {
		CHECK_EQ(st_test_unit_ready(f, SF_IOQ + q, 1, &res), 0);
		CHECK_EQ(res.response, VIRTIO_SCSI_S_BAD_TARGET);
	}
	vu_front_close(f);
	CHECK(test_daemon_stop(d, NULL) == 0);
}

/* A resize: CAPACITY DATA HAS CHANGED on every queue's copy and a PARAM_CHANGE event. */
static void test_resize(void)
{
	struct test_daemon *d = test_daemon_start("-m 0x3 --poll adaptive");
	struct vu_front *f;
	struct sf_result res;
	uint64_t blocks;
	uint32_t bs;

	REQUIRE(d);
	REQUIRE(it_ok(d, "bdev_null_create",
		      json_pack("{s:s, s:i, s:i}", "name", "Z", "num_blocks", 2048, "block_size",
				512)));
	REQUIRE(it_ok(d, "vhost_create_scsi_controller", json_pack("{s:s}", "ctrlr", "sc")));
	json_decref(st_add_target(d, "sc", 2, "Z"));
	f = st_connect(d, "sc", 2);
	REQUIRE(f);
	for (int q = 0; q < 2; q++)
		st_test_unit_ready(f, SF_IOQ + q, 2, &res);
	REQUIRE(sf_event_post(f, 2) == 0);
	CHECK(it_ok(d, "bdev_null_resize", json_pack("{s:s, s:i}", "name", "Z", "new_size", 4)));
	expect_event(f, VIRTIO_SCSI_T_PARAM_CHANGE, 2, 0x2a | 0x09 << 8);
	/* One initiator, one report, on whichever queue asks first. */
	CHECK_EQ(st_test_unit_ready(f, SF_IOQ + 1, 2, &res), 0);
	CHECK_EQ(res.status, 2);
	CHECK_EQ(st_sense_key(&res), 6);
	CHECK_EQ(st_sense_asc(&res), 0x2a09);
	for (int q = 0; q < 2; q++) {
		CHECK_EQ(st_test_unit_ready(f, SF_IOQ + q, 2, &res), 0);
		CHECK_EQ(res.status, 0);
		CHECK_EQ(st_read_capacity(f, SF_IOQ + q, 2, &blocks, &bs, &res), 0);
		CHECK_EQ(blocks, 4 * 2048);
	}
	vu_front_close(f);
	CHECK(test_daemon_stop(d, NULL) == 0);
}

/* The front-end goes away while a target is REMOVING with reads held (trap 1): once the reads
 * are let go everything finishes — the controller can be deleted and the daemon stops cleanly. */
static void test_session_stop_while_removing(void)
{
	struct test_daemon *d = test_daemon_start("-m 0x3 --poll adaptive");
	struct vu_front *f;
	static uint8_t buf[4096];

	REQUIRE(d);
	f = setup_held(d, 1);
	REQUIRE(f);
	submit_reads(f, SF_IOQ, HELD, buf);
	usleep(100000);
	CHECK(st_remove_target(d, "sc", 1));
	vu_front_close(f); /* gives up waiting for the held queue after its timeout */
	CHECK(test_daemon_alive(d));
	CHECK(it_ok(d, "bdev_error_inject_error",
		    json_pack("{s:s, s:s, s:s}", "name", "EE_B", "io_type", "clear", "error_type",
			      "pending")));
	CHECK(it_delete_ctrlr(d, "sc"));
	CHECK(it_ok(d, "bdev_error_delete", json_pack("{s:s}", "name", "EE_B")));
	CHECK(test_daemon_stop(d, NULL) == 0);
}

/* The same without held I/O: remove then disconnect at once; nothing waits. */
static void test_disconnect_right_after_remove(void)
{
	struct test_daemon *d = test_daemon_start("-m 0x3 --poll adaptive");
	struct vu_front *f;
	struct sf_result res;
	static uint8_t buf[4096];

	REQUIRE(d);
	REQUIRE(st_setup(d, "sc", "M", 3));
	f = st_connect(d, "sc", 2);
	REQUIRE(f);
	CHECK_EQ(st_rw(f, SF_IOQ, 1, false, 0, buf, sizeof(buf), &res), 0);
	CHECK(st_remove_target(d, "sc", 1));
	CHECK(st_remove_target(d, "sc", 2));
	vu_front_close(f);
	CHECK(it_delete_ctrlr(d, "sc"));
	CHECK(it_ok(d, "bdev_malloc_delete", json_pack("{s:s}", "name", "M1")));
	CHECK(test_daemon_stop(d, NULL) == 0);
}

/* Rounds of: add a target, put reads in flight on two queues, remove it at once. Every read comes
 * back (done, or refused as the LUN goes), and each round ends with RESCAN then REMOVED. */
static void test_remove_under_load(void)
{
	struct test_daemon *d = test_daemon_start("-m 0x3 --poll adaptive");
	struct vu_front *f;
	struct sf_result res;
	static uint8_t buf[4096];
	uint64_t tag;
	int odd = 0;

	REQUIRE(d);
	REQUIRE(st_setup(d, "sc", "M", 2));
	f = it_connect(d, "sc", &(struct vu_front_opts){ .num_queues = SF_IOQ + 2,
						       .mem_size = 128 << 20 });
	REQUIRE(f);
	REQUIRE(sf_event_post(f, 64) == 0);
	CHECK(st_remove_target(d, "sc", 1));
	expect_event(f, VIRTIO_SCSI_T_TRANSPORT_RESET, 1, VIRTIO_SCSI_EVT_RESET_REMOVED);
	for (int round = 0; round < 10 && !tap_current_failed(); round++) {
		json_decref(st_add_target(d, "sc", 1, "M1"));
		expect_event(f, VIRTIO_SCSI_T_TRANSPORT_RESET, 1, VIRTIO_SCSI_EVT_RESET_RESCAN);
		submit_reads(f, SF_IOQ, 32, buf);
		submit_reads(f, SF_IOQ + 1, 32, buf);
		CHECK(st_remove_target(d, "sc", 1));
		for (int q = 0; q < 2; q++) {
			for (int i = 0; i < 32; i++) {
				if (sf_cmd_wait(f, SF_IOQ + q, ST_TIMEOUT_MS, &tag, &res) != 1) {
					odd++;
					continue;
				}
				/* The POWER ON attention, data, or a refusal once REMOVING. */
				odd += !(res.response == VIRTIO_SCSI_S_BAD_TARGET ||
					 (res.response == VIRTIO_SCSI_S_OK &&
					  (res.status == 0 || st_sense_key(&res) == 6 ||
					   st_sense_asc(&res) == 0x2500)));
			}
		}
		expect_event(f, VIRTIO_SCSI_T_TRANSPORT_RESET, 1, VIRTIO_SCSI_EVT_RESET_REMOVED);
	}
	CHECK_EQ(odd, 0);
	CHECK_EQ(st_test_unit_ready(f, SF_IOQ, 0, &res), 0);
	CHECK_EQ(res.response, VIRTIO_SCSI_S_OK);
	vu_front_close(f);
	CHECK(test_daemon_stop(d, NULL) == 0);
}

int main(int argc, char **argv)
{
	static const struct tap_test tests[] = {
		TAP_TEST(test_hot_add_event),
		TAP_TEST(test_event_waits_for_buffer),
		TAP_TEST(test_events_missed),
		TAP_TEST(test_hot_remove_during_io),
		TAP_TEST(test_bdev_deleted),
		TAP_TEST(test_resize),
		TAP_TEST(test_session_stop_while_removing),
		TAP_TEST(test_disconnect_right_after_remove),
		TAP_TEST(test_remove_under_load),
	};

	return tap_run(tests, TAP_COUNT(tests), argc, argv);
}
