# shellcheck shell=sh disable=SC2086,SC2046,SC2154 # runs after lib.sh; disks are vd[a-z]
# Guest side of test_blk_reboot.sh (runs on both boots). env: SERIAL.
# Boot 1 writes 1 MiB of random data at 1 MiB and a header in sector 0 ("E2EBOOT1 <md5>"), then
# reboots; boot 2 finds the header and checks the data, then does fresh I/O over the new session.
d=$(e2e_disk_by_serial "$SERIAL") || d=none
read -r magic md5 <<HDR
$(dd if=/dev/$d bs=512 count=1 iflag=direct 2>/dev/null | tr -d '\0')
HDR
if [ "$magic" != E2EBOOT1 ]; then
	e2e_find_disk boot1-disk-found "$SERIAL" || return
	dd if=/dev/urandom of=/tmp/data bs=65536 count=16 2>/dev/null
	printf 'E2EBOOT1 %s\n' "$(md5sum </tmp/data | cut -d' ' -f1)" >/tmp/hdr
	dd if=/tmp/hdr of=/tmp/sector bs=512 count=1 conv=sync 2>/dev/null
	if dd if=/tmp/data of=/dev/$d bs=65536 seek=16 oflag=direct 2>/dev/null &&
		dd if=/tmp/sector of=/dev/$d bs=512 oflag=direct 2>/dev/null; then
		e2e_ok boot1-data-written
	else
		e2e_fail boot1-data-written "dd to /dev/$d failed"
	fi
	sync
	reboot -f
fi
e2e_find_disk boot2-disk-found "$SERIAL" || return
e2e_expect_eq boot2-data-intact "$(e2e_dev_md5 /dev/$d 1048576 1048576)" "$md5"
e2e_check boot2-fio-verify e2e_fio_verify /dev/$d --name=r --offset=4M --size=4M
