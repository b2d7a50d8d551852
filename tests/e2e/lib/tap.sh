# TAP output for e2e tests: one line per behaviour, the plan printed last.
# shellcheck shell=bash

E2E_TAP_N=0
E2E_TAP_FAILED=0

tap_ok() { E2E_TAP_N=$((E2E_TAP_N + 1)); echo "ok $E2E_TAP_N - $*"; }

tap_fail() { # name [reason]
	E2E_TAP_N=$((E2E_TAP_N + 1))
	E2E_TAP_FAILED=$((E2E_TAP_FAILED + 1))
	echo "not ok $E2E_TAP_N - $1"
	[ $# -gt 1 ] && echo "#   ${*:2}"
	return 0
}

tap_check() { # name command... : ok when the command succeeds
	local name=$1
	shift
	if "$@"; then tap_ok "$name"; else tap_fail "$name" "failed: $*"; fi
}

tap_log_lines() { [ -f "$1" ] && tr -d '\r' <"$1"; } # a serial log without CRs

# One TAP line per expected guest check, from the "E2E: ok|fail NAME" lines of a serial log.
# A check the guest never reported fails (the guest died or the script stopped early).
tap_guest_results() { # log name...
	local log=$1 name line
	shift
	for name in "$@"; do
		line=$(tap_log_lines "$log" | grep -E "^E2E: (ok|fail) $name( |\$)" | tail -1)
		case $line in
		"E2E: ok $name") tap_ok "$name" ;;
		"E2E: fail $name"*)
			tap_fail "$name" "${line#"E2E: fail $name"}"
			tap_log_lines "$log" | sed -n "s/^E2E-OUT: $name: /#   /p" | tail -15
			;;
		*) tap_fail "$name" "not reported by the guest (see $log)" ;;
		esac
	done
}

# For a guest that went wrong: what its watchdog saw stuck, and the end of its serial log.
tap_guest_log_tail() { # log
	tap_log_lines "$1" | grep '^E2E-HUNG' | head -40 | sed 's/^/#   guest: /'
	tap_log_lines "$1" | grep -v '^E2E-HUNG' | tail -20 | sed 's/^/#   guest: /'
}

tap_done() { # prints the plan; exit status says whether everything passed
	echo "1..$E2E_TAP_N"
	[ "$E2E_TAP_FAILED" -eq 0 ]
}
