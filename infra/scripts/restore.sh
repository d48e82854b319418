#!/bin/sh
# Restores a dump written by backup.sh into an EMPTY database (create it first; see OPERATIONS.md).
#
#   MCS_ADMIN_DATABASE_URL=postgresql://postgres:...@db:5432/mcs infra/scripts/restore.sh /backups/<stamp>/mcs.dump
#
# The platform roles must exist on the server (roles.sql from the backup, or `mcs db upgrade` on
# any database of the server); ownership and grants are restored as dumped. For a TimescaleDB dump
# the extension is put in restore mode around pg_restore, as TimescaleDB requires.
set -eu
url="${MCS_ADMIN_DATABASE_URL:?set MCS_ADMIN_DATABASE_URL to the target (empty) database}"
dump="${1:?usage: restore.sh <file.dump>}"

timescale=0
if pg_restore --list "$dump" | grep -q 'EXTENSION - timescaledb'; then
    timescale=1
fi

if [ "$timescale" = 1 ]; then
    psql "$url" -X -q -v ON_ERROR_STOP=1 \
         -c "CREATE EXTENSION IF NOT EXISTS timescaledb" -c "SELECT timescaledb_pre_restore()" >/dev/null
fi
status=0
pg_restore --dbname="$url" --exit-on-error "$dump" || status=$?
if [ "$timescale" = 1 ]; then
    psql "$url" -X -q -v ON_ERROR_STOP=1 -c "SELECT timescaledb_post_restore()" >/dev/null
fi
if [ "$status" != 0 ]; then
    echo "pg_restore failed with status $status" >&2
    exit "$status"
fi
# Database-level grants (CONNECT, CREATE for dbt) are not in a pg_dump: re-apply the grant matrix.
psql "$url" -X -q -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
DO $$ BEGIN IF to_regproc('sec.apply_grants') IS NOT NULL THEN PERFORM sec.apply_grants(); END IF; END $$;
SQL
psql "$url" -X -q -A -t -v ON_ERROR_STOP=1 -c "SELECT 'raw.telemetry=' || count(*) FROM raw.telemetry" 2>/dev/null || true
