#!/usr/bin/env bash
# Throwaway PostgreSQL cluster for the store tests.
#   testpg.sh start  # initdb + start (as user postgres), prints nothing on success
#   testpg.sh dsn    # prints the DSN: export LAVA_TEST_POSTGRES_DSN=$(migrations/testpg.sh dsn)
#   testpg.sh stop   # stop the cluster and remove its data directory
# Environment: PGBIN (default: newest /usr/lib/postgresql/*/bin), TESTPG_DIR
# (default /tmp/lava-testpg), TESTPG_SOCK (default /tmp/pgsock).
set -euo pipefail

DIR=${TESTPG_DIR:-/tmp/lava-testpg}
SOCK=${TESTPG_SOCK:-/tmp/pgsock}
if [ -z "${PGBIN:-}" ]; then
	PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
fi

as_postgres() {
	if [ "$(id -un)" = postgres ]; then
		"$@"
	else
		su postgres -s /bin/bash -c "$(printf '%q ' "$@")"
	fi
}

case "${1:-}" in
start)
	if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/initdb" ]; then
		echo "testpg: PostgreSQL server binaries not found (apt-get install -y postgresql-15, or set PGBIN)" >&2
		exit 1
	fi
	id postgres >/dev/null 2>&1 || { echo "testpg: no user postgres" >&2; exit 1; }
	mkdir -p "$DIR" "$SOCK"
	chown postgres "$DIR" "$SOCK"
	chmod 700 "$DIR"
	if as_postgres "$PGBIN/pg_ctl" -D "$DIR/data" status >/dev/null 2>&1; then
		exit 0
	fi
	if [ ! -f "$DIR/data/PG_VERSION" ]; then
		as_postgres "$PGBIN/initdb" -D "$DIR/data" -U postgres -A trust --no-sync >"$DIR/initdb.log" 2>&1 ||
			{ cat "$DIR/initdb.log" >&2; exit 1; }
	fi
	as_postgres "$PGBIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 start \
		-o "-k $SOCK -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" >/dev/null ||
		{ cat "$DIR/server.log" >&2; exit 1; }
	;;
stop)
	if [ -n "$PGBIN" ] && [ -d "$DIR/data" ]; then
		as_postgres "$PGBIN/pg_ctl" -D "$DIR/data" -m fast -w stop >/dev/null 2>&1 || true
	fi
	rm -rf "$DIR"
	;;
dsn)
	echo "postgres://postgres@/postgres?host=$SOCK"
	;;
*)
	echo "usage: $0 start|stop|dsn" >&2
	exit 2
	;;
esac
