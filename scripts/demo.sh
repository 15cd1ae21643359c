#!/usr/bin/env bash
# make demo: start a lab on this machine and run a job through it.
#
#   scripts/demo.sh        (after `make build`) start lava-server (SQLite in
#                          ./demo-data) and one lava-worker with one device,
#                          submit a job with an inline test definition, follow
#                          its live log, print its results; both keep running.
#                          Exit 0 only when the job ends Complete.
#   scripts/demo.sh stop   stop what the demo started (`make demo-stop`)
#
# The device:
#   vlab   a virtual arm64 board running a real U-Boot under QEMU (device type
#          qemu-uboot-arm64, scripts/vlab/board.sh), booted over TFTP with
#          Debian's kernel and a busybox ramdisk from `make vlab-images`; job
#          examples/jobs/vlab-ramdisk-smoke.yaml
#   local  a shell on this host standing in for a board (device type local);
#          job examples/jobs/local-smoke.yaml. Needs nothing but Go.
# LAVALAB_DEMO_DEVICE=auto (default) takes vlab when qemu-system-aarch64 is
# installed and the board images are there or can be built without installing
# packages (scripts/vlab/images.sh --no-install), else local.
#
# Environment: LAVALAB_DEMO_DEVICE (auto, vlab, local), DEMO_DATA (./demo-data),
# DEMO_PORT (8000), DEMO_CONSOLE_PORT (18120: the virtual board's console),
# DEMO_LOG (all: show the log's debug lines too),
# LAVALAB_VLAB_CACHE (the board images, default ~/.cache/lavalab/vlab).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DATA="${DEMO_DATA:-$ROOT/demo-data}"
mkdir -p "$DATA"
DATA=$(cd "$DATA" && pwd)
PORT="${DEMO_PORT:-8000}"
CPORT="${DEMO_CONSOLE_PORT:-18120}"
URL="http://127.0.0.1:$PORT"
BIN="$ROOT/bin"
PIDS="$DATA/pids"
BOARD=demo-vlab-01
MODE="${LAVALAB_DEMO_DEVICE:-auto}"
QEMU_HINT="sudo apt-get install qemu-system-arm u-boot-qemu busybox-static u-boot-tools cpio ipxe-qemu && make vlab-images"

T0=${EPOCHREALTIME:-$(date +%s.%N)}
# step prints a progress line with the seconds since the demo started.
step() {
  local now=${EPOCHREALTIME:-$(date +%s.%N)}
  awk -v a="$T0" -v b="$now" -v m="$*" 'BEGIN { printf "==> [%5.1fs] %s\n", b - a, m }'
}
die() { echo "demo: $*" >&2; exit 1; }

# ours PID NAME: PID is still the process the demo started (not a reused pid).
ours() {
  kill -0 "$1" 2>/dev/null || return 1
  if [ -r "/proc/$1/cmdline" ]; then
    tr '\0' ' ' <"/proc/$1/cmdline" | grep -q -- "$2"
  else
    ps -p "$1" -o command= 2>/dev/null | grep -q -- "$2"
  fi
}
# port_busy PORT: something listens on 127.0.0.1:PORT.
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# stop stops what the pids file lists; STOPPED=1 when something was running.
STOPPED=0
stop() {
  local pid name
  if [ -f "$PIDS" ]; then
    while read -r pid name; do
      if ours "$pid" "$name"; then
        STOPPED=1
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
        echo "stopped $name (pid $pid)"
      fi
    done <"$PIDS"
    rm -f "$PIDS"
  fi
  # The worker powers the board off when it cancels a job; make sure.
  if [ -f "$DATA/board" ]; then
    sh scripts/vlab/board.sh off --name "$(cat "$DATA/board")" >/dev/null 2>&1 || true
    rm -f "$DATA/board"
  fi
}

if [ "${1:-}" = stop ]; then
  stop
  [ "$STOPPED" = 1 ] || echo "no demo running"
  exit 0
fi
[ $# -eq 0 ] || die "usage: scripts/demo.sh [stop]"
[ -x "$BIN/lava-server" ] && [ -x "$BIN/lava-worker" ] && [ -d "$BIN/drivers" ] || die "run \`make build\` first (or use \`make demo\`)"

stop >/dev/null
[ "$STOPPED" = 0 ] || step "a demo was already running: stopped it, starting again"
port_busy "$PORT" && die "port $PORT is in use by another program: stop it or run DEMO_PORT=<free port> make demo"

# --- the device --------------------------------------------------------------
case "$MODE" in auto | vlab | local) ;; *) die "LAVALAB_DEMO_DEVICE=$MODE: want auto, vlab or local" ;; esac
DEVICE=local
if [ "$MODE" != local ]; then
  if ! command -v qemu-system-aarch64 >/dev/null; then
    [ "$MODE" = vlab ] && die "LAVALAB_DEMO_DEVICE=vlab needs QEMU: $QEMU_HINT"
    NOTE="qemu-system-aarch64 is not installed"
  else
    step "checking the virtual board's images (scripts/vlab/images.sh --no-install; the first build downloads Debian's arm64 kernel, ~20 s)"
    if bash scripts/vlab/images.sh --no-install 2>"$DATA/vlab-images.log"; then
      sed 's/^/     /' "$DATA/vlab-images.log"
      if port_busy "$CPORT"; then
        [ "$MODE" = vlab ] && die "the board's console port $CPORT is in use: set DEMO_CONSOLE_PORT=<free port>"
        NOTE="the board's console port $CPORT is in use (set DEMO_CONSOLE_PORT)"
      else
        DEVICE=vlab
      fi
    else
      tail -n 3 "$DATA/vlab-images.log" | sed 's/^/     /'
      [ "$MODE" = vlab ] && die "the board images cannot be built (log: $DATA/vlab-images.log); as root: $QEMU_HINT"
      NOTE="the board images cannot be built without installing packages (log: $DATA/vlab-images.log)"
    fi
  fi
fi
if [ "$DEVICE" = local ]; then
  if [ "$MODE" = auto ]; then
    step "device: local-01, a shell on this host ($NOTE)"
    echo "     For the full demo on a virtual U-Boot board under QEMU: $QEMU_HINT"
  else
    step "device: local-01, a shell on this host (LAVALAB_DEMO_DEVICE=local)"
  fi
else
  step "device: $BOARD, a virtual arm64 board with U-Boot under QEMU (console on 127.0.0.1:$CPORT)"
fi

# --- a fresh lab; the drivers' compilation caches survive ---------------------
# So does the user's API token: a lavacli identity or a browser login made
# with it keeps working after a re-run.
OLD_TOKEN="$(cat "$DATA/demo.token" 2>/dev/null || true)"
find "$DATA" -mindepth 1 -maxdepth 1 ! -name driver-cache ! -name worker ! -name vlab-images.log -exec rm -rf {} +
if [ -d "$DATA/worker" ]; then
  find "$DATA/worker" -mindepth 1 -maxdepth 1 ! -name wasm-cache -exec rm -rf {} +
fi
srv() { "$BIN/lava-server" "$@" --data-dir "$DATA"; }
# The server and the worker run in their own session: Ctrl-C in this terminal
# (or closing it) does not stop them; `make demo-stop` does.
DETACH=
command -v setsid >/dev/null && DETACH=setsid

step "setting up the lab in $DATA: user demo (admin), worker demo-worker, the device"
go build -o "$BIN/democlient" ./scripts/democlient
# Token files readable by their owner only.
if [ -n "$OLD_TOKEN" ] && (umask 077 && echo "$OLD_TOKEN" >"$DATA/demo.token") &&
  TOKEN="$(srv user add demo --admin --token-file "$DATA/demo.token" 2>"$DATA/token.log")"; then
  echo "     user demo keeps its API token ($DATA/demo.token)"
else
  [ -s "$DATA/token.log" ] && sed 's/^/     /' "$DATA/token.log"
  TOKEN="$(srv user add demo --admin)"
  [ -n "$OLD_TOKEN" ] && echo "     user demo has a new API token; update a lavacli identity with:" &&
    echo "       lavacli identities add --uri $URL/RPC2 --username demo --token \$(cat $DATA/demo.token) demo"
fi
(umask 077 && echo "$TOKEN" >"$DATA/demo.token")
(umask 077 && srv worker add demo-worker >"$DATA/worker.token")
if [ "$DEVICE" = vlab ]; then
  TYPE=qemu-uboot-arm64 NAME=$BOARD
  CACHE=$(bash scripts/vlab/images.sh --print-cache)
  CACHE=$(cd "$CACHE" && pwd)
  # examples/devices/vlab-01.jinja2 with this board's name and console port.
  sed -e "s/vlab-01/$BOARD/g" -e "s/--port 18110/--port $CPORT/g" examples/devices/vlab-01.jinja2 >"$DATA/$BOARD.jinja2"
  DICT="$DATA/$BOARD.jinja2"
  # examples/jobs/vlab-ramdisk-smoke.yaml with the images read from the cache
  # (file:// URLs) instead of an HTTP server.
  JOB="$DATA/vlab-ramdisk-smoke.yaml"
  sed "s|http://127.0.0.1:18100/|file://$CACHE/tftp/|g" examples/jobs/vlab-ramdisk-smoke.yaml >"$JOB"
  echo "$BOARD" >"$DATA/board"
else
  TYPE=local NAME=local-01 DICT=examples/devices/local-01.yaml JOB=examples/jobs/local-smoke.yaml
fi
srv device-type add "$TYPE" >"$DATA/setup.log" 2>&1 || { cat "$DATA/setup.log"; die "device-type add $TYPE failed"; }
srv device add "$NAME" --type "$TYPE" --worker demo-worker --dict "$DICT" --health good >>"$DATA/setup.log" 2>&1 ||
  { cat "$DATA/setup.log"; die "device add $NAME failed"; }

step "starting lava-server on $URL (log: $DATA/server.log; the first start compiles the drivers, a minute or more)"
$DETACH "$BIN/lava-server" serve --listen "127.0.0.1:$PORT" --data-dir "$DATA" --worker-binaries "$BIN" >"$DATA/server.log" 2>&1 &
echo "$! $BIN/lava-server" >>"$PIDS"
"$BIN/democlient" wait "$URL" 600 "$!" || { tail -n 5 "$DATA/server.log"; die "lava-server did not start; see $DATA/server.log"; }

step "starting lava-worker demo-worker (log: $DATA/worker.log)"
# The worker compiles the same driver modules with the same settings: it
# shares the server's compilation cache (wazero writes it atomically).
mkdir -p "$DATA/worker"
[ -e "$DATA/worker/wasm-cache" ] || ln -s ../driver-cache "$DATA/worker/wasm-cache"
# The board's TFTP root is the dispatcher's job folder (see the dictionary).
LAVALAB_WORK_DIR="$DATA/worker/dispatch" $DETACH "$BIN/lava-worker" --url "$URL" --name demo-worker \
  --token-file "$DATA/worker.token" --work-dir "$DATA/worker" --drivers-dir "$BIN/drivers" --allow-tool sh@local \
  ${CACHE:+--allow-file-dir "$CACHE/tftp"} >"$DATA/worker.log" 2>&1 &
echo "$! $BIN/lava-worker" >>"$PIDS"

step "submitting ${JOB#"$ROOT"/}"
ID="$("$BIN/democlient" submit "$URL" "$TOKEN" "$JOB")" || die "the job was not accepted"
step "job $ID: following its live log (seconds since its first line)"
ok=0
FOLLOW=()
[ "${DEMO_LOG:-}" = all ] && FOLLOW=(all)
"$BIN/democlient" follow "$URL" "$TOKEN" "$ID" ${FOLLOW[@]+"${FOLLOW[@]}"} || ok=$?

echo
if [ "$ok" = 0 ]; then
  step "done: job $ID is Complete"
elif [ "$ok" = 2 ]; then
  step "stopped following job $ID; it goes on"
else
  step "job $ID did not complete: see $DATA/server.log and $DATA/worker.log"
fi
echo "     lava-server and lava-worker keep running. Open $URL/jobs/$ID"
echo "     (log in with the API token in $DATA/demo.token; lavacli and the REST API at $URL/api/v1 take it too)"
# How to submit the example jobs to this lab as they are.
SUBMIT="curl -s -H \"Authorization: Token \$(cat $DATA/demo.token)\" -H 'Content-Type: application/yaml' --data-binary"
if [ "$DEVICE" = vlab ]; then
  echo "     examples/jobs/vlab-ramdisk-smoke.yaml runs on $BOARD as it is once the board images are served on port 18100:"
  echo "       busybox httpd -f -p 127.0.0.1:18100 -h $CACHE/tftp &"
  echo "       $SUBMIT @examples/jobs/vlab-ramdisk-smoke.yaml $URL/api/v1/jobs"
else
  echo "     examples/jobs/local-smoke.yaml runs on local-01 as it is:"
  echo "       $SUBMIT @examples/jobs/local-smoke.yaml $URL/api/v1/jobs"
fi
echo "     Stop them with: make demo-stop"
exit "$ok"
