/*
 * vhost-blk controllers over their lifetime, against a real vhostd: the bdev deleted under a
 * connected controller with I/O in flight, resizes reaching the front-end as config-change
 * messages, interrupt coalescing, and save_config replayed by a restarted daemon.
 */
#include "blk_test.h"
#include "blk_xfer.h"
#include "frontend/vu_wire.h"
#include "tap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/virtio_config.h>

#define HELD 3 /* reads held by the error bdev on each of two queues */
/* A front-end closing with reads held waits that long for GET_VRING_BASE (as QEMU would wait). */
#define HELD_OPTS (&(struct vu_front_opts){ .connect_timeout_ms = 2000 })

static bool inject_pending_reads(struct test_daemon *d, const char *ee, int num)
{
	return it_ok(d, "bdev_error_inject_error",
		     json_pack("{s:s, s:s, s:s, s:i}", "name", ee, "io_type", "read", "error_type",
			       "pending", "num", num));
}

static bool bdev_exists(struct test_daemon *d, const char *name)
{
	json_t *result = NULL, *error = NULL;
	int rc = test_daemon_rpc_json(d, "bdev_get_bdevs", json_pack("{s:s}", "name", name),
				      &result, &error);

	json_decref(result);
	json_decref(error);
	return rc == 0;
}

/* Whether params[key] equals value (stolen). */
static bool param_is(json_t *params, const char *key, json_t *value)
{
	bool same = json_equal(json_object_get(params, key), value);

	json_decref(value);
	return same;
}

/* What vhost_get_controllers says of one controller (NULL after recording a failure). */
static json_t *controller_info(struct test_daemon *d, const char *ctrlr)
{
	json_t *list = it_call(d, "vhost_get_controllers", json_pack("{s:s}", "name", ctrlr));
	json_t *info = json_incref(json_array_get(list, 0));

	CHECK_MSG(json_array_size(list) == 1, "vhost_get_controllers %s: not one entry", ctrlr);
	json_decref(list);
	return info;
}

/* Every kind of request on queue q of a controller whose bdev is gone: IOERR, GET_ID still OK. */
static void check_all_fail(struct test_daemon *d, struct vu_front *f, int q, const char *bdev_name)
{
	struct virtio_blk_discard_write_zeroes seg = { 0, 8, 0 };
	uint8_t buf[4096] = { 0 };
	char id[VIRTIO_BLK_ID_BYTES] = { 0 };

	REQUIRE(test_daemon_alive(d)); /* else every request below would wait for its timeout */
	CHECK_EQ(bx_rw(f, q, VIRTIO_BLK_T_IN, 0, buf, sizeof(buf), 2, false), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(bx_rw(f, q, VIRTIO_BLK_T_OUT, 0, buf, sizeof(buf), 1, true), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(vu_blk_request(f, q, VIRTIO_BLK_T_FLUSH, 0, NULL, 0), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(vu_blk_request(f, q, VIRTIO_BLK_T_DISCARD, 0, &seg, sizeof(seg)),
		 VIRTIO_BLK_S_IOERR);
	CHECK_EQ(vu_blk_request(f, q, VIRTIO_BLK_T_WRITE_ZEROES, 0, &seg, sizeof(seg)),
		 VIRTIO_BLK_S_IOERR);
	CHECK_EQ(vu_blk_request(f, q, 99, 0, NULL, 0), VIRTIO_BLK_S_UNSUPP);
	CHECK_EQ(vu_blk_request(f, q, VIRTIO_BLK_T_GET_ID, 0, id, sizeof(id)), VIRTIO_BLK_S_OK);
	CHECK(strncmp(id, bdev_name, sizeof(id)) == 0);
}

/* What a front-end connecting to a controller without bdev is offered. */
static void check_empty_disk(struct vu_front *f)
{
	struct virtio_blk_config cfg;

	if (bt_config(f, &cfg)) {
		CHECK_EQ(cfg.capacity, 0);
		CHECK_EQ(cfg.blk_size, 512);
	}
	CHECK(!(vu_front_features(f) & (1ULL << VIRTIO_BLK_F_FLUSH)));
	CHECK(!(vu_front_features(f) & (1ULL << VIRTIO_BLK_F_DISCARD)));
	CHECK(!(vu_front_features(f) & (1ULL << VIRTIO_BLK_F_WRITE_ZEROES)));
}

static void check_rw(struct vu_front *f, int q, uint64_t sector, unsigned seed)
{
	uint8_t w[4096], r[4096];

	bx_fill(w, sizeof(w), sector * 512, seed);
	CHECK_EQ(bx_rw(f, q, VIRTIO_BLK_T_OUT, sector, w, sizeof(w), 2, false), VIRTIO_BLK_S_OK);
	CHECK_EQ(bx_rw(f, q, VIRTIO_BLK_T_IN, sector, r, sizeof(r), 3, true), VIRTIO_BLK_S_OK);
	CHECK(memcmp(w, r, sizeof(w)) == 0);
}

/*
 * Reads held in the error bdev on two queues (two workers) when the bdev is deleted: they finish
 * with IOERR, so does every later request, and the daemon, another controller and the controller
 * object itself carry on. delete_method/delete_name: what is deleted (the base or EE itself).
 */
static void check_removal_with_io(const char *base, const char *delete_method,
				  const char *delete_name)
{
	struct test_daemon *d = test_daemon_start("-m 0x3 --poll adaptive");
	struct vu_front *f = NULL, *g = NULL;
	struct bx_io ios[2][HELD];
	char ee[64];
	json_t *info;

	REQUIRE(d);
	snprintf(ee, sizeof(ee), "EE_%s", base);
	if (it_malloc(d, base, 2048, 512) && it_malloc(d, "Other", 2048, 512) &&
	    it_ok(d, "bdev_error_create", json_pack("{s:s}", "base_name", base)) &&
	    it_ok(d, "vhost_create_blk_controller",
		  json_pack("{s:s, s:s, s:s}", "ctrlr", "victim", "dev_name", ee, "cpumask",
			    "0x3")) &&
	    bt_ctrlr(d, "bystander", "Other")) {
		f = it_connect(d, "victim", &(struct vu_front_opts){ .num_queues = 2 });
		g = it_connect(d, "bystander", NULL);
	}
	if (!f || !g)
		goto out;
	check_rw(f, 0, 0, 1);
	check_rw(f, 1, 8, 1);
	REQUIRE(inject_pending_reads(d, ee, 2 * HELD));
	for (int q = 0; q < 2; q++) {
		for (int i = 0; i < HELD; i++) {
			REQUIRE(bx_io_init(f, &ios[q][i], VIRTIO_BLK_T_IN, i * 8, 4096, 2) == 0);
			REQUIRE(bx_io_submit(f, q, &ios[q][i], i % 2, true) >= 0);
		}
	}
	/* held: nothing comes back, while writes still pass */
	CHECK_EQ(bx_collect(f, 0, ios[0], HELD, 100), 0);
	CHECK_EQ(bx_collect(f, 1, ios[1], HELD, 100), 0);
	check_rw(g, 0, 0, 2);

	CHECK(it_ok(d, delete_method, json_pack("{s:s}", "name", delete_name)));
	for (int q = 0; q < 2; q++) {
		CHECK_EQ(bx_wait_all(f, q, ios[q], HELD, IT_TIMEOUT_MS), 0);
		for (int i = 0; i < HELD; i++)
			CHECK_MSG(*ios[q][i].status == VIRTIO_BLK_S_IOERR &&
					  ios[q][i].used_len == 1,
				  "held read q%d #%d: status %u used %u", q, i, *ios[q][i].status,
				  ios[q][i].used_len);
	}
	vu_front_free_all_buffers(f);
	CHECK(!bdev_exists(d, ee));
	check_all_fail(d, f, 0, ee);
	check_all_fail(d, f, 1, ee);
	check_rw(g, 0, 16, 3);

	info = controller_info(d, "victim");
	CHECK(param_is(info, "connected", json_true()));
	CHECK(param_is(json_object_get(json_object_get(info, "backend_specific"), "block"), "bdev",
		       json_string(ee)));
	json_decref(info);
	CHECK(it_fails(d, "vhost_delete_controller", json_pack("{s:s}", "ctrlr", "victim"), -EBUSY,
		       NULL));
	/* a new front-end on the bdev-less controller sees an empty disk and gets IOERR too */
	vu_front_close(f);
	f = it_connect(d, "victim", &(struct vu_front_opts){ .num_queues = 2 });
	if (f) {
		check_empty_disk(f);
		check_all_fail(d, f, 0, ee);
		check_all_fail(d, f, 1, ee);
		vu_front_close(f);
		f = NULL;
	}
	CHECK(it_delete_ctrlr(d, "victim"));
	CHECK(access(it_socket(d, "victim"), F_OK) != 0);
	CHECK(!it_listed(d, "victim"));
	check_rw(g, 0, 24, 4);
out:
	if (f)
		vu_front_close(f);
	if (g)
		vu_front_close(g);
	CHECK(test_daemon_stop(d, NULL) == 0);
}

static void test_base_bdev_deleted_with_io_in_flight(void)
{
	check_removal_with_io("Base0", "bdev_malloc_delete", "Base0");
}

static void test_error_bdev_deleted_with_io_in_flight(void)
{
	check_removal_with_io("Base1", "bdev_error_delete", "EE_Base1");
}

/* Deleted while no front-end is connected: one that connects later gets IOERR, and a bdev created
 * again under the same name is not picked up by the old controller. */
static void test_bdev_deleted_while_disconnected(void)
{
	struct test_daemon *d = test_daemon_start("--poll adaptive");
	struct vu_front *f = NULL;

	REQUIRE(d);
	if (it_malloc(d, "Gone", 2048, 512) && bt_ctrlr(d, "orphan", "Gone")) {
		f = it_connect(d, "orphan", NULL);
		if (f) {
			check_rw(f, 0, 0, 5);
			vu_front_close(f);
		}
		CHECK(it_ok(d, "bdev_malloc_delete", json_pack("{s:s}", "name", "Gone")));
		CHECK(it_malloc(d, "Gone", 2048, 512));
		f = it_connect(d, "orphan", NULL);
		if (f) {
			check_empty_disk(f);
			check_all_fail(d, f, 0, "Gone");
			vu_front_close(f);
		}
		CHECK(it_listed(d, "orphan"));
		CHECK(it_delete_ctrlr(d, "orphan"));
		/* the new bdev is free for a new controller */
		CHECK(bt_ctrlr(d, "orphan2", "Gone"));
		f = it_connect(d, "orphan2", NULL);
		if (f) {
			check_rw(f, 0, 0, 6);
			vu_front_close(f);
		}
	}
	CHECK(test_daemon_stop(d, NULL) == 0);
}

/* Holds HELD reads of a connected front-end in the error bdev (they do not come back). */
static void hold_reads(struct test_daemon *d, struct vu_front *f, const char *ee, struct bx_io *ios)
{
	REQUIRE(inject_pending_reads(d, ee, HELD));
	for (int i = 0; i < HELD; i++) {
		REQUIRE(bx_io_init(f, &ios[i], VIRTIO_BLK_T_IN, i * 8, 4096, 1) == 0);
		REQUIRE(bx_io_submit(f, 0, &ios[i], false, true) >= 0);
	}
	CHECK_EQ(bx_collect(f, 0, ios, HELD, 100), 0);
}

/* The front-end goes away (QEMU quits) while its reads are held: the controller cannot be deleted
 * until they finish, and finishes tearing the session down once they do, whether they are let go
 * or the bdev is deleted. */
static void test_disconnect_with_io_held(void)
{
	struct test_daemon *d = test_daemon_start("--poll adaptive");
	struct vu_front *f = NULL;
	struct bx_io ios[HELD];

	REQUIRE(d);
	if (it_malloc(d, "Mh", 2048, 512) &&
	    it_ok(d, "bdev_error_create", json_pack("{s:s}", "base_name", "Mh")) &&
	    bt_ctrlr(d, "held", "EE_Mh"))
		f = it_connect(d, "held", HELD_OPTS);
	if (f) {
		hold_reads(d, f, "EE_Mh", ios);
		vu_front_close(f);
		f = NULL;
		CHECK(it_fails(d, "vhost_delete_controller", json_pack("{s:s}", "ctrlr", "held"),
			       -EBUSY, NULL));
		CHECK(it_ok(d, "bdev_error_inject_error",
			    json_pack("{s:s, s:s, s:s}", "name", "EE_Mh", "io_type", "clear",
				      "error_type", "failure")));
		CHECK(it_delete_ctrlr(d, "held"));
		/* again, and this time the bdev goes */
		CHECK(bt_ctrlr(d, "held", "EE_Mh"));
		f = it_connect(d, "held", HELD_OPTS);
	}
	if (f) {
		hold_reads(d, f, "EE_Mh", ios);
		vu_front_close(f);
		CHECK(it_ok(d, "bdev_malloc_delete", json_pack("{s:s}", "name", "Mh")));
		CHECK(it_delete_ctrlr(d, "held"));
		CHECK(!bdev_exists(d, "EE_Mh"));
	}
	CHECK(test_daemon_stop(d, NULL) == 0);
}

/* SIGTERM while reads are held, with the front-end still connected or already gone: the daemon
 * still stops cleanly (held I/O must not wedge the shutdown). */
static void check_shutdown_with_io_held(bool disconnect_first)
{
	struct test_daemon *d = test_daemon_start("--poll adaptive");
	struct vu_front *f = NULL;
	struct bx_io ios[HELD];

	REQUIRE(d);
	if (it_malloc(d, "Ms", 2048, 512) &&
	    it_ok(d, "bdev_error_create", json_pack("{s:s}", "base_name", "Ms")) &&
	    bt_ctrlr(d, "stop", "EE_Ms"))
		f = it_connect(d, "stop", HELD_OPTS);
	if (f) {
		hold_reads(d, f, "EE_Ms", ios);
		if (disconnect_first) {
			vu_front_close(f);
			f = NULL;
		}
	}
	CHECK(test_daemon_stop(d, NULL) == 0);
	if (f)
		vu_front_close(f);
}

static void test_shutdown_with_io_held_connected(void)
{
	check_shutdown_with_io_held(false);
}

static void test_shutdown_with_io_held_disconnected(void)
{
	check_shutdown_with_io_held(true);
}

/* Expects one CONFIG_CHANGE_MSG on the back-end channel, then GET_CONFIG to show capacity. */
static void expect_config_change(struct vu_front *f, uint64_t capacity)
{
	struct virtio_blk_config cfg;
	uint32_t request = 0;
	uint8_t payload[64];

	CHECK_EQ(vu_front_backend_recv(f, &request, payload, sizeof(payload), IT_TIMEOUT_MS), 0);
	CHECK_EQ(request, VU_BACKEND_CONFIG_CHANGE_MSG);
	if (bt_config(f, &cfg))
		CHECK_EQ(cfg.capacity, capacity);
}

static void expect_no_message(struct vu_front *f)
{
	uint32_t request = 0;
	uint8_t payload[64];

	CHECK_EQ(vu_front_backend_recv(f, &request, payload, sizeof(payload), 200), -ETIMEDOUT);
}

/* bdev_null_resize grows a null bdev (and the error bdev stacked on it) under connected
 * controllers; a shrink is refused and tells nobody. */
static void test_null_resize(void)
{
	struct test_daemon *d = test_daemon_start("--poll adaptive");
	struct vu_front *f = NULL, *g = NULL;
	struct virtio_blk_config cfg;
	uint8_t buf[4096] = { 0 };

	REQUIRE(d);
	if (it_ok(d, "bdev_null_create",
		  json_pack("{s:s, s:i, s:i}", "name", "Grow", "num_blocks", 64 * 2048,
			    "block_size", 512)) &&
	    it_ok(d, "bdev_error_create", json_pack("{s:s}", "base_name", "Grow")) &&
	    bt_ctrlr(d, "grow", "EE_Grow")) {
		f = it_connect(d, "grow", NULL);
	}
	if (f && bt_config(f, &cfg)) {
		CHECK_EQ(cfg.capacity, 64 * 2048);
		CHECK_EQ(bx_rw(f, 0, VIRTIO_BLK_T_IN, 100 * 2048, buf, sizeof(buf), 1, false),
			 VIRTIO_BLK_S_IOERR);
		CHECK(it_ok(d, "bdev_null_resize",
			    json_pack("{s:s, s:i}", "name", "Grow", "new_size", 128)));
		expect_config_change(f, 128 * 2048);
		CHECK_EQ(bx_rw(f, 0, VIRTIO_BLK_T_IN, 100 * 2048, buf, sizeof(buf), 1, false),
			 VIRTIO_BLK_S_OK);
		CHECK(it_fails(d, "bdev_null_resize",
			       json_pack("{s:s, s:i}", "name", "Grow", "new_size", 32), -EINVAL,
			       NULL));
		expect_no_message(f);
		/* a controller connected later sees the new size at once */
		CHECK(bt_ctrlr(d, "grow2", "EE_Grow"));
		g = it_connect(d, "grow2", NULL);
		if (g && bt_config(g, &cfg))
			CHECK_EQ(cfg.capacity, 128 * 2048);
		/* both are told of the next one */
		CHECK(it_ok(d, "bdev_null_resize",
			    json_pack("{s:s, s:i}", "name", "Grow", "new_size", 200)));
		expect_config_change(f, 200 * 2048);
		if (g)
			expect_config_change(g, 200 * 2048);
		/* a front-end without a back-end channel cannot be told, but reads the new size */
		if (g)
			vu_front_close(g);
		g = it_connect(d, "grow2",
			       &(struct vu_front_opts){ .want_protocol_features =
							(1ULL << VU_PROTO_F_MQ) |
							(1ULL << VU_PROTO_F_CONFIG) });
		CHECK(it_ok(d, "bdev_null_resize",
			    json_pack("{s:s, s:i}", "name", "Grow", "new_size", 300)));
		expect_config_change(f, 300 * 2048);
		if (g && bt_config(g, &cfg)) {
			CHECK_EQ(vu_front_backend_fd(g), -1);
			CHECK_EQ(cfg.capacity, 300 * 2048);
			CHECK_EQ(bx_rw(g, 0, VIRTIO_BLK_T_IN, 250 * 2048, buf, sizeof(buf), 1, false),
				 VIRTIO_BLK_S_OK);
		}
	}
	if (f)
		vu_front_close(f);
	if (g)
		vu_front_close(g);
	CHECK(test_daemon_stop(d, NULL) == 0);
}

/* A file bdev grown on disk and rescanned: the guest hears of it and can use the new blocks. */
static void check_file_rescan(const char *kind)
{
	char file[128], method[64], ctrlr[32];
	struct test_daemon *d = test_daemon_start("--poll adaptive");
	struct vu_front *f = NULL;
	struct virtio_blk_config cfg;
	uint8_t w[4096], r[4096];

	REQUIRE(d);
	snprintf(ctrlr, sizeof(ctrlr), "rescan.%s", kind);
	snprintf(method, sizeof(method), "bdev_%s_create", kind);
	if (it_file_create(file, sizeof(file), kind, 1 << 20) &&
	    it_ok(d, method, json_pack("{s:s, s:s}", "filename", file, "name", "F0")) &&
	    bt_ctrlr(d, ctrlr, "F0"))
		f = it_connect(d, ctrlr, NULL);
	if (f && bt_config(f, &cfg)) {
		CHECK_EQ(cfg.capacity, 2048);
		CHECK(truncate(file, 3 << 20) == 0);
		snprintf(method, sizeof(method), "bdev_%s_rescan", kind);
		CHECK(it_ok(d, method, json_pack("{s:s}", "name", "F0")));
		expect_config_change(f, 6144);
		bx_fill(w, sizeof(w), 5000 * 512, 7);
		CHECK_EQ(bx_rw(f, 0, VIRTIO_BLK_T_OUT, 5000, w, sizeof(w), 3, false),
			 VIRTIO_BLK_S_OK);
		CHECK_EQ(bx_rw(f, 0, VIRTIO_BLK_T_IN, 5000, r, sizeof(r), 1, true),
			 VIRTIO_BLK_S_OK);
		CHECK(memcmp(w, r, sizeof(w)) == 0);
		CHECK(it_file_equals(file, 5000 * 512, w, sizeof(w)));
		/* a rescan that finds the same size says nothing */
		CHECK(it_ok(d, method, json_pack("{s:s}", "name", "F0")));
		expect_no_message(f);
	}
	if (f)
		vu_front_close(f);
	CHECK(test_daemon_stop(d, NULL) == 0);
	unlink(file);
}

static void test_uring_rescan(void)
{
	check_file_rescan("uring");
}

static void test_aio_rescan(void)
{
	check_file_rescan("aio");
}

/* Coalescing delays interrupts; every request still completes, with it on, changed and off. */
static void test_coalescing(void)
{
	struct test_daemon *d = test_daemon_start("-m 0x3 --poll adaptive");
	struct vu_front *f = NULL;
	json_t *info;

	REQUIRE(d);
	if (it_malloc(d, "Mco", 4096, 512) &&
	    it_ok(d, "vhost_create_blk_controller",
		  json_pack("{s:s, s:s, s:s}", "ctrlr", "co", "dev_name", "Mco", "cpumask",
			    "0x3")) &&
	    it_ok(d, "vhost_controller_set_coalescing",
		  json_pack("{s:s, s:i, s:i}", "ctrlr", "co", "delay_base_us", 200,
			    "iops_threshold", 1)))
		f = it_connect(d, "co", &(struct vu_front_opts){ .num_queues = 2 });
	info = controller_info(d, "co");
	CHECK_EQ(json_integer_value(json_object_get(info, "delay_base_us")), 200);
	CHECK_EQ(json_integer_value(json_object_get(info, "iops_threshold")), 1);
	json_decref(info);
	for (int phase = 0; f && phase < 3; phase++) {
		static const int delays[] = { 200, 50, 0 };

		if (phase)
			CHECK(it_ok(d, "vhost_controller_set_coalescing",
				    json_pack("{s:s, s:i, s:i}", "ctrlr", "co", "delay_base_us",
					      delays[phase], "iops_threshold",
					      delays[phase] ? 1000 : 0)));
		for (int round = 0; round < 8; round++) {
			struct bx_io ios[2][16];
			uint32_t type = round % 2 ? VIRTIO_BLK_T_IN : VIRTIO_BLK_T_OUT;
			uint8_t buf[4096];

			for (int q = 0; q < 2; q++) {
				for (int i = 0; i < 16; i++) {
					uint64_t sector = (uint64_t)(q * 16 + i) * 8;

					REQUIRE(bx_io_init(f, &ios[q][i], type, sector, 4096, 1) ==
						0);
					if (type == VIRTIO_BLK_T_OUT) {
						bx_fill(buf, sizeof(buf), sector * 512,
							phase * 8 + round);
						bx_io_put(&ios[q][i], buf);
					}
					REQUIRE(bx_io_submit(f, q, &ios[q][i], true, true) >= 0);
				}
			}
			for (int q = 0; q < 2; q++) {
				CHECK_EQ(bx_wait_all(f, q, ios[q], 16, IT_TIMEOUT_MS), 0);
				for (int i = 0; i < 16; i++) {
					CHECK_EQ(*ios[q][i].status, VIRTIO_BLK_S_OK);
					if (type != VIRTIO_BLK_T_IN)
						continue;
					bx_io_get(&ios[q][i], buf);
					CHECK(bx_mismatch(buf, sizeof(buf),
							  ios[q][i].hdr->sector * 512,
							  phase * 8 + round - 1) < 0);
				}
			}
			vu_front_free_all_buffers(f);
		}
	}
	CHECK(it_fails(d, "vhost_controller_set_coalescing",
		       json_pack("{s:s, s:i, s:i}", "ctrlr", "co", "delay_base_us", 100,
				 "iops_threshold", 0),
		       -32602, NULL));
	CHECK(it_fails(d, "vhost_controller_set_coalescing",
		       json_pack("{s:s, s:i, s:i}", "ctrlr", "nope", "delay_base_us", 100,
				 "iops_threshold", 10),
		       -ENODEV, NULL));
	if (f)
		vu_front_close(f);
	CHECK(test_daemon_stop(d, NULL) == 0);
}

/* The params save_config wrote for ctrlr (borrowed from config), or NULL. */
static json_t *saved_params(json_t *config, const char *method, const char *ctrlr)
{
	json_t *subsystem, *entry;
	size_t i, j;

	json_array_foreach(json_object_get(config, "subsystems"), i, subsystem) json_array_foreach(
		json_object_get(subsystem, "config"), j,
		entry) if (json_is_string(json_object_get(entry, "method")) &&
			   strcmp(json_string_value(json_object_get(entry, "method")), method) ==
				   0 &&
			   param_is(json_object_get(entry, "params"), "ctrlr",
				    json_string(ctrlr))) return json_object_get(entry, "params");
	return NULL;
}

/* save_config then a restart with --config brings the controllers back as they were, and the data
 * written through them is there. */
static void test_save_config_restart(void)
{
	char file[128], config_path[160], args[256];
	struct test_daemon *d = test_daemon_start("-m 0x3 --poll adaptive");
	struct vu_front *f = NULL;
	json_t *config = NULL, *p;
	uint8_t w[8192], r[8192];

	REQUIRE(d);
	REQUIRE(it_file_create(file, sizeof(file), "persist", 1 << 20));
	snprintf(config_path, sizeof(config_path), "%s.json", file);
	if (it_ok(d, "bdev_uring_create",
		  json_pack("{s:s, s:s}", "filename", file, "name", "P0")) &&
	    it_ok(d, "vhost_create_blk_controller",
		  json_pack("{s:s, s:s, s:s, s:b}", "ctrlr", "persist", "dev_name", "P0", "cpumask",
			    "0x2", "packed_ring", true)) &&
	    it_ok(d, "vhost_create_blk_controller",
		  json_pack("{s:s, s:s, s:b}", "ctrlr", "persist.ro", "dev_name", "P0", "readonly",
			    true)) &&
	    it_ok(d, "vhost_controller_set_coalescing",
		  json_pack("{s:s, s:i, s:i}", "ctrlr", "persist", "delay_base_us", 40,
			    "iops_threshold", 5000)))
		f = it_connect(d, "persist", &(struct vu_front_opts){ .packed = true });
	if (f) {
		bx_fill(w, sizeof(w), 64 * 512, 77);
		CHECK_EQ(bx_rw(f, 0, VIRTIO_BLK_T_OUT, 64, w, sizeof(w), 4, true), VIRTIO_BLK_S_OK);
		vu_front_close(f);
		f = NULL;
		config = it_call(d, "save_config", NULL);
	}
	p = saved_params(config, "vhost_create_blk_controller", "persist");
	CHECK(p && param_is(p, "dev_name", json_string("P0")) &&
	      param_is(p, "cpumask", json_string("0x2")) && param_is(p, "readonly", json_false()) &&
	      param_is(p, "packed_ring", json_true()));
	p = saved_params(config, "vhost_create_blk_controller", "persist.ro");
	CHECK(p && param_is(p, "dev_name", json_string("P0")) &&
	      param_is(p, "cpumask", json_string("0x3")) && param_is(p, "readonly", json_true()) &&
	      param_is(p, "packed_ring", json_false()));
	p = saved_params(config, "vhost_controller_set_coalescing", "persist");
	CHECK(p && param_is(p, "delay_base_us", json_integer(40)) &&
	      param_is(p, "iops_threshold", json_integer(5000)));
	CHECK(!config || json_dump_file(config, config_path, JSON_INDENT(1)) == 0);
	json_decref(config);
	CHECK(test_daemon_stop(d, NULL) == 0);
	if (tap_current_failed())
		goto out;

	snprintf(args, sizeof(args), "-m 0x3 --poll adaptive --config %s", config_path);
	d = test_daemon_start(args);
	REQUIRE(d);
	f = it_connect(d, "persist", &(struct vu_front_opts){ .packed = true });
	if (f) {
		CHECK(vu_front_features(f) & (1ULL << VIRTIO_F_RING_PACKED));
		CHECK_EQ(bx_rw(f, 0, VIRTIO_BLK_T_IN, 64, r, sizeof(r), 3, false), VIRTIO_BLK_S_OK);
		CHECK(memcmp(w, r, sizeof(w)) == 0);
		vu_front_close(f);
	}
	f = it_connect(d, "persist.ro", NULL);
	if (f) {
		CHECK(vu_front_features(f) & (1ULL << VIRTIO_BLK_F_RO));
		memset(r, 0, sizeof(r));
		CHECK_EQ(bx_rw(f, 0, VIRTIO_BLK_T_IN, 64, r, sizeof(r), 1, false), VIRTIO_BLK_S_OK);
		CHECK(memcmp(w, r, sizeof(w)) == 0);
		CHECK_EQ(bx_rw(f, 0, VIRTIO_BLK_T_OUT, 64, r, sizeof(r), 1, false),
			 VIRTIO_BLK_S_IOERR);
		vu_front_close(f);
	}
	p = controller_info(d, "persist");
	CHECK(param_is(p, "cpumask", json_string("0x2")) &&
	      param_is(p, "delay_base_us", json_integer(40)) &&
	      param_is(p, "iops_threshold", json_integer(5000)) &&
	      param_is(p, "packed_ring", json_true()));
	json_decref(p);
	CHECK(test_daemon_stop(d, NULL) == 0);
out:
	unlink(config_path);
	unlink(file);
}

int main(int argc, char **argv)
{
	static const struct tap_test tests[] = {
		TAP_TEST(test_base_bdev_deleted_with_io_in_flight),
		TAP_TEST(test_error_bdev_deleted_with_io_in_flight),
		TAP_TEST(test_bdev_deleted_while_disconnected),
		TAP_TEST(test_disconnect_with_io_held),
		TAP_TEST(test_shutdown_with_io_held_connected),
		TAP_TEST(test_shutdown_with_io_held_disconnected),
		TAP_TEST(test_null_resize),
		TAP_TEST(test_uring_rescan),
		TAP_TEST(test_aio_rescan),
		TAP_TEST(test_coalescing),
		TAP_TEST(test_save_config_restart),
	};

	return tap_run(tests, TAP_COUNT(tests), argc, argv);
}
