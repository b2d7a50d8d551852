#!/bin/bash
# A read-only vhost-user-blk controller (-r): the guest sees ro=1, reads the data the host put in
# the backing file, cannot write, and the file stays unchanged.
# shellcheck source=tests/e2e/lib/e2e.sh disable=SC2046 # e2e_*_args print words to split
. "$(dirname "$0")/lib/e2e.sh"
e2e_start 0x1

file=$(mktemp /var/tmp/vhostd-e2e-ro.XXXXXX)
e2e_on_exit rm -f "$file"
truncate -s 16M "$file"
dd if=/dev/urandom of="$file" bs=1M count=1 conv=notrunc status=none
md5_of_file() { md5sum <"$file" | cut -d' ' -f1; }
whole=$(md5_of_file)
e2e_rpc_check "bdev_uring_create" bdev_uring_create "$file" e2e-ro
e2e_rpc_check "vhost_create_blk_controller -r" vhost_create_blk_controller ro0 e2e-ro -r

E2E_GUEST_ENV=(SERIAL=e2e-ro MD5="$(head -c 1M "$file" | md5sum | cut -d' ' -f1)")
e2e_run_guest ro "$E2E_DIR/guest/blk_readonly.sh" $(e2e_blk_args c0 "$E2E_VHOSTD_DIR/ro0" 2)
tap_check "guest powered off by itself" [ $? = 0 ]
tap_guest_results "$E2E_RUN_DIR/ro.log" ro-disk-found ro-flag ro-read-data ro-write-refused
[ "$E2E_TAP_FAILED" = 0 ] || tap_guest_log_tail "$E2E_RUN_DIR/ro.log"
tap_check "backing file unchanged" [ "$(md5_of_file)" = "$whole" ]

tap_check "vhostd still running after the guest left" e2e_vhostd_alive
tap_check "vhostd exits 0 on SIGTERM" e2e_vhostd_stop
tap_done
