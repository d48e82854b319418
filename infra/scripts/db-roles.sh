#!/bin/sh
# Gives the platform's service roles LOGIN and their passwords, read from the environment.
# Migration 0004_security creates the roles NOLOGIN and without passwords, so no secret is in DDL.
#
#   MCS_ADMIN_DATABASE_URL=postgresql://postgres:...@db:5432/mcs \
#   MCS_DB_PASSWORD_INGEST=... MCS_DB_PASSWORD_APP=... infra/scripts/db-roles.sh
#
# A role whose MCS_DB_PASSWORD_<ROLE> is unset is left as it is. Passwords are passed as psql
# variables (:'pw' quotes them), never spliced into SQL text by the shell.
set -eu
: "${MCS_ADMIN_DATABASE_URL:?set MCS_ADMIN_DATABASE_URL to the owner/superuser URL}"

for role in ingest alarm transform app tenant_gateway; do
    var="MCS_DB_PASSWORD_$(echo "$role" | tr '[:lower:]' '[:upper:]')"
    eval "password=\${$var:-}"
    if [ -z "$password" ]; then
        echo "mcs_$role: $var not set, left unchanged"
        continue
    fi
    psql "$MCS_ADMIN_DATABASE_URL" -X -q -v ON_ERROR_STOP=1 -v role="mcs_$role" -v pw="$password" <<'SQL'
ALTER ROLE :"role" WITH LOGIN PASSWORD :'pw' NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB;
SQL
    echo "mcs_$role: login enabled"
done
