# Runs vhostd for an e2e test and talks to it with vhostctl. Sourced by tests.
#   e2e_vhostd_start [CPUMASK]   start $VHOSTD_BUILD/app/vhostd, wait until its RPC server answers
#   e2e_rpc ARGS...              vhostctl -s <rpc socket> ARGS...
#   e2e_vhostd_alive             is it still running?
#   e2e_vhostd_stop              SIGTERM, wait; fails when it does not exit 0 within 10 s
# Controller sockets live in $E2E_VHOSTD_DIR/<controller name>; its log is $E2E_RUN_DIR/vhostd.log.
# shellcheck shell=bash

VHOSTD_BUILD=${VHOSTD_BUILD:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)/build-e2e}
E2E_VHOSTD_PID=

e2e_rpc() {
	"$VHOSTD_BUILD/app/vhostctl" -s "$E2E_VHOSTD_DIR/rpc.sock" "$@"
}

e2e_vhostd_alive() { [ -n "$E2E_VHOSTD_PID" ] && kill -0 "$E2E_VHOSTD_PID" 2>/dev/null; }

e2e_vhostd_start() { # [cpumask]
	local i
	for i in vhostd vhostctl; do
		[ -x "$VHOSTD_BUILD/app/$i" ] || { e2e_log "$VHOSTD_BUILD/app/$i is missing"; return 1; }
	done
	E2E_VHOSTD_DIR="$E2E_RUN_DIR/vhostd"
	mkdir -p "$E2E_VHOSTD_DIR"
	# shellcheck disable=SC2086 # E2E_VHOSTD_WRAP: e.g. "gdb -batch -ex run -ex bt --args"
	${E2E_VHOSTD_WRAP:-} "$VHOSTD_BUILD/app/vhostd" -S "$E2E_VHOSTD_DIR" \
		-r "$E2E_VHOSTD_DIR/rpc.sock" --cpumask "${1:-0x1}" >"$E2E_RUN_DIR/vhostd.log" 2>&1 &
	E2E_VHOSTD_PID=$!
	for i in $(seq 100); do
		e2e_rpc rpc_get_methods >/dev/null 2>&1 && return 0
		e2e_vhostd_alive || break
		sleep 0.1
	done
	e2e_log "vhostd did not answer RPC; its log:"
	sed 's/^/#   /' "$E2E_RUN_DIR/vhostd.log" | tail -20
	return 1
}

e2e_vhostd_stop() {
	local pid=$E2E_VHOSTD_PID rc i
	[ -n "$pid" ] || return 1
	E2E_VHOSTD_PID=
	kill -TERM "$pid" 2>/dev/null
	for i in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		e2e_log "vhostd ignored SIGTERM for 10 s"
		kill -KILL "$pid"
		wait "$pid" 2>/dev/null
		return 1
	fi
	wait "$pid"
	rc=$?
	[ "$rc" = 0 ] && return 0
	e2e_log "vhostd exited with $rc"
	tail -20 "$E2E_RUN_DIR/vhostd.log" | sed 's/^/#   /'
	return "$rc"
}

# One TAP line for an RPC: ok when vhostctl succeeds, else its output as the reason.
e2e_rpc_check() { # tap-name vhostctl-args...
	local name=$1 out
	shift
	if out=$(e2e_rpc "$@" 2>&1); then
		tap_ok "$name"
	else
		tap_fail "$name" "vhostctl $*: $(echo "$out" | tail -3 | tr '\n' ' ')"
	fi
}
