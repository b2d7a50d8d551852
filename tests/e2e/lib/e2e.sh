# Entry point for e2e tests: sources the helpers, makes a private temp dir ($E2E_RUN_DIR) and
# removes it, QEMU and vhostd on exit. Set E2E_KEEP=1 to keep the temp dir (logs) for a look.
# shellcheck shell=bash
set -u

E2E_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/e2e/lib/guest.sh
. "$E2E_LIB/guest.sh"
# shellcheck source=tests/e2e/lib/tap.sh
. "$E2E_LIB/tap.sh"
# shellcheck source=tests/e2e/lib/vhostd.sh
. "$E2E_LIB/vhostd.sh"

E2E_RUN_DIR=$(mktemp -d /tmp/vhostd-e2e.XXXXXX)
E2E_QEMU_PID=
E2E_CLEANUP=() # extra commands a test registers with e2e_on_exit

e2e_on_exit() { E2E_CLEANUP+=("$*"); }

e2e_cleanup() {
	local c
	[ -n "$E2E_QEMU_PID" ] && kill "$E2E_QEMU_PID" 2>/dev/null && wait "$E2E_QEMU_PID" 2>/dev/null
	if e2e_vhostd_alive; then
		kill -KILL "$E2E_VHOSTD_PID" 2>/dev/null
		wait "$E2E_VHOSTD_PID" 2>/dev/null
	fi
	for c in "${E2E_CLEANUP[@]}"; do eval "$c"; done
	if [ "${E2E_KEEP:-0}" = 1 ]; then echo "# kept $E2E_RUN_DIR"; else rm -rf "$E2E_RUN_DIR"; fi
}
trap e2e_cleanup EXIT
trap 'exit 130' INT TERM

# Runs a prerequisite; when it fails, reports it as a failed test and ends the test there.
e2e_require() { # tap-name command...
	"${@:2}" && return 0
	tap_fail "$1"
	tap_done
	exit 1
}

# The usual start of a test: guest image ready and vhostd running.
e2e_start() { # [cpumask]
	e2e_require "guest image prepared" e2e_prepare
	e2e_require "vhostd started (VHOSTD_BUILD=$VHOSTD_BUILD)" e2e_vhostd_start "$@"
}
