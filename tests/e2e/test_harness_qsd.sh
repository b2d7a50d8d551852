#!/bin/bash
# Self-test of the e2e harness with qemu-storage-daemon as the vhost-user-blk back-end: when this
# fails the harness (kernel, initramfs, QEMU arguments) is broken, not vhostd.
# shellcheck source=tests/e2e/lib/e2e.sh disable=SC2046 # e2e_*_args print words to split
. "$(dirname "$0")/lib/e2e.sh"

e2e_require "guest image prepared" e2e_prepare
img=$(mktemp /var/tmp/vhostd-e2e-qsd.XXXXXX)
e2e_on_exit rm -f "$img"
truncate -s 64M "$img"
sock="$E2E_RUN_DIR/qsd.sock"
export_opts="type=vhost-user-blk,id=e,node-name=f,writable=on,num-queues=2"
qemu-storage-daemon --blockdev driver=file,node-name=f,filename="$img" \
	--export "$export_opts,addr.type=unix,addr.path=$sock" \
	>"$E2E_RUN_DIR/qsd.log" 2>&1 &
qsd=$!
e2e_on_exit "kill $qsd 2>/dev/null; wait $qsd 2>/dev/null"
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done

# qemu-storage-daemon answers GET_ID with a fixed string.
E2E_GUEST_ENV=(SERIAL=vhost_user_blk SECTORS=$((64 * 2048)))
start=$SECONDS
e2e_run_guest qsd "$E2E_DIR/guest/harness_qsd.sh" $(e2e_blk_args c0 "$sock" 2)
tap_check "guest powered off by itself" [ $? = 0 ]
e2e_log "guest run took $((SECONDS - start)) s"
tap_guest_results "$E2E_RUN_DIR/qsd.log" disk-found disk-size disk-queues fio-verify
[ "$E2E_TAP_FAILED" = 0 ] || tap_guest_log_tail "$E2E_RUN_DIR/qsd.log"
tap_done
