#!/bin/bash
# vhost-scsi with a real guest: four LUNs on one controller seen through virtio_scsi + sd + sg;
# sg_inq, sg_vpd (NAA), sg_readcap, sg_luns, sg_unmap, sg_write_same --16 --unmap, sg_sync and a
# fio verify; a target added over RPC appears in the guest and a removed one disappears with no
# rescan typed; a resized bdev's new size reaches the guest's /sys/block/sdX/size by itself; a blk
# controller is served by the same vhostd at the same time.
# shellcheck source=tests/e2e/lib/e2e.sh disable=SC2046 # e2e_*_args print words to split
. "$(dirname "$0")/lib/e2e.sh"
e2e_start 0x1

mib=64
blocks=$((mib * 1024 * 1024 / 512))
for i in 0 1 2 3 4; do
	e2e_rpc_check "bdev_malloc_create d$i" bdev_malloc_create -b "d$i" "$mib" 512
done
e2e_rpc_check "vhost_create_scsi_controller" vhost_create_scsi_controller s0
for i in 0 1 2 3; do
	e2e_rpc_check "vhost_scsi_controller_add_target $i" vhost_scsi_controller_add_target s0 "$i" "d$i"
done
e2e_rpc_check "bdev_null_create for resize" bdev_null_create d5 "$mib" 512
e2e_rpc_check "vhost_scsi_controller_add_target 5" vhost_scsi_controller_add_target s0 5 d5
e2e_rpc_check "bdev_malloc_create for blk" bdev_malloc_create -b e2e-scsi-blk 16 512
e2e_rpc_check "vhost_create_blk_controller" vhost_create_blk_controller b0 e2e-scsi-blk

E2E_GUEST_ENV=(BLOCKS="$blocks" BLK_SERIAL=e2e-scsi-blk)
e2e_run_guest scsi "$E2E_DIR/guest/scsi_basic.sh" $(e2e_scsi_args c0 "$E2E_VHOSTD_DIR/s0" 2) \
	$(e2e_blk_args c1 "$E2E_VHOSTD_DIR/b0" 1) &
guest=$!

wait_console() { # marker: waits up to 120 s for the guest to print it
	for _ in $(seq 1200); do
		grep -qs "^E2E: $1" "$E2E_RUN_DIR/scsi.log" && return 0
		kill -0 "$guest" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
wait_console hotplug-ready &&
	e2e_rpc_check "hot add target 4" vhost_scsi_controller_add_target s0 4 d4
wait_console unplug-ready &&
	e2e_rpc_check "hot remove target 4" vhost_scsi_controller_remove_target s0 4
wait_console resize-ready &&
	e2e_rpc_check "bdev_null_resize target 5" bdev_null_resize d5 $((mib * 2))
wait "$guest"
tap_check "guest powered off by itself" [ $? = 0 ]
tap_guest_results "$E2E_RUN_DIR/scsi.log" scsi-four-luns scsi-sg-inq scsi-vpd-naa scsi-readcap \
	scsi-sg-luns scsi-unmap-fill scsi-sg-unmap scsi-unmap-zeroes scsi-write-same-16-unmap \
	scsi-sg-sync scsi-fio-verify scsi-and-blk-together scsi-hot-added-appears \
	scsi-hot-added-works scsi-hot-removed-disappears scsi-others-survive scsi-resize-before \
	scsi-resize-follows
[ "$E2E_TAP_FAILED" = 0 ] || tap_guest_log_tail "$E2E_RUN_DIR/scsi.log"
tap_check "vhostd still running after the guest left" e2e_vhostd_alive
tap_check "vhostd exits 0 on SIGTERM" e2e_vhostd_stop
tap_done
