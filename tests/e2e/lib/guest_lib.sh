# Guest-side helpers (busybox ash), sourced before the test script.
# shellcheck shell=sh disable=SC2034,SC2046 # sets $disk for the test scripts
# Results are lines on the console: "E2E: ok NAME" or "E2E: fail NAME REASON", and a failed
# command's output as "E2E-OUT: NAME: ..." lines.

e2e_ok() { echo "E2E: ok $1"; }
e2e_fail() { echo "E2E: fail $*"; }

# e2e_check NAME CMD...: ok when CMD succeeds; its output is shown only on failure.
e2e_check() {
	_n=$1
	shift
	if "$@" >/tmp/out 2>&1; then
		e2e_ok "$_n"
	else
		_rc=$?
		tail -15 /tmp/out | sed "s/^/E2E-OUT: $_n: /"
		e2e_fail "$_n" "exit $_rc from: $*"
	fi
}

e2e_expect_eq() { # name actual expected
	if [ "$2" = "$3" ]; then e2e_ok "$1"; else e2e_fail "$1" "got '$2', expected '$3'"; fi
}

# Waits up to $2 seconds for path $1 to exist.
e2e_wait_path() {
	_i=0
	while [ ! -e "$1" ]; do
		[ "$_i" -ge $(($2 * 10)) ] && return 1
		sleep 0.1
		_i=$((_i + 1))
	done
}

# Prints the name (vda, vdb, ...) of the virtio disk whose serial is $1, waiting up to 10 s.
e2e_disk_by_serial() {
	_i=0
	while [ "$_i" -lt 100 ]; do
		for _d in /sys/block/vd*; do
			[ "$(cat "$_d/serial" 2>/dev/null)" = "$1" ] && { basename "$_d"; return 0; }
		done
		sleep 0.1
		_i=$((_i + 1))
	done
	return 1
}

# Check $1: a virtio disk with serial $2 exists; its name goes to $disk. On failure the reason
# lists the serials the guest does see.
e2e_find_disk() { # check-name serial
	disk=$(e2e_disk_by_serial "$2") && { e2e_ok "$1"; return 0; }
	e2e_fail "$1" "no disk with serial '$2'; seen:" \
		$(for _d in /sys/block/vd*; do echo "${_d##*/}='$(cat "$_d/serial" 2>&1)'"; done)
	return 1
}

# fio write-then-verify (crc32c), libaio, O_DIRECT, queue depth 8. Job sections follow the
# device: "--name=J --size=S [--offset=O --cpus_allowed=C ...]" (one or more).
e2e_fio_verify() { # dev job-options...
	_dev=$1
	shift
	fio --filename="$_dev" --ioengine=libaio --direct=1 --rw=randwrite --bs=4k --iodepth=8 \
		--numjobs=1 --verify=crc32c --do_verify=1 --verify_fatal=1 "$@"
}

# md5 of $2 bytes of a device from offset $3 (default 0), read with O_DIRECT in 64 KiB blocks.
e2e_dev_md5() { # dev bytes [offset]
	dd if="$1" bs=65536 count=$(($2 / 65536)) skip=$((${3:-0} / 65536)) iflag=direct 2>/dev/null |
		md5sum | cut -d' ' -f1
}

e2e_zero_md5() { # bytes
	dd if=/dev/zero bs=65536 count=$(($1 / 65536)) 2>/dev/null | md5sum | cut -d' ' -f1
}

# Shortly before the host's timeout: what is stuck (in-flight block requests, D-state tasks).
e2e_dump_stuck() {
	echo "E2E-HUNG: still running after ${E2E_WATCHDOG}s"
	for _d in /sys/kernel/debug/block/*/hctx*; do
		grep -H '^busy=[1-9]' "$_d/tags" | sed 's/^/E2E-HUNG: /'
		for _f in "$_d/busy" "$_d/dispatch" "$_d/state" "$_d"/cpu*/default_rq_list; do
			sed -n "/./s|^|E2E-HUNG: ${_f#/sys/kernel/debug/block/}: |p" "$_f" 2>/dev/null
		done
	done
	grep -E 'virtio[0-9]+-(req|request)' /proc/interrupts | sed 's/^/E2E-HUNG: irq /'
	for _p in /proc/[0-9]*; do
		grep -q '^State:.*D' "$_p/status" 2>/dev/null || continue
		echo "E2E-HUNG: blocked task ${_p#/proc/}: $(tr '\0' ' ' <"$_p/cmdline")"
		sed 's/^/E2E-HUNG:   /' "$_p/stack"
	done
}
