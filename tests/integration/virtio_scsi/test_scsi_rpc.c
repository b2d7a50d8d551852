/*
 * vhost-scsi controllers and targets over RPC against a real vhostd: SPDK's names, params and
 * output shape, bad params with nothing half-created, 256 targets, delay mode, config space and
 * features, save_config replayed by a restarted daemon.
 */
#include "rpc/rpc.h"
#include "scsi_test.h"
#include "tap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

static json_t *scsi_info(struct test_daemon *d, const char *ctrlr)
{
	json_t *list = it_call(d, "vhost_get_controllers", json_pack("{s:s}", "name", ctrlr));
	json_t *specific = json_object_get(json_array_get(list, 0), "backend_specific");
	json_t *scsi = json_incref(json_object_get(specific, "scsi"));

	json_decref(list);
	return scsi;
}

static bool is_str(json_t *v, const char *s)
{
	return json_is_string(v) && strcmp(json_string_value(v), s) == 0;
}

#define add_fails(d, ctrlr, num, bdev, code, text)                                                 \
	it_fails(d, "vhost_scsi_controller_add_target",                                            \
		 json_pack("{s:s, s:i, s:s}", "ctrlr", ctrlr, "scsi_target_num", num, "bdev_name", \
			   bdev),                                                                  \
		 code, text)
#define remove_fails(d, ctrlr, num, code, text)                                                    \
	it_fails(d, "vhost_scsi_controller_remove_target",                                         \
		 json_pack("{s:s, s:i}", "ctrlr", ctrlr, "scsi_target_num", num), code, text)

static bool socket_exists(struct test_daemon *d, const char *ctrlr)
{
	struct stat st;

	return stat(it_socket(d, ctrlr), &st) == 0 && S_ISSOCK(st.st_mode);
}

static void test_targets_and_shape(void)
{
	struct test_daemon *d = test_daemon_start("--poll never");
	json_t *r, *scsi, *t;

	REQUIRE(d);
	REQUIRE(it_malloc(d, "M0", 2048, 512) && it_malloc(d, "M1", 2048, 512));
	REQUIRE(it_ok(d, "vhost_create_scsi_controller", json_pack("{s:s}", "ctrlr", "sc")));
	CHECK(socket_exists(d, "sc"));
	r = st_add_target(d, "sc", 5, "M0");
	CHECK(json_integer_value(r) == 5);
	json_decref(r);
	r = st_add_target(d, "sc", -1, "M1"); /* first free */
	CHECK(json_integer_value(r) == 0);
	json_decref(r);
	scsi = scsi_info(d, "sc");
	REQUIRE(json_array_size(scsi) == 2);
	t = json_array_get(scsi, 0);
	CHECK_EQ(json_integer_value(json_object_get(t, "scsi_dev_num")), 0);
	CHECK_EQ(json_integer_value(json_object_get(t, "id")), 0);
	CHECK(is_str(json_object_get(t, "target_name"), "Target 0"));
	r = json_pack("[{s:i, s:s}]", "id", 0, "bdev_name", "M1");
	CHECK(json_equal(json_object_get(t, "luns"), r));
	json_decref(r);
	t = json_array_get(scsi, 1);
	CHECK_EQ(json_integer_value(json_object_get(t, "scsi_dev_num")), 5);
	json_decref(scsi);
	CHECK(st_remove_target(d, "sc", 5));
	for (int i = 0; i < 100; i++) {
		scsi = scsi_info(d, "sc");
		if (json_array_size(scsi) == 1)
			break;
		json_decref(scsi);
		scsi = NULL;
		usleep(10000);
	}
	CHECK(scsi && json_array_size(scsi) == 1);
	json_decref(scsi);
	/* The number is free again once removal finished. */
	for (int i = 0; i < 100; i++) {
		const char *method = "vhost_scsi_controller_add_target";
		json_t *res = NULL, *err = NULL;
		json_t *params = json_pack("{s:s, s:i, s:s}", "ctrlr", "sc", "scsi_target_num", 5,
					   "bdev_name", "M0");

		if (test_daemon_rpc(d, method, params, &res, &err) == 0) {
			CHECK_EQ(json_integer_value(res), 5);
			json_decref(res);
			break;
		}
		json_decref(err);
		usleep(10000);
	}
	CHECK(it_delete_ctrlr(d, "sc"));
	CHECK(!it_listed(d, "sc"));
	CHECK(!socket_exists(d, "sc"));
	/* The bdevs were released: they can be deleted. */
	CHECK(it_ok(d, "bdev_malloc_delete", json_pack("{s:s}", "name", "M0")));
	CHECK(it_ok(d, "bdev_malloc_delete", json_pack("{s:s}", "name", "M1")));
	CHECK(test_daemon_stop(d, NULL) == 0);
}

static void test_bad_params(void)
{
	struct test_daemon *d = test_daemon_start("--poll never");
	json_t *scsi;

	REQUIRE(d);
	REQUIRE(it_malloc(d, "M0", 2048, 512) && it_malloc(d, "M1", 2048, 512));
	REQUIRE(it_ok(d, "vhost_create_scsi_controller", json_pack("{s:s}", "ctrlr", "sc")));
	REQUIRE(it_ok(d, "vhost_create_blk_controller",
		      json_pack("{s:s, s:s}", "ctrlr", "blk", "dev_name", "M1")));
	it_fails(d, "vhost_create_scsi_controller", json_pack("{s:s}", "ctrlr", "sc"), -EEXIST,
		 "already exists");
	it_fails(d, "vhost_create_scsi_controller", json_pack("{}"), RPC_ERR_INVALID_PARAMS,
		 "ctrlr");
	it_fails(d, "vhost_create_scsi_controller",
		 json_pack("{s:s, s:s}", "ctrlr", "x", "cpumask", "0x100"), -EINVAL, NULL);
	CHECK(!it_listed(d, "x"));
	it_fails(d, "vhost_create_scsi_controller",
		 json_pack("{s:s, s:i}", "ctrlr", "y", "bogus", 1), RPC_ERR_INVALID_PARAMS,
		 "bogus");
	CHECK(!it_listed(d, "y"));
	add_fails(d, "nope", 0, "M0", -ENODEV, "no such controller");
	add_fails(d, "blk", 0, "M0", -EINVAL, "not a vhost-scsi controller");
	add_fails(d, "sc", 256, "M0", -EINVAL, "out of range");
	add_fails(d, "sc", -2, "M0", -EINVAL, "out of range");
	add_fails(d, "sc", 0, "Nope", -ENODEV, "no such bdev 'Nope'");
	it_fails(d, "vhost_scsi_controller_add_target",
		 json_pack("{s:s, s:s}", "ctrlr", "sc", "bdev_name", "M0"), RPC_ERR_INVALID_PARAMS,
		 "scsi_target_num");
	json_decref(st_add_target(d, "sc", 3, "M0"));
	add_fails(d, "sc", 3, "M0", -EEXIST, "already in use");
	remove_fails(d, "sc", 4, -ENODEV, "no target 4");
	remove_fails(d, "sc", 999, -EINVAL, "out of range");
	remove_fails(d, "sc", -1, -EINVAL, "out of range");
	remove_fails(d, "nope", 3, -ENODEV, "no such controller");
	remove_fails(d, "blk", 3, -EINVAL, "not a vhost-scsi controller");
	it_fails(d, "vhost_start_scsi_controller", json_pack("{s:s}", "ctrlr", "nope"), -ENODEV,
		 NULL);
	/* Nothing half-created: only target 3 is there. */
	scsi = scsi_info(d, "sc");
	CHECK_EQ(json_array_size(scsi), 1);
	json_decref(scsi);
	CHECK(test_daemon_stop(d, NULL) == 0);
}

/* 256 targets on one controller; the 257th finds no number. */
static void test_256_targets_rpc(void)
{
	struct test_daemon *d = test_daemon_start("--poll never");
	json_t *scsi;

	REQUIRE(d);
	REQUIRE(it_malloc(d, "M", 2048, 512));
	REQUIRE(it_ok(d, "vhost_create_scsi_controller", json_pack("{s:s}", "ctrlr", "sc")));
	for (int i = 0; i < 256; i++) {
		json_t *r = st_add_target(d, "sc", -1, "M");

		REQUIRE(r);
		CHECK_EQ(json_integer_value(r), i);
		json_decref(r);
	}
	add_fails(d, "sc", -1, "M", -ENOSPC, "in use");
	scsi = scsi_info(d, "sc");
	CHECK_EQ(json_array_size(scsi), 256);
	json_decref(scsi);
	CHECK(it_delete_ctrlr(d, "sc"));
	CHECK(it_ok(d, "bdev_malloc_delete", json_pack("{s:s}", "name", "M")));
	CHECK(test_daemon_stop(d, NULL) == 0);
}

/* delay=true: no socket (QEMU cannot connect) until vhost_start_scsi_controller. */
static void test_delay_mode(void)
{
	struct test_daemon *d = test_daemon_start("--poll never");
	struct vu_front *f;
	uint8_t inq[96];
	struct sf_result res;

	REQUIRE(d);
	REQUIRE(it_malloc(d, "M0", 2048, 512));
	REQUIRE(it_ok(d, "vhost_create_scsi_controller",
		      json_pack("{s:s, s:b}", "ctrlr", "sd", "delay", true)));
	CHECK(it_listed(d, "sd"));
	CHECK(!socket_exists(d, "sd"));
	json_decref(st_add_target(d, "sd", 0, "M0"));
	CHECK(!socket_exists(d, "sd"));
	CHECK(it_ok(d, "vhost_start_scsi_controller", json_pack("{s:s}", "ctrlr", "sd")));
	CHECK(socket_exists(d, "sd"));
	CHECK(it_ok(d, "vhost_start_scsi_controller", json_pack("{s:s}", "ctrlr", "sd")));
	f = st_connect(d, "sd", 1);
	if (f) {
		CHECK_EQ(st_inquiry(f, SF_IOQ, 0, inq, sizeof(inq), &res), 0);
		CHECK_EQ(res.response, VIRTIO_SCSI_S_OK);
		CHECK_EQ(res.status, 0);
		vu_front_close(f);
	}
	CHECK(test_daemon_stop(d, NULL) == 0);
}

static void test_config_space_and_features(void)
{
	struct test_daemon *d = test_daemon_start("--poll never");
	struct virtio_scsi_config cfg;
	struct vu_front *f;

	REQUIRE(d);
	REQUIRE(st_setup(d, "sc", "M", 1));
	f = st_connect(d, "sc", 1);
	REQUIRE(f);
	CHECK(vu_front_features(f) & (1ULL << VIRTIO_SCSI_F_HOTPLUG));
	CHECK(vu_front_features(f) & (1ULL << VIRTIO_SCSI_F_CHANGE));
	CHECK(!(vu_front_features(f) & (1ULL << VIRTIO_SCSI_F_T10_PI)));
	memset(&cfg, 0xff, sizeof(cfg));
	CHECK_EQ(vu_front_get_config(f, &cfg, sizeof(cfg)), 0);
	CHECK(cfg.num_queues >= 1);
	CHECK(cfg.seg_max >= 1);
	CHECK(cfg.max_sectors >= 8);
	CHECK(cfg.cmd_per_lun >= 1);
	CHECK_EQ(cfg.event_info_size, sizeof(struct virtio_scsi_event));
	CHECK_EQ(cfg.sense_size, 96);
	CHECK_EQ(cfg.cdb_size, 32);
	CHECK_EQ(cfg.max_channel, 0);
	CHECK_EQ(cfg.max_target, 255);
	CHECK_EQ(cfg.max_lun, 255);
	vu_front_close(f);
	CHECK(test_daemon_stop(d, NULL) == 0);
}

/* save_config, restart with --config: controllers, targets and the delay state come back. */
static void test_save_config_restart(void)
{
	char path[128], args[256];
	struct test_daemon *d = test_daemon_start("--poll never");
	json_t *config = NULL, *scsi, *t;

	REQUIRE(d);
	snprintf(path, sizeof(path), "/var/tmp/vhostd-scsi-%d.json", (int)getpid());
	REQUIRE(it_malloc(d, "M0", 2048, 512) && it_malloc(d, "M1", 2048, 512));
	REQUIRE(it_ok(d, "vhost_create_scsi_controller",
		      json_pack("{s:s, s:s}", "ctrlr", "live", "cpumask", "0x1")));
	json_decref(st_add_target(d, "live", 7, "M0"));
	json_decref(st_add_target(d, "live", 255, "M1"));
	REQUIRE(it_ok(d, "vhost_create_scsi_controller",
		      json_pack("{s:s, s:b}", "ctrlr", "later", "delay", true)));
	json_decref(st_add_target(d, "later", 1, "M1"));
	config = it_call(d, "save_config", NULL);
	CHECK(config && json_dump_file(config, path, JSON_INDENT(1)) == 0);
	json_decref(config);
	CHECK(test_daemon_stop(d, NULL) == 0);
	if (tap_current_failed())
		goto out;
	snprintf(args, sizeof(args), "--poll never --config %s", path);
	d = test_daemon_start(args);
	REQUIRE(d);
	scsi = scsi_info(d, "live");
	CHECK_EQ(json_array_size(scsi), 2);
	CHECK_EQ(json_integer_value(json_object_get(json_array_get(scsi, 0), "scsi_dev_num")), 7);
	CHECK_EQ(json_integer_value(json_object_get(json_array_get(scsi, 1), "scsi_dev_num")), 255);
	t = json_array_get(json_object_get(json_array_get(scsi, 1), "luns"), 0);
	CHECK(is_str(json_object_get(t, "bdev_name"), "M1"));
	json_decref(scsi);
	CHECK(socket_exists(d, "live"));
	CHECK(!socket_exists(d, "later"));
	scsi = scsi_info(d, "later");
	CHECK_EQ(json_array_size(scsi), 1);
	json_decref(scsi);
	CHECK(test_daemon_stop(d, NULL) == 0);
out:
	unlink(path);
}

int main(int argc, char **argv)
{
	static const struct tap_test tests[] = {
		TAP_TEST(test_targets_and_shape),
		TAP_TEST(test_bad_params),
		TAP_TEST(test_256_targets_rpc),
		TAP_TEST(test_delay_mode),
		TAP_TEST(test_config_space_and_features),
		TAP_TEST(test_save_config_restart),
	};

	return tap_run(tests, TAP_COUNT(tests), argc, argv);
}
