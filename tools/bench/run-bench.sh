#!/bin/bash
# vhostd against qemu-storage-daemon, one server at a time on CPU 0 and vhost-bench on CPU 1:
#   null  vhostd bdev_null_create        vs qsd null-co
#   data  vhostd bdev_uring_create on a  vs qsd file (io_uring, page cache) + raw,
#         1 GiB file in /dev/shm
# Each pair: QD 32 randread IOPS and server CPU per I/O, QD 1 average and p99 latency, server RSS
# (anonymous + file pages; shared memory such as the guest's is not the server's own).
# Then vhostd's two personalities on one null bdev at QD 128: blk vs scsi (READ 16 to target 0),
# IOPS per server core (the I/Os one core of the server would do at its measured CPU cost).
#
# Everything runs in rounds, the two sides of a comparison right after each other; each figure
# printed is the median over the rounds and each ratio the median of the rounds' ratios. A
# virtual machine's two CPUs share caches in some host placements and not in others, which moves
# every figure by 2-3x between runs but hardly within one round.
#   tools/bench/run-bench.sh BUILD_DIR   (BENCH_TIME: seconds per run, default 3;
#                                         BENCH_ROUNDS: rounds, default 5)
set -u
build=$(cd "${1:-build}" && pwd)
bench=$build/tools/bench/vhost-bench
rpc=$build/tools/bench/bench-rpc
vhostd=$build/app/vhostd
secs=${BENCH_TIME:-3}
rounds=${BENCH_ROUNDS:-5}
qsd_bin=$(command -v qemu-storage-daemon || true)

work=$(mktemp -d /tmp/vhostd-bench.XXXXXX)
image=/dev/shm/vhostd-bench-$$.img
server_pid=
declare -A lists

cleanup() {
	stop_server
	rm -rf "$work" "$image"
}
trap cleanup EXIT

die() {
	echo "run-bench: $*" >&2
	exit 1
}

[ -x "$bench" ] || die "$bench missing: build first"
[ -n "$qsd_bin" ] || die "qemu-storage-daemon not found (Debian package qemu-system-common)"
[ "$(nproc)" -ge 2 ] || die "needs 2 CPUs: server on CPU 0, client on CPU 1"

wait_for_socket() { # path
	for _ in $(seq 500); do
		[ -S "$1" ] && return 0
		[ -n "$server_pid" ] && ! kill -0 "$server_pid" 2>/dev/null && return 1
		sleep 0.01
	done
	return 1
}

stop_server() {
	if [ -n "$server_pid" ]; then
		kill "$server_pid" 2>/dev/null
		wait "$server_pid" 2>/dev/null
		server_pid=
	fi
}

start_qsd() { # pair -> sets $sock
	local blockdev
	sock=$work/qsd.sock
	rm -f "$sock"
	if [ "$1" = null ]; then
		blockdev=(--blockdev driver=null-co,node-name=n,size=1073741824)
	else
		blockdev=(--blockdev "driver=file,node-name=f,filename=$image,cache.direct=off,aio=io_uring"
			  --blockdev driver=raw,node-name=n,file=f)
	fi
	taskset -c 0 "$qsd_bin" "${blockdev[@]}" \
		--export "type=vhost-user-blk,id=e,node-name=n,addr.type=unix,addr.path=$sock,writable=on" \
		>"$work/qsd.log" 2>&1 &
	server_pid=$!
	wait_for_socket "$sock" || { cat "$work/qsd.log" >&2; return 1; }
}

start_vhostd() { # pair -> sets $sock
	local dir=$work/vhostd rpcsock=$work/vhostd.rpc
	rm -rf "$dir" "$rpcsock"
	mkdir -p "$dir"
	taskset -c 0 "$vhostd" -S "$dir" -r "$rpcsock" --cpumask 0x1 >"$work/vhostd.log" 2>&1 &
	server_pid=$!
	wait_for_socket "$rpcsock" || { cat "$work/vhostd.log" >&2; return 1; }
	if [ "$1" = null ]; then
		"$rpc" "$rpcsock" bdev_null_create \
			'{"name":"bench0","num_blocks":2097152,"block_size":512}' >/dev/null || return 1
	else
		"$rpc" "$rpcsock" bdev_uring_create \
			"{\"name\":\"bench0\",\"filename\":\"$image\"}" >/dev/null || return 1
	fi
	"$rpc" "$rpcsock" vhost_create_blk_controller \
		'{"ctrlr":"bench","dev_name":"bench0","cpumask":"0x1"}' >/dev/null || return 1
	sock=$dir/bench
	wait_for_socket "$sock"
}

field() { # json name
	sed -n "s/.*\"$2\":\([0-9.]*\).*/\1/p" <<<"$1"
}

rec() { # key value: one more round's figure
	lists[$1]="${lists[$1]:-} $2"
}

last() { # key -> the figure the latest round recorded
	local l=${lists[$1]:-}
	echo "${l##* }"
}

ratio_of() { # a b -> a / b
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b }'
}

measure() { # server pair
	local key=$2/$1 out
	out=$(taskset -c 1 "$bench" --socket "$sock" --rw randread --qd 32 --time "$secs" \
		--server-pid "$server_pid" --json) || return 1
	rec "$key/iops" "$(field "$out" iops)"
	rec "$key/cpu" "$(field "$out" server_cpu_us_per_io)"
	out=$(taskset -c 1 "$bench" --socket "$sock" --rw randread --qd 1 --time "$secs" \
		--server-pid "$server_pid" --json) || return 1
	rec "$key/lat" "$(field "$out" lat_avg_us)"
	rec "$key/p99" "$(field "$out" lat_p99_us)"
	# Shared memory (the guest's, a mapped tmpfs image) is not the server's own: left out.
	rec "$key/rss" "$(awk '/^Rss(Anon|File):/ { kb += $2 } END { printf "%.1f", kb / 1024 }' \
		"/proc/$server_pid/status")"
}

# One round: qsd, then vhostd, each measured right after the other, and their ratios.
pair_round() { # pair
	local m q_ok=false v_ok=false

	if start_qsd "$1"; then
		measure qsd "$1" && q_ok=true || echo "run-bench: qsd $1 run failed" >&2
	else
		echo "run-bench: qemu-storage-daemon ($1) did not start" >&2
	fi
	stop_server
	[ -x "$vhostd" ] || return 0
	if start_vhostd "$1"; then
		measure vhostd "$1" && v_ok=true || echo "run-bench: vhostd $1 run failed" >&2
	else
		echo "run-bench: vhostd ($1) did not start; log:" >&2
		tail -20 "$work/vhostd.log" >&2
	fi
	stop_server
	$q_ok && $v_ok || return 0
	for m in iops cpu lat p99 rss; do
		rec "$1/ratio/$m" "$(ratio_of "$(last "$1/vhostd/$m")" "$(last "$1/qsd/$m")")"
	done
	echo "$1, round: vhostd $(last "$1/vhostd/iops") qsd $(last "$1/qsd/iops") IOPS at QD 32" >&2
}

run_pair() { # pair
	for _ in $(seq "$rounds"); do
		pair_round "$1"
	done
}

# vhostd alone: a blk and a scsi controller over null bdevs, QD 128 each, alternating.
personality_run() { # personality seconds -> vhost-bench's JSON
	taskset -c 1 "$bench" --socket "$work/vhostd/${1:0:1}" --target "$1" --rw randread \
		--qd 128 --time "$2" --server-pid "$server_pid" --json
}

measure_personalities() {
	local dir=$work/vhostd rpcsock=$work/vhostd.rpc t out_b out_s
	rm -rf "$dir" "$rpcsock"
	mkdir -p "$dir"
	taskset -c 0 "$vhostd" -S "$dir" -r "$rpcsock" --cpumask 0x1 >"$work/vhostd.log" 2>&1 &
	server_pid=$!
	wait_for_socket "$rpcsock" || return 1
	for t in blk scsi; do
		"$rpc" "$rpcsock" bdev_null_create \
			"{\"name\":\"$t\",\"num_blocks\":2097152,\"block_size\":512}" >/dev/null || return 1
	done
	"$rpc" "$rpcsock" vhost_create_blk_controller '{"ctrlr":"b","dev_name":"blk"}' >/dev/null &&
		"$rpc" "$rpcsock" vhost_create_scsi_controller '{"ctrlr":"s"}' >/dev/null &&
		"$rpc" "$rpcsock" vhost_scsi_controller_add_target \
			'{"ctrlr":"s","scsi_target_num":0,"bdev_name":"scsi"}' >/dev/null || return 1
	wait_for_socket "$dir/b" && wait_for_socket "$dir/s" || return 1
	for _ in $(seq "$rounds"); do
		out_b=$(personality_run blk "$secs") && out_s=$(personality_run scsi "$secs") || return 1
		for t in blk scsi; do
			[ $t = blk ] && out=$out_b || out=$out_s
			rec "pers/$t/iops" "$(field "$out" iops)"
			rec "pers/$t/cpu" "$(field "$out" server_cpu_us_per_io)"
			rec "pers/$t/core" "$(awk -v c="$(field "$out" server_cpu_us_per_io)" \
				'BEGIN { if (c > 0) printf "%.0f", 1e6 / c }')"
		done
		rec pers/ratio/iops "$(ratio_of "$(last pers/scsi/iops)" "$(last pers/blk/iops)")"
		rec pers/ratio/core "$(ratio_of "$(last pers/scsi/core)" "$(last pers/blk/core)")"
		echo "personalities, round: blk $(last pers/blk/iops) scsi $(last pers/scsi/iops) IOPS" >&2
	done
	stop_server
}

median() { # numbers... -> the middle one (the lower of the two middles of an even count)
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'
}

# Every figure is the median of its rounds; every ratio the median of the rounds' ratios.
res_of() { # key
	[ -n "${lists[$1]:-}" ] && median ${lists[$1]}
}

pers_row() { # metric label ratio_key
	printf '%-36s %12s %12s %10s\n' "$2" "$(res_of "pers/blk/$1")" "$(res_of "pers/scsi/$1")" \
		"$(res_of "pers/ratio/$1")"
}

row() { # pair metric label
	printf '%-5s %-30s %12s %12s %10s\n' "$1" "$3" "$(res_of "$1/vhostd/$2")" \
		"$(res_of "$1/qsd/$2")" "$(res_of "$1/ratio/$2")"
}

echo "vhost-bench: $rounds rounds of ${secs}s runs, 4 KiB randread, server on CPU 0, client on CPU 1"
[ -x "$vhostd" ] || echo "(no $vhostd yet: vhostd column left empty)"
run_pair null
head -c 1G /dev/zero >"$image" || die "cannot create $image"
run_pair data

[ -x "$vhostd" ] && { measure_personalities || echo "run-bench: personality run failed" >&2; }

printf '\n%-5s %-30s %12s %12s %10s\n' pair metric vhostd qsd vhostd/qsd
for pair in null data; do
	row "$pair" iops "QD32 IOPS"
	row "$pair" cpu "QD32 server CPU us/IO"
	row "$pair" lat "QD1 avg latency us"
	row "$pair" p99 "QD1 p99 latency us"
	row "$pair" rss "server RSS MiB, excl. shared"
done
printf '\n%-36s %12s %12s %10s\n' "vhostd null bdev, QD 128" blk scsi scsi/blk
pers_row iops "IOPS"
pers_row core "IOPS per server core"
