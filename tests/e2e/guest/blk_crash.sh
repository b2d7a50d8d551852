# shellcheck shell=sh disable=SC2086,SC2154 # runs after lib.sh; disks are vd[a-z]
# Guest side of test_blk_crash_recovery.sh. env: SERIAL. Write A is held by the first vhostd;
# write B, issued after it, completes (so A's head is behind the used index). The host kills that
# vhostd; A must complete through the second one, and B must not be redone over newer data.
e2e_find_disk crash-disk-found "$SERIAL"
d=${disk:-none}
dd if=/dev/urandom of=/tmp/a bs=4096 count=1 2>/dev/null
dd if=/dev/urandom of=/tmp/b bs=4096 count=1 2>/dev/null
echo "E2E: writing"
(dd if=/tmp/a of=/dev/$d bs=4096 count=1 oflag=direct 2>/tmp/a.err; echo $? >/tmp/a.rc) &
sleep 1
if dd if=/tmp/b of=/dev/$d bs=4096 seek=8 count=1 oflag=direct 2>/tmp/b.err; then
	e2e_ok crash-second-write
else
	e2e_fail crash-second-write "$(cat /tmp/b.err)"
fi
echo "E2E: second write done"
wait
e2e_expect_eq crash-held-write-completed "$(cat /tmp/a.rc 2>/dev/null)" 0
dd if=/dev/$d of=/tmp/back bs=4096 count=9 iflag=direct 2>/dev/null
e2e_expect_eq crash-read-back-a "$(head -c 4096 /tmp/back | md5sum | cut -d' ' -f1)" \
	"$(md5sum </tmp/a | cut -d' ' -f1)"
e2e_expect_eq crash-read-back-b "$(tail -c 4096 /tmp/back | md5sum | cut -d' ' -f1)" \
	"$(md5sum </tmp/b | cut -d' ' -f1)"
echo "E2E: pattern $(md5sum </tmp/a | cut -d' ' -f1)"
