#!/usr/bin/env bash
# Install (if needed) and start a local PostgreSQL on 127.0.0.1:5432 with a test database.
set -euo pipefail
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql >/dev/null
fi
version="$(ls /usr/lib/postgresql | sort -V | tail -1)"
if ! pg_lsclusters -h | grep -q "^${version} main"; then
  pg_createcluster "${version}" main >/dev/null
fi
pg_ctlcluster "${version}" main start 2>/dev/null || true
for _ in $(seq 1 30); do
  pg_isready -h 127.0.0.1 -p 5432 -q && break
  sleep 1
done
su postgres -c "psql -q -h 127.0.0.1 -c \"DO \\\$\\\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tinmatch') THEN CREATE ROLE tinmatch LOGIN PASSWORD 'tinmatch'; END IF; END \\\$\\\$;\"" 2>/dev/null \
  || su postgres -c "psql -q -c \"DO \\\$\\\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tinmatch') THEN CREATE ROLE tinmatch LOGIN PASSWORD 'tinmatch'; END IF; END \\\$\\\$;\""
su postgres -c "psql -q -tAc \"SELECT 1 FROM pg_database WHERE datname = 'tinmatch_test'\"" | grep -q 1 \
  || su postgres -c "psql -q -c 'CREATE DATABASE tinmatch_test OWNER tinmatch'"
# The application's role (issue 15): it owns nothing, so it cannot drop the ledger's triggers;
# migration 0005 (run as the owner, tinmatch) grants it SELECT and INSERT only on the ledger
# tables and ordinary rights on the others. Tests marked postgres show its UPDATE refused.
su postgres -c "psql -q -h 127.0.0.1 -c \"DO \\\$\\\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tinmatch_app') THEN CREATE ROLE tinmatch_app LOGIN PASSWORD 'tinmatch_app' NOINHERIT; END IF; END \\\$\\\$;\"" 2>/dev/null \
  || su postgres -c "psql -q -c \"DO \\\$\\\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tinmatch_app') THEN CREATE ROLE tinmatch_app LOGIN PASSWORD 'tinmatch_app' NOINHERIT; END IF; END \\\$\\\$;\""
echo "postgres ${version} ready on 127.0.0.1:5432 (owner tinmatch, application role tinmatch_app)"
