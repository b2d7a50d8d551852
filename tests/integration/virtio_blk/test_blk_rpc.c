/*
 * The vhost-blk RPCs refusing what they must, against a real vhostd started on CPU 0 only: bad and
 * missing params, bdevs that do not exist or cannot be opened, duplicate and invalid names, bad
 * cpumasks, deleting unknown or busy controllers. After every failure nothing is left behind: no
 * socket file, no listed controller, no bdev held open.
 */
#include "blk_test.h"
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ERR_PARAMS -32602

static struct test_daemon *dut;

static bool create_fails(json_t *params, int code, const char *text)
{
	return it_fails(dut, "vhost_create_blk_controller", params, code, text);
}

/* Nothing named ctrlr exists: not listed, no socket file (a path of our own may be kept). */
static void check_absent(const char *ctrlr, bool keep_socket_path)
{
	CHECK_MSG(!it_listed(dut, ctrlr), "'%s' is listed", ctrlr);
	if (!keep_socket_path && *ctrlr && !strchr(ctrlr, '/') && strcmp(ctrlr, "..") != 0 &&
	    strcmp(ctrlr, ".") != 0)
		CHECK_MSG(access(it_socket(dut, ctrlr), F_OK) != 0, "socket for '%s' exists",
			  ctrlr);
}

/* The bdev was not left open by a failed create: deleting it completes at once. */
static void check_bdev_free(const char *bdev)
{
	CHECK(it_ok(dut, "bdev_malloc_delete", json_pack("{s:s}", "name", bdev)));
}

static void test_create_missing_params(void)
{
	REQUIRE(it_malloc(dut, "Mmiss", 64, 512));
	CHECK(create_fails(NULL, ERR_PARAMS, "Missing required parameter 'ctrlr'"));
	CHECK(create_fails(json_object(), ERR_PARAMS, "Missing required parameter"));
	CHECK(create_fails(json_pack("{s:s}", "dev_name", "Mmiss"), ERR_PARAMS,
			   "Missing required parameter 'ctrlr'"));
	CHECK(create_fails(json_pack("{s:s}", "ctrlr", "miss"), ERR_PARAMS,
			   "Missing required parameter 'dev_name'"));
	CHECK(create_fails(json_pack("{s:s, s:b}", "ctrlr", "miss", "readonly", true), ERR_PARAMS,
			   "dev_name"));
	check_absent("miss", false);
	check_bdev_free("Mmiss");
}

static void test_create_wrong_types(void)
{
	static const char *const bad[] = {
		"{\"ctrlr\": 5, \"dev_name\": \"Mtype\"}",
		"{\"ctrlr\": null, \"dev_name\": \"Mtype\"}",
		"{\"ctrlr\": \"typed\", \"dev_name\": [\"Mtype\"]}",
		"{\"ctrlr\": \"typed\", \"dev_name\": \"Mtype\", \"cpumask\": 1}",
		"{\"ctrlr\": \"typed\", \"dev_name\": \"Mtype\", \"readonly\": \"yes\"}",
		"{\"ctrlr\": \"typed\", \"dev_name\": \"Mtype\", \"readonly\": 1}",
		"{\"ctrlr\": \"typed\", \"dev_name\": \"Mtype\", \"packed_ring\": \"true\"}",
		"{\"ctrlr\": \"typed\", \"dev_name\": \"Mtype\", \"transport\": 7}",
		"[\"typed\", \"Mtype\"]",
	};

	REQUIRE(it_malloc(dut, "Mtype", 64, 512));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_MSG(create_fails(it_json(bad[i]), ERR_PARAMS, NULL), "params %s", bad[i]);
	check_absent("typed", false);
	check_bdev_free("Mtype");
}

static void test_create_unknown_param(void)
{
	REQUIRE(it_malloc(dut, "Munk", 64, 512));
	CHECK(create_fails(
		json_pack("{s:s, s:s, s:i}", "ctrlr", "unk", "dev_name", "Munk", "foo", 1),
		ERR_PARAMS, "Unknown parameter 'foo'"));
	CHECK(create_fails(json_pack("{s:s, s:s, s:s}", "ctrlr", "unk", "dev_name", "Munk",
				     "transport", "vfio_user"),
			   ERR_PARAMS, "transport"));
	check_absent("unk", false);
	/* SPDK's optional params are accepted */
	CHECK(it_ok(dut, "vhost_create_blk_controller",
		    json_pack("{s:s, s:s, s:s, s:b}", "ctrlr", "unk", "dev_name", "Munk",
			      "transport", "vhost_user_blk", "packed_ring_recovery", true)));
	CHECK(it_delete_ctrlr(dut, "unk"));
	check_absent("unk", false);
	check_bdev_free("Munk");
}

static void test_create_no_such_bdev(void)
{
	CHECK(create_fails(json_pack("{s:s, s:s}", "ctrlr", "nobdev", "dev_name", "NoSuchBdev"),
			   -ENODEV, "no such bdev"));
	CHECK(create_fails(json_pack("{s:s, s:s}", "ctrlr", "nobdev", "dev_name", ""), -ENODEV,
			   NULL));
	check_absent("nobdev", false);
}

/* A second controller of the same name is refused; the first keeps serving its own bdev. */
static void test_create_duplicate(void)
{
	struct vu_front *f;
	char id[VIRTIO_BLK_ID_BYTES] = { 0 };

	REQUIRE(it_malloc(dut, "Mdup1", 64, 512));
	REQUIRE(it_malloc(dut, "Mdup2", 64, 512));
	REQUIRE(bt_ctrlr(dut, "dup", "Mdup1"));
	CHECK(create_fails(json_pack("{s:s, s:s}", "ctrlr", "dup", "dev_name", "Mdup2"), -EEXIST,
			   "already exists"));
	CHECK(create_fails(
		json_pack("{s:s, s:s, s:b}", "ctrlr", "dup", "dev_name", "Mdup1", "readonly", true),
		-EEXIST, NULL));
	f = it_connect(dut, "dup", NULL);
	if (f) {
		CHECK_EQ(vu_blk_request(f, 0, VIRTIO_BLK_T_GET_ID, 0, id, sizeof(id)),
			 VIRTIO_BLK_S_OK);
		CHECK(strcmp(id, "Mdup1") == 0);
		vu_front_close(f);
	}
	CHECK(it_delete_ctrlr(dut, "dup"));
	check_bdev_free("Mdup2");
	check_bdev_free("Mdup1");
}

static void test_create_bad_cpumask(void)
{
	/* the daemon runs on CPU 0 only: "0x2" and "[1]" name a CPU it has no worker on */
	static const char *const masks[] = {
		"0x0", "zz", "", "0x2", "[1]", "0x10000", "-1", "0x1zz"
	};

	REQUIRE(it_malloc(dut, "Mmask", 64, 512));
	for (size_t i = 0; i < sizeof(masks) / sizeof(masks[0]); i++) {
		CHECK_MSG(create_fails(json_pack("{s:s, s:s, s:s}", "ctrlr", "masked", "dev_name",
						 "Mmask", "cpumask", masks[i]),
				       -EINVAL, NULL),
			  "cpumask '%s'", masks[i]);
		check_absent("masked", false);
	}
	CHECK(it_ok(dut, "vhost_create_blk_controller",
		    json_pack("{s:s, s:s, s:s}", "ctrlr", "masked", "dev_name", "Mmask", "cpumask",
			      "0x1")));
	CHECK(it_delete_ctrlr(dut, "masked"));
	check_bdev_free("Mmask");
}

static void test_create_invalid_names(void)
{
	char long_name[202], path_too_long[160];

	memset(long_name, 'n', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	/* within the name limit, but DIR/name does not fit in a Unix socket address */
	memset(path_too_long, 'p', sizeof(path_too_long) - 1);
	path_too_long[sizeof(path_too_long) - 1] = '\0';
	REQUIRE(it_malloc(dut, "Mname", 64, 512));
	CHECK(create_fails(json_pack("{s:s, s:s}", "ctrlr", "", "dev_name", "Mname"), -EINVAL,
			   NULL));
	CHECK(create_fails(json_pack("{s:s, s:s}", "ctrlr", "a/b", "dev_name", "Mname"), -EINVAL,
			   NULL));
	CHECK(create_fails(json_pack("{s:s, s:s}", "ctrlr", "..", "dev_name", "Mname"), -EINVAL,
			   NULL));
	CHECK(create_fails(json_pack("{s:s, s:s}", "ctrlr", ".", "dev_name", "Mname"), -EINVAL,
			   NULL));
	CHECK(create_fails(json_pack("{s:s, s:s}", "ctrlr", "../escape", "dev_name", "Mname"),
			   -EINVAL, NULL));
	CHECK(create_fails(json_pack("{s:s, s:s}", "ctrlr", long_name, "dev_name", "Mname"),
			   -EINVAL, NULL));
	CHECK(create_fails(json_pack("{s:s, s:s}", "ctrlr", path_too_long, "dev_name", "Mname"),
			   -ENAMETOOLONG, NULL));
	CHECK(access(it_socket(dut, "../escape"), F_OK) != 0);
	check_absent("", false);
	check_absent("a/b", false);
	check_absent("..", false);
	check_absent(long_name, false);
	check_absent(path_too_long, false);
	check_bdev_free("Mname");
}

/* Something that is not a socket sits where the controller's socket would go: refused, untouched.
 */
static void test_create_over_a_file(void)
{
	struct stat st;
	int fd;

	REQUIRE(it_malloc(dut, "Mfile", 64, 512));
	fd = open(it_socket(dut, "squat"), O_WRONLY | O_CREAT | O_EXCL, 0600);
	REQUIRE(fd >= 0);
	REQUIRE(write(fd, "mine", 4) == 4);
	close(fd);
	CHECK(create_fails(json_pack("{s:s, s:s}", "ctrlr", "squat", "dev_name", "Mfile"), -EEXIST,
			   "not a socket"));
	CHECK(stat(it_socket(dut, "squat"), &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 4);
	check_absent("squat", true);
	unlink(it_socket(dut, "squat"));
	check_bdev_free("Mfile");
}

/* A bdev claimed by the error bdev can back a read-only controller only. */
static void test_create_on_claimed_bdev(void)
{
	REQUIRE(it_malloc(dut, "Mclaim", 64, 512));
	REQUIRE(it_ok(dut, "bdev_error_create", json_pack("{s:s}", "base_name", "Mclaim")));
	CHECK(create_fails(json_pack("{s:s, s:s}", "ctrlr", "claimed", "dev_name", "Mclaim"),
			   -EPERM, "cannot open bdev"));
	check_absent("claimed", false);
	CHECK(it_ok(dut, "vhost_create_blk_controller",
		    json_pack("{s:s, s:s, s:b}", "ctrlr", "claimed", "dev_name", "Mclaim",
			      "readonly", true)));
	CHECK(it_delete_ctrlr(dut, "claimed"));
	CHECK(it_ok(dut, "bdev_error_delete", json_pack("{s:s}", "name", "EE_Mclaim")));
	check_bdev_free("Mclaim");
}

static void test_delete_errors(void)
{
	struct vu_front *f;

	CHECK(it_fails(dut, "vhost_delete_controller", json_pack("{s:s}", "ctrlr", "ghost"),
		       -ENODEV, "ghost"));
	CHECK(it_fails(dut, "vhost_delete_controller", json_object(), ERR_PARAMS,
		       "Missing required parameter 'ctrlr'"));
	CHECK(it_fails(dut, "vhost_delete_controller", it_json("{\"ctrlr\": 1}"), ERR_PARAMS,
		       NULL));
	CHECK(it_fails(dut, "vhost_delete_controller",
		       json_pack("{s:s, s:b}", "ctrlr", "ghost", "force", true), ERR_PARAMS,
		       "Unknown parameter"));
	REQUIRE(it_malloc(dut, "Mbusy", 64, 512));
	REQUIRE(bt_ctrlr(dut, "busy", "Mbusy"));
	f = it_connect(dut, "busy", NULL);
	if (f) {
		CHECK(it_fails(dut, "vhost_delete_controller", json_pack("{s:s}", "ctrlr", "busy"),
			       -EBUSY, NULL));
		/* refused, and left working */
		CHECK(it_listed(dut, "busy"));
		CHECK_EQ(vu_blk_request(f, 0, VIRTIO_BLK_T_FLUSH, 0, NULL, 0), VIRTIO_BLK_S_OK);
		vu_front_close(f);
	}
	CHECK(it_delete_ctrlr(dut, "busy"));
	check_absent("busy", false);
	CHECK(it_fails(dut, "vhost_delete_controller", json_pack("{s:s}", "ctrlr", "busy"), -ENODEV,
		       NULL));
	/* the name is free again */
	CHECK(bt_ctrlr(dut, "busy", "Mbusy"));
	CHECK(it_delete_ctrlr(dut, "busy"));
	check_bdev_free("Mbusy");
}

static void test_get_controllers(void)
{
	json_t *list, *c, *block;

	CHECK(it_fails(dut, "vhost_get_controllers", json_pack("{s:s}", "name", "ghost"), -ENODEV,
		       NULL));
	CHECK(it_fails(dut, "vhost_get_controllers", it_json("{\"name\": 3}"), ERR_PARAMS, NULL));
	CHECK(it_fails(dut, "vhost_get_controllers", it_json("{\"ctrlr\": \"x\"}"), ERR_PARAMS,
		       "Unknown parameter"));
	REQUIRE(it_malloc(dut, "Mlist", 64, 512));
	REQUIRE(it_ok(dut, "vhost_create_blk_controller",
		      json_pack("{s:s, s:s, s:b, s:b}", "ctrlr", "listed", "dev_name", "Mlist",
				"readonly", true, "packed_ring", true)));
	list = it_call(dut, "vhost_get_controllers", json_pack("{s:s}", "name", "listed"));
	c = json_array_get(list, 0);
	block = json_object_get(json_object_get(c, "backend_specific"), "block");
	CHECK_EQ(json_array_size(list), 1);
	CHECK(json_is_string(json_object_get(c, "ctrlr")) &&
	      strcmp(json_string_value(json_object_get(c, "ctrlr")), "listed") == 0);
	CHECK(json_is_string(json_object_get(c, "cpumask")) &&
	      strcmp(json_string_value(json_object_get(c, "cpumask")), "0x1") == 0);
	CHECK(json_is_string(json_object_get(c, "socket")) &&
	      strcmp(json_string_value(json_object_get(c, "socket")), it_socket(dut, "listed")) ==
		      0);
	CHECK(json_is_true(json_object_get(c, "packed_ring")));
	CHECK(json_is_false(json_object_get(c, "connected")));
	CHECK(json_is_true(json_object_get(block, "readonly")));
	CHECK(json_is_string(json_object_get(block, "bdev")) &&
	      strcmp(json_string_value(json_object_get(block, "bdev")), "Mlist") == 0);
	json_decref(list);
	/* without a name: every controller, this one among them */
	CHECK(it_listed(dut, "listed"));
	CHECK(it_delete_ctrlr(dut, "listed"));
	check_bdev_free("Mlist");
}

/* Last: every test above left the daemon healthy and with no controller. */
static void test_daemon_clean_at_end(void)
{
	json_t *list = it_call(dut, "vhost_get_controllers", NULL);

	CHECK(json_is_array(list) && json_array_size(list) == 0);
	json_decref(list);
	CHECK(test_daemon_stop(dut, NULL) == 0);
	dut = NULL;
}

int main(int argc, char **argv)
{
	static const struct tap_test tests[] = {
		TAP_TEST(test_create_missing_params),  TAP_TEST(test_create_wrong_types),
		TAP_TEST(test_create_unknown_param),   TAP_TEST(test_create_no_such_bdev),
		TAP_TEST(test_create_duplicate),       TAP_TEST(test_create_bad_cpumask),
		TAP_TEST(test_create_invalid_names),   TAP_TEST(test_create_over_a_file),
		TAP_TEST(test_create_on_claimed_bdev), TAP_TEST(test_delete_errors),
		TAP_TEST(test_get_controllers),	       TAP_TEST(test_daemon_clean_at_end),
	};

	return test_daemon_tap_run("-m 0x1 --poll adaptive", &dut, tests, TAP_COUNT(tests), argc, argv);
}
