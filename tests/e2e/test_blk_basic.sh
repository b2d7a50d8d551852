#!/bin/bash
# vhost-user-blk end to end: a malloc disk (split ring, 2 queues), a uring disk and a packed-ring
# disk in one guest: size, serial (GET_ID), queues, fio verify, flush, discard, write zeroes.
# shellcheck source=tests/e2e/lib/e2e.sh disable=SC2046 # e2e_*_args print words to split
. "$(dirname "$0")/lib/e2e.sh"
e2e_start 0x1

malloc=e2e-malloc-split-disk0 # longer than 20 bytes: GET_ID truncates, as SPDK does
file=$(mktemp /var/tmp/vhostd-e2e-uring.XXXXXX)
e2e_on_exit rm -f "$file"
truncate -s 32M "$file"
uuid=$(cat /proc/sys/kernel/random/uuid)
e2e_rpc_check "bdev_malloc_create with a UUID" bdev_malloc_create -b "$malloc" -u "$uuid" 64 512
bdev_has_uuid() { e2e_rpc --json bdev_get_bdevs -b "$1" | grep -qi "\"$2\""; }
tap_check "bdev_get_bdevs reports that UUID" bdev_has_uuid "$malloc" "$uuid"
e2e_rpc_check "bdev_uring_create" bdev_uring_create "$file" e2e-uring
e2e_rpc_check "bdev_malloc_create (packed disk)" bdev_malloc_create -b e2e-packed 16 512
e2e_rpc_check "vhost_create_blk_controller" vhost_create_blk_controller blk0 "$malloc"
e2e_rpc_check "vhost_create_blk_controller (uring)" vhost_create_blk_controller blk1 e2e-uring
e2e_rpc_check "vhost_create_blk_controller -p" vhost_create_blk_controller blk2 e2e-packed -p

E2E_GUEST_ENV=(MALLOC_SERIAL="${malloc:0:20}" MALLOC_SECTORS=131072
	URING_SERIAL=e2e-uring URING_SECTORS=65536 PACKED_SERIAL=e2e-packed)
sock=$E2E_VHOSTD_DIR
e2e_run_guest basic "$E2E_DIR/guest/blk_basic.sh" $(e2e_blk_args c0 "$sock/blk0" 2) \
	$(e2e_blk_args c1 "$sock/blk1" 2) $(e2e_blk_args c2 "$sock/blk2" 2 packed)
tap_check "guest powered off by itself" [ $? = 0 ]
log=$E2E_RUN_DIR/basic.log
tap_guest_results "$log" malloc-serial malloc-size malloc-queues malloc-fio-verify-2-queues \
	malloc-both-queues-used malloc-flush malloc-discard-zeroes malloc-write-zeroes \
	uring-serial uring-size uring-fio-verify packed-serial packed-ring-negotiated packed-fio-verify
[ "$E2E_TAP_FAILED" = 0 ] || tap_guest_log_tail "$log"

tap_check "vhostd still running after the guest left" e2e_vhostd_alive
for c in blk0 blk1 blk2; do
	e2e_rpc_check "vhost_delete_controller $c" vhost_delete_controller "$c"
done
tap_check "vhostd exits 0 on SIGTERM" e2e_vhostd_stop
tap_done
