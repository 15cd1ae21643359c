#!/usr/bin/env bash
# make demo: start a lab on this machine and run a job through it.
#   scripts/demo.sh        (after `make build`) start lava-server (SQLite in
#                          ./demo-data) and one lava-worker with device
#                          local-01 (type local: a shell on this host), submit
#                          examples/jobs/local-smoke.yaml, follow its live log,
#                          print its results; both keep running
#   scripts/demo.sh stop   stop what the demo started
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${DEMO_DATA:-$PWD/demo-data}"
PORT="${DEMO_PORT:-8000}"
URL="http://127.0.0.1:$PORT"
BIN="$PWD/bin"
PIDS="$DATA/pids"

stop() {
  if [ -f "$PIDS" ]; then
    while read -r pid name; do
      if kill -0 "$pid" 2>/dev/null; then
        kill "$pid" && echo "stopped $name (pid $pid)"
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      fi
    done < "$PIDS"
    rm -f "$PIDS"
  fi
}
if [ "${1:-}" = stop ]; then stop; exit 0; fi

stop
rm -rf "$DATA"
mkdir -p "$DATA"
go build -o "$BIN/democlient" ./scripts/democlient
srv() { "$BIN/lava-server" "$@" --data-dir "$DATA"; }

echo "==> setting up the lab in $DATA"
TOKEN="$(srv user add demo --admin)"
echo "$TOKEN" > "$DATA/demo.token"
srv worker add demo-worker > "$DATA/worker.token"
srv device-type add local >/dev/null 2>&1
srv device add local-01 --type local --worker demo-worker --dict examples/devices/local-01.yaml --health good >/dev/null 2>&1

echo "==> starting lava-server on $URL"
"$BIN/lava-server" serve --listen "127.0.0.1:$PORT" --data-dir "$DATA" --worker-binaries "$BIN" > "$DATA/server.log" 2>&1 &
echo "$! lava-server" >> "$PIDS"
"$BIN/democlient" wait "$URL" || { echo "lava-server did not start; see $DATA/server.log"; exit 1; }

echo "==> starting lava-worker demo-worker (drivers from $BIN/drivers)"
"$BIN/lava-worker" --url "$URL" --name demo-worker --token-file "$DATA/worker.token" \
  --work-dir "$DATA/worker" --drivers-dir "$BIN/drivers" > "$DATA/worker.log" 2>&1 &
echo "$! lava-worker" >> "$PIDS"

echo "==> submitting examples/jobs/local-smoke.yaml"
ID="$("$BIN/democlient" submit "$URL" "$TOKEN" examples/jobs/local-smoke.yaml)"
echo "job $ID: following its log"
"$BIN/democlient" follow "$URL" "$TOKEN" "$ID" || {
  echo "the job did not complete; see $DATA/server.log and $DATA/worker.log"; exit 1; }

echo
echo "lava-server and lava-worker keep running: open $URL (API token in $DATA/demo.token)"
echo "stop them with: make demo-stop"
