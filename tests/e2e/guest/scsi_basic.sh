# shellcheck shell=sh disable=SC2086,SC2154 # runs after lib.sh
# Guest side of test_scsi_basic.sh. env: BLOCKS (per LUN), BLK_SERIAL. Targets 0-3 exist at boot;
# the host adds target 4 and removes it again while we watch, and doubles target 5 (a null bdev):
# no rescan is typed here.

sd_of_target() { # target -> sdX (waits up to $2 s, default 10)
	_i=0
	while [ "$_i" -lt $((${2:-10} * 10)) ]; do
		for _p in /sys/bus/scsi/devices/*:0:$1:0/block/*; do
			[ -e "$_p" ] && { basename "$_p"; return 0; }
		done
		sleep 0.1
		_i=$((_i + 1))
	done
	return 1
}

target_gone() { # target: waits up to 20 s for it to disappear
	_i=0
	while ls -d /sys/bus/scsi/devices/*:0:$1:0 >/dev/null 2>&1; do
		[ "$_i" -ge 200 ] && return 1
		sleep 0.1
		_i=$((_i + 1))
	done
}

n=0
for t in 0 1 2 3; do sd_of_target $t >/dev/null && n=$((n + 1)); done
e2e_expect_eq scsi-four-luns "$n" 4
s0=/dev/$(sd_of_target 0)
s1=/dev/$(sd_of_target 1)
s2=/dev/$(sd_of_target 2)
e2e_check scsi-sg-inq sg_inq $s0
e2e_check scsi-vpd-naa sh -c "sg_vpd -p di $s0 | grep -qi naa"
e2e_expect_eq scsi-readcap "$(sg_readcap -l $s0 | sed -n 's/.*Last LBA=\([0-9]*\).*/\1/p')" \
	$((BLOCKS - 1))
e2e_check scsi-sg-luns sg_luns $s0
e2e_check scsi-unmap-fill dd if=/dev/urandom of=$s1 bs=65536 count=1 oflag=direct
e2e_check scsi-sg-unmap sg_unmap --lba=0 --num=128 $s1
e2e_expect_eq scsi-unmap-zeroes "$(e2e_dev_md5 $s1 65536)" "$(e2e_zero_md5 65536)"
e2e_check scsi-write-same-16-unmap sg_write_same --16 --unmap --lba=16 --num=8 $s1
e2e_check scsi-sg-sync sg_sync $s1
e2e_check scsi-fio-verify e2e_fio_verify $s2 --name=scsi --size=8M
e2e_find_disk scsi-and-blk-together "$BLK_SERIAL"

echo "E2E: hotplug-ready"
s4=$(sd_of_target 4 30)
e2e_expect_eq scsi-hot-added-appears "${s4:+yes}" yes
[ -n "$s4" ] && e2e_check scsi-hot-added-works dd if=/dev/$s4 of=/dev/null bs=4096 count=16 iflag=direct
echo "E2E: unplug-ready"
e2e_check scsi-hot-removed-disappears target_gone 4
e2e_check scsi-others-survive dd if=$s0 of=/dev/null bs=4096 count=16 iflag=direct

size_becomes() { # dev sectors: waits up to 20 s for /sys/block/dev/size
	_i=0
	while [ "$(cat /sys/block/$1/size)" != "$2" ]; do
		[ "$_i" -ge 200 ] && { echo "size $(cat /sys/block/$1/size)"; return 1; }
		sleep 0.1
		_i=$((_i + 1))
	done
}
s5=$(sd_of_target 5)
e2e_expect_eq scsi-resize-before "$(cat /sys/block/$s5/size)" "$BLOCKS"
echo "E2E: resize-ready"
e2e_check scsi-resize-follows size_becomes $s5 $((BLOCKS * 2))
