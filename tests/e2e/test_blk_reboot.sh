#!/bin/bash
# The guest reboots (a device reset while vhostd keeps the controller): the second boot must find
# the disk again, read what the first boot wrote, and do I/O over the re-established session.
# shellcheck source=tests/e2e/lib/e2e.sh disable=SC2046 # e2e_*_args print words to split
. "$(dirname "$0")/lib/e2e.sh"
e2e_start 0x1

e2e_rpc_check "bdev_malloc_create" bdev_malloc_create -b e2e-reboot 32 512
e2e_rpc_check "vhost_create_blk_controller" vhost_create_blk_controller rb0 e2e-reboot

E2E_GUEST_ENV=(SERIAL=e2e-reboot)
E2E_ALLOW_REBOOT=1 e2e_run_guest reboot "$E2E_DIR/guest/blk_reboot.sh" \
	$(e2e_blk_args c0 "$E2E_VHOSTD_DIR/rb0" 2)
tap_check "guest powered off by itself" [ $? = 0 ]
log=$E2E_RUN_DIR/reboot.log
tap_check "guest booted twice" [ "$(tap_log_lines "$log" | grep -c '^E2E: boot ')" = 2 ]
tap_guest_results "$log" boot1-disk-found boot1-data-written boot2-disk-found boot2-data-intact \
	boot2-fio-verify
[ "$E2E_TAP_FAILED" = 0 ] || tap_guest_log_tail "$log"

tap_check "vhostd still running after the guest left" e2e_vhostd_alive
tap_check "vhostd exits 0 on SIGTERM" e2e_vhostd_stop
tap_done
