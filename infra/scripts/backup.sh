#!/bin/sh
# Backup of the platform database, Dagster's storage database and the role definitions.
#
#   MCS_ADMIN_DATABASE_URL=postgresql://postgres:...@db:5432/mcs \
#   DAGSTER_ADMIN_DATABASE_URL=postgresql://postgres:...@db:5432/dagster \
#   infra/scripts/backup.sh /backups
#
# Writes <dir>/<UTC stamp>/{mcs.dump, dagster.dump, roles.sql} (pg_dump custom format, restorable
# with restore.sh). Run pg_dump of the same major version as the server (in compose: inside the
# database container). Role passwords are not dumped: db-roles.sh sets them again from the secrets.
set -eu
: "${MCS_ADMIN_DATABASE_URL:?set MCS_ADMIN_DATABASE_URL}"
dir="${1:?usage: backup.sh <backup directory>}"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out="$dir/$stamp"
umask 077
mkdir -p "$out"

# TimescaleDB: pg_dump warns about the catalog's circular foreign keys; harmless, restore handles them.
pg_dump --format=custom --compress=6 --file="$out/mcs.dump" "$MCS_ADMIN_DATABASE_URL"
if [ -n "${DAGSTER_ADMIN_DATABASE_URL:-}" ]; then
    pg_dump --format=custom --compress=6 --file="$out/dagster.dump" "$DAGSTER_ADMIN_DATABASE_URL"
fi
pg_dumpall --roles-only --no-role-passwords --dbname="$MCS_ADMIN_DATABASE_URL" > "$out/roles.sql"
# Row counts at backup time, to compare after a restore.
psql "$MCS_ADMIN_DATABASE_URL" -X -q -A -t -v ON_ERROR_STOP=1 \
     -c "SELECT 'raw.telemetry=' || count(*) FROM raw.telemetry" > "$out/counts.txt"
echo "$out"
