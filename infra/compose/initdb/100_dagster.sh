#!/bin/bash
# First start of the database container only (docker-entrypoint-initdb.d): Dagster's run/event/
# schedule storage gets its own database and owner, apart from the platform's data. The platform
# database itself is POSTGRES_DB (with TimescaleDB, created by the image); `migrate` builds it.
set -euo pipefail
psql -v ON_ERROR_STOP=1 -X -q --username "$POSTGRES_USER" --dbname postgres \
     -v pw="$DAGSTER_PG_PASSWORD" -v db="$DAGSTER_PG_DB" <<'SQL'
CREATE ROLE mcs_dagster LOGIN PASSWORD :'pw';
CREATE DATABASE :"db" OWNER mcs_dagster;
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
SQL
