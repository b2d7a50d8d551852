#!/bin/bash
# INFLIGHT_SHMFD for real: vhostd is killed (SIGKILL) while it holds a guest's write and a later
# write has completed (out of order: the held one is behind the used index, so restarting the ring
# there would redo the wrong request). QEMU keeps the inflight area and reconnects to a new
# vhostd, which resubmits the held write; it completes in the guest and lands in the file.
# shellcheck source=tests/e2e/lib/e2e.sh
. "$(dirname "$0")/lib/e2e.sh"
e2e_start 0x1

file=$(mktemp /var/tmp/vhostd-e2e-crash.XXXXXX)
e2e_on_exit rm -f "$file"
truncate -s 16M "$file"
e2e_rpc_check "bdev_uring_create" bdev_uring_create "$file" crash
e2e_rpc_check "bdev_error_create" bdev_error_create crash
e2e_rpc_check "hold the next write" bdev_error_inject_error EE_crash write pending -n 1
e2e_rpc_check "vhost_create_blk_controller" vhost_create_blk_controller c0 EE_crash

sock="$E2E_VHOSTD_DIR/c0"
E2E_GUEST_ENV=(SERIAL=EE_crash)
# The guest outlives the first vhostd: do not let the harness stop it when that one dies.
E2E_VHOSTD_PID_SAVED=$E2E_VHOSTD_PID
E2E_VHOSTD_PID='' e2e_run_guest crash "$E2E_DIR/guest/blk_crash.sh" \
	-chardev "socket,id=c0,path=$sock,reconnect=1" -device vhost-user-blk-pci,chardev=c0,num-queues=1 &
guest=$!
E2E_VHOSTD_PID=$E2E_VHOSTD_PID_SAVED

for _ in $(seq 600); do
	grep -qs '^E2E: second write done' "$E2E_RUN_DIR/crash.log" && break
	sleep 0.1
done
tap_check "first vhostd holds the write" e2e_vhostd_alive
kill -KILL "$E2E_VHOSTD_PID"
wait "$E2E_VHOSTD_PID" 2>/dev/null
mv "$E2E_RUN_DIR/vhostd.log" "$E2E_RUN_DIR/vhostd-first.log"
tap_check "second vhostd starts over the stale sockets" e2e_vhostd_start 0x1
e2e_rpc_check "bdev_uring_create again" bdev_uring_create "$file" crash
e2e_rpc_check "vhost_create_blk_controller again" vhost_create_blk_controller c0 crash

wait "$guest"
tap_check "guest powered off by itself" [ $? = 0 ]
tap_guest_results "$E2E_RUN_DIR/crash.log" crash-disk-found crash-second-write \
	crash-held-write-completed crash-read-back-a crash-read-back-b
[ "$E2E_TAP_FAILED" = 0 ] || tap_guest_log_tail "$E2E_RUN_DIR/crash.log"
tap_check "second vhostd resubmitted the held write" \
	grep -q "resubmitting 1 requests" "$E2E_RUN_DIR/vhostd.log"
want=$(sed -n 's/^E2E: pattern //p' "$E2E_RUN_DIR/crash.log" | tr -d '\r')
tap_check "the write is in the backing file" [ "$(head -c 4096 "$file" | md5sum | cut -d' ' -f1)" = "$want" ]
tap_check "vhostd exits 0 on SIGTERM" e2e_vhostd_stop
tap_done
