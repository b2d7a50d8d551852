/*
 * Shared by the vhost-blk integration tests, on top of it_util.h (RPC calls, connecting, scratch
 * files): a vhost-blk controller and its config space.
 */
#ifndef VHOSTD_TESTS_BLK_TEST_H
#define VHOSTD_TESTS_BLK_TEST_H

#include <stdbool.h>
#include <linux/virtio_blk.h>

#include "it_util.h"

#define bt_ctrlr(d, ctrlr, bdev)                                                                   \
	it_ok(d, "vhost_create_blk_controller",                                                    \
	      json_pack("{s:s, s:s}", "ctrlr", ctrlr, "dev_name", bdev))

/* GET_CONFIG of the whole virtio-blk config space. */
bool bt_config_at(const char *file, int line, struct vu_front *f, struct virtio_blk_config *cfg);
#define bt_config(f, cfg) bt_config_at(__FILE__, __LINE__, f, cfg)

#endif
