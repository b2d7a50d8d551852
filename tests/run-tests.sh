#!/bin/bash
# Runs every test program and prints one closing line "N passed, N failed".
#   tests/run-tests.sh BUILD [ASAN_BUILD]
# Unit and integration tests run on the sanitizer build when one is given (ASan+UBSan catch what a
# plain run would miss); e2e tests boot a real guest against the plain build's vhostd.
# Every program prints TAP; a program that dies without reporting counts as one failure.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-build}" && pwd)
checked=$(cd "${2:-$1}" && pwd)
log_dir="$build/test-logs"
mkdir -p "$log_dir"
passed=0
failed=0
export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export CMOCKA_MESSAGE_OUTPUT=TAP

run_one() { # label, command...
	local label=$1; shift
	local log="$log_dir/$(echo "$label" | tr '/ ' '__').log"
	local start=$SECONDS
	VHOSTD_BUILD=$bin_build VHOSTD_ROOT=$root timeout 900 "$@" >"$log" 2>&1
	local rc=$?
	local ok notok
	ok=$(grep -cE '^ok ' "$log")
	notok=$(grep -cE '^not ok ' "$log")
	if [ "$rc" -ne 0 ] && [ "$notok" -eq 0 ]; then
		notok=1
		echo "# $label exited with status $rc without reporting a failure"
	fi
	passed=$((passed + ok))
	failed=$((failed + notok))
	printf '%-48s %4d passed %3d failed  %4ds\n' "$label" "$ok" "$notok" $((SECONDS - start))
	if [ "$notok" -ne 0 ]; then
		grep -E '^(not ok|# )' "$log" | head -40 | sed 's/^/    /'
		echo "    (full log: $log)"
	fi
}

bin_build=$checked
for kind in unit integration; do
	for t in $(find "$checked/tests/$kind" -type f -executable -name 'test_*' 2>/dev/null | sort); do
		run_one "$kind/$(basename "$t")" "$t"
	done
done
bin_build=$build
for t in $(find "$root/tests/e2e" -maxdepth 1 -type f -executable -name 'test_*' 2>/dev/null | sort); do
	run_one "e2e/$(basename "$t")" "$t"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
