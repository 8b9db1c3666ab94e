#!/usr/bin/env bash
# What completing a document costs PostgreSQL, the two ways Folio has written it: a transaction of three
# statements (BEGIN, the document done, its record, its text, COMMIT: five round trips) and one statement of
# data-modifying CTEs (services/folio-store/src/sql/leases.rs). Each transaction first claims a document
# (claim.sql, the same in both), so a completion's cost is its latency less claim.sql's.
#
#   benches/pgbench/run.sh [postgres://postgres@127.0.0.1:5432]   # PostgreSQL as scripts/test starts it
#
# Makes (and drops first) the database folio_pgbench, applies migrations/postgres/, adds 4,000 documents.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
server="${1:-postgres://postgres@127.0.0.1:5432}"
pgbench="$(command -v pgbench || ls /usr/lib/postgresql/*/bin/pgbench | tail -1)"
psql "$server/postgres" -qc "DROP DATABASE IF EXISTS folio_pgbench" -c "CREATE DATABASE folio_pgbench"
for migration in "$here"/../../migrations/postgres/*.sql; do
    psql "$server/folio_pgbench" -q -v ON_ERROR_STOP=1 -f "$migration" > /dev/null
done
psql "$server/folio_pgbench" -q -v ON_ERROR_STOP=1 -f "$here/setup.sql"
for round in 1 2 3; do
    for script in claim complete-in-a-transaction complete-in-one-statement; do
        printf '%-28s round %s: ' "$script" "$round"
        "$pgbench" "$server/folio_pgbench" -n -M prepared -c 1 -T 10 -f "$here/$script.sql" 2>&1 \
            | grep -E 'latency average|error'
    done
done
psql "$server/postgres" -qc "DROP DATABASE folio_pgbench"
