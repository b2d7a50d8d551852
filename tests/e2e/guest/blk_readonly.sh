# shellcheck shell=sh disable=SC2086,SC2046,SC2154 # runs after lib.sh; disks are vd[a-z]
# Guest side of test_blk_readonly.sh. env: SERIAL, MD5 (of the first MiB the host wrote).
e2e_find_disk ro-disk-found "$SERIAL"
d=${disk:-none}
e2e_expect_eq ro-flag "$(cat /sys/block/$d/ro 2>&1)" 1
e2e_expect_eq ro-read-data "$(e2e_dev_md5 /dev/$d 1048576)" "$MD5"
if dd if=/dev/urandom of=/dev/$d bs=4096 count=16 oflag=direct 2>/tmp/dd.err; then
	e2e_fail ro-write-refused "dd wrote to a read-only disk"
else
	e2e_ok ro-write-refused
fi
