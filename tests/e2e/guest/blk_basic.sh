# shellcheck shell=sh disable=SC2086,SC2046,SC2154 # runs after lib.sh; disks are vd[a-z]
# Guest side of test_blk_basic.sh. env: MALLOC_SERIAL MALLOC_SECTORS URING_SERIAL URING_SECTORS
# PACKED_SERIAL. Disks are found by serial (GET_ID), so probe order does not matter.

queue_irqs() { # dev : "interrupts-of-queue0 interrupts-of-queue1" (MSI-X vector per queue)
	_v=$(basename "$(readlink /sys/block/$1/device)")
	for _q in 0 1; do
		grep " $_v-req.$_q\$" /proc/interrupts |
			awk '{ n = 0; for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) n += $i; printf "%d ", n }'
	done
}

both_queues_used() { # dev "queue_irqs before": each queue completed something since
	set -- $(queue_irqs "$1") $2
	echo "interrupts per queue after: $1 $2, before: $3 $4"
	[ "$#" = 4 ] && [ "$1" -gt "$3" ] && [ "$2" -gt "$4" ]
}

fill_random() { # dev offset bytes : random data, must read back as not all zeros
	dd if=/dev/urandom of="$1" bs=65536 seek=$(($2 / 65536)) count=$(($3 / 65536)) \
		oflag=direct 2>/dev/null && [ "$(e2e_dev_md5 "$1" "$3" "$2")" != "$(e2e_zero_md5 "$3")" ]
}

discard_zeroes() { # dev offset bytes [-z]: discard (or write zeroes) a random range, read zeros
	_kind=discard
	[ -n "${4:-}" ] && _kind=write_zeroes
	[ "$(cat /sys/block/${1#/dev/}/queue/${_kind}_max_bytes)" -gt 0 ] ||
		{ echo "$_kind not advertised"; return 1; }
	fill_random "$1" "$2" "$3" || { echo "random fill failed"; return 1; }
	# util-linux's, by path: busybox ash runs its own applet of that name first
	/usr/local/bin/blkdiscard ${4:-} -o "$2" -l "$3" "$1" || return 1
	[ "$(e2e_dev_md5 "$1" "$3" "$2")" = "$(e2e_zero_md5 "$3")" ] || { echo "not zeros"; return 1; }
}

flush_works() { # dev : the disk reports a write-back cache (F_FLUSH) and fsync'ed writes pass
	[ "$(cat /sys/block/${1#/dev/}/queue/write_cache)" = "write back" ] ||
		{ echo "write_cache: $(cat /sys/block/${1#/dev/}/queue/write_cache)"; return 1; }
	e2e_fio_verify "$1" --name=flush --size=1M --offset=48M --fsync=4
}

if e2e_find_disk malloc-serial "$MALLOC_SERIAL"; then
	d=$disk
	e2e_expect_eq malloc-size "$(cat /sys/block/$d/size)" "$MALLOC_SECTORS"
	e2e_expect_eq malloc-queues "$(ls /sys/block/$d/mq | wc -l)" 2
	irqs=$(queue_irqs "$d")
	e2e_check malloc-fio-verify-2-queues e2e_fio_verify /dev/$d \
		--name=q0 --cpus_allowed=0 --offset=0 --size=8M \
		--name=q1 --cpus_allowed=1 --offset=16M --size=8M
	e2e_check malloc-both-queues-used both_queues_used "$d" "$irqs"
	e2e_check malloc-flush flush_works /dev/$d
	e2e_check malloc-discard-zeroes discard_zeroes /dev/$d 0 4194304
	e2e_check malloc-write-zeroes discard_zeroes /dev/$d 8388608 4194304 -z
fi

if e2e_find_disk uring-serial "$URING_SERIAL"; then
	d=$disk
	e2e_expect_eq uring-size "$(cat /sys/block/$d/size)" "$URING_SECTORS"
	e2e_check uring-fio-verify e2e_fio_verify /dev/$d --name=u --size=8M
fi

if e2e_find_disk packed-serial "$PACKED_SERIAL"; then
	d=$disk
	# virtio feature bit 34 is VIRTIO_F_RING_PACKED; the sysfs string has one digit per bit.
	e2e_expect_eq packed-ring-negotiated "$(cut -c35 /sys/block/$d/device/features)" 1
	e2e_check packed-fio-verify e2e_fio_verify /dev/$d --name=p --size=4M
fi
