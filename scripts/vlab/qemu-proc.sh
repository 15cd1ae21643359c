# Sourced by the virtual boards' power and console scripts (board.sh,
# pcboard.sh, uefiboard.sh): is a board's QEMU running, and stopping it.
# The caller sets RUN (the run folder), NAME (the board) and QEMU_BIN (the
# qemu-system-* program it starts).

# running PID: the process runs (it is not a zombie waiting for a slow
# reaper).
running() {
	[ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null || return 1
	state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	[ -n "$state" ] && [ "$state" != Z ]
}

# alive PID: the process runs and is this board's QEMU (not a process that
# reused the pid).
alive() {
	running "${1:-}" || return 1
	tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q -- "$QEMU_BIN .*-name $NAME "
}

# stop: the board's QEMU gets SIGTERM, then SIGKILL after 5 s; its pid file
# goes.
stop() {
	pidf="$RUN/$NAME/qemu.pid"
	[ -f "$pidf" ] || return 0
	pid=$(cat "$pidf" 2>/dev/null || true)
	if alive "$pid"; then
		kill -TERM "$pid" 2>/dev/null || true
		i=0
		while alive "$pid" && [ $i -lt 250 ]; do sleep 0.02; i=$((i + 1)); done
		if alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
	fi
	rm -f "$pidf"
}

# wait_console PID LOG: waits (up to 10 s) until the QEMU started as PID
# says in LOG that it waits for its console's connection on PORT; stops it
# and fails, naming why, when it exits or does not.
wait_console() {
	i=0
	while ! grep -q "waiting for connection" "$2"; do
		# Our own child, not reaped yet: its pid cannot be reused, and
		# until it has exec'd QEMU its cmdline is still this script's.
		running "$1" || { rm -f "$RUN/$NAME/qemu.pid"; die "qemu exited: $(cat "$2")"; }
		[ $i -lt 500 ] || { stop; die "qemu did not open its console on port $PORT within 10 s: $(cat "$2")"; }
		sleep 0.02
		i=$((i + 1))
	done
}

# console: the board's console (TCP PORT on 127.0.0.1) on this terminal,
# raw (the bytes pass as they are, nothing is echoed back), connected again
# when the board's QEMU starts anew.
console() {
	[ -n "$PORT" ] || die "console: --port is required"
	stty raw -echo 2>/dev/null || true
	while :; do
		busybox nc 127.0.0.1 "$PORT" 2>/dev/null || true
		sleep 0.02
	done
}

# install_file SRC DEST: DEST becomes a copy of SRC by a rename, so boards
# that share a TFTP root and power on at once never see (or serve) a file
# another one is still writing, and two copies at once cannot fail.
install_file() {
	tmp="$2.tmp.$$"
	cp "$1" "$tmp" && mv -f "$tmp" "$2" || { rm -f "$tmp"; die "copying $1 to $2 failed"; }
}
