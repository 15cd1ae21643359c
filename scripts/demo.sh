#!/usr/bin/env bash
# make demo: start a lab on this machine and run a job through it.
#   scripts/demo.sh        build, start, submit, follow, print results
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
      if kill -0 "$pid" 2>/dev/null; then kill "$pid" && echo "stopped $name (pid $pid)"; fi
    done < "$PIDS"
    rm -f "$PIDS"
  fi
}
if [ "${1:-}" = stop ]; then stop; exit 0; fi

stop
rm -rf "$DATA"
mkdir -p "$DATA"
srv() { "$BIN/lava-server" "$@" --data-dir "$DATA"; }

echo "==> setting up the lab in $DATA"
TOKEN="$(srv user add demo --admin)"
echo "$TOKEN" > "$DATA/demo.token"
srv worker add demo-worker > "$DATA/worker.token"
srv device-type add local >/dev/null
srv device add local-01 --type local --worker demo-worker >/dev/null
srv device set-health local-01 good >/dev/null

echo "==> starting lava-server on $URL"
"$BIN/lava-server" serve --listen "127.0.0.1:$PORT" --data-dir "$DATA" > "$DATA/server.log" 2>&1 &
echo "$! lava-server" >> "$PIDS"
for _ in $(seq 1 100); do
  curl -fsS "$URL/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "$URL/healthz" >/dev/null || { echo "lava-server did not start; see $DATA/server.log"; exit 1; }

echo "==> submitting examples/jobs/local-smoke.yaml"
ANSWER="$(curl -fsS -X POST -H "Authorization: Token $TOKEN" -H 'Content-Type: application/yaml' \
  --data-binary @examples/jobs/local-smoke.yaml "$URL/api/v1/jobs")"
echo "$ANSWER"
ID="$(printf '%s' "$ANSWER" | sed -n 's/.*"id": *\([0-9]*\).*/\1/p')"
[ -n "$ID" ] || { echo "no job id in the answer"; exit 1; }

echo "==> job $ID as the server sees it"
curl -fsS -H "Authorization: Token $TOKEN" "$URL/api/v1/jobs/$ID"
echo
echo
echo "The job is queued for device local-01: running jobs on a worker comes with the worker issue."
echo "The server keeps running at $URL (token in $DATA/demo.token); stop it with: make demo-stop"
