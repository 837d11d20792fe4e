#!/usr/bin/env bash
# A three-node Citus cluster on loopback for tests and benchmarks: a coordinator and two workers,
# each its own Debian PostgreSQL cluster (pg_createcluster), password auth on TCP like the main
# cluster, and a database with the citus extension on every node, the workers added to the
# coordinator. Builds Citus first when it is not installed. Idempotent: a second call only
# starts what is stopped. Needs root (like .ci/run). Prints the coordinator URL last.
#
#   scripts/citus-cluster.sh            # builds if needed, creates/starts, prints the URL
#   scripts/citus-cluster.sh stop       # stops the three clusters (keeps their data)
#
# Environment: CITUS_PORT (coordinator, default 5433; workers take the next two ports),
# CITUS_DB (default labels_test), CITUS_PASSWORD (default postgres), CITUS_BUILD (path of the
# Citus build.sh when it is not beside the repository), CITUS_SHARDS (shards per distributed
# table, default 4: two per worker keeps the many small test tables cheap to create).
# Exit status 3: no Citus build script was found and Citus is not installed.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
port=${CITUS_PORT:-5433}
db=${CITUS_DB:-labels_test}
password=${CITUS_PASSWORD:-postgres}
shards=${CITUS_SHARDS:-4}
pgver=$(ls /usr/lib/postgresql | sort -n | tail -1)
names=(citus0 citus1 citus2)
ports=("$port" "$((port + 1))" "$((port + 2))")

if [ "${1:-}" = stop ]; then
  for n in "${names[@]}"; do pg_ctlcluster "$pgver" "$n" stop 2>/dev/null || true; done
  exit 0
fi

# 1. Citus itself.
if [ ! -f "/usr/lib/postgresql/$pgver/lib/citus.so" ]; then
  build=""
  for b in "$repo/../shared/citus/build.sh" /work/shared/citus/build.sh "${CITUS_BUILD:-}"; do
    if [ -n "$b" ] && [ -f "$b" ]; then build=$b; break; fi
  done
  if [ -z "$build" ]; then
    echo "citus-cluster: Citus is not installed and no build script was found (looked for ../shared/citus/build.sh, /work/shared/citus/build.sh, \$CITUS_BUILD)" >&2
    exit 3
  fi
  bin="/usr/lib/postgresql/$pgver/bin/postgres"
  before=$(stat -c %Y "$bin")
  bash "$build" >&2
  # The build installs postgresql-server-dev, which may upgrade the server package: a cluster
  # running the old binary then fails to load the new libraries (e.g. plpgsql.so).
  if [ "$(stat -c %Y "$bin")" != "$before" ]; then
    running=$(pg_lsclusters --no-header | awk -v v="$pgver" '$1 == v && $4 == "online" {print $2}' | tr '\n' ' ')
    [ -n "$running" ] && echo "citus-cluster: the build upgraded PostgreSQL $pgver; restart the clusters that were running on the old binary: $running(pg_ctlcluster $pgver NAME restart)" >&2
  fi
fi

# 2. One PostgreSQL cluster per node.
as_pg() { su postgres -c "PGOPTIONS='-c client_min_messages=warning' $1"; }
psql_on() { as_pg "psql -X -q -v ON_ERROR_STOP=1 -p $1 -d $2 -c \"$3\"" >/dev/null; }
for i in 0 1 2; do
  n=${names[$i]} p=${ports[$i]}
  if ! pg_lsclusters --no-header | awk '{print $2}' | grep -qx "$n"; then
    pg_createcluster "$pgver" "$n" -p "$p" \
      -o shared_preload_libraries=citus -o "citus.shard_count=$shards" -o max_connections=200 >/dev/null
  fi
  pg_ctlcluster "$pgver" "$n" start >/dev/null 2>&1 || true
done
for p in "${ports[@]}"; do
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p "$p" -q && break; sleep 1; done
  pg_isready -h 127.0.0.1 -p "$p" -q || { echo "citus-cluster: node on port $p did not start" >&2; exit 1; }
done

# 3. The database with the extension on every node; nodes reach each other with the password.
for p in "${ports[@]}"; do
  psql_on "$p" postgres "ALTER USER postgres PASSWORD '$password'"
  if ! as_pg "psql -X -tA -p $p -d postgres -c \"SELECT 1 FROM pg_database WHERE datname = '$db'\"" | grep -q 1; then
    as_pg "createdb -p $p $db"
  fi
  psql_on "$p" "$db" "CREATE EXTENSION IF NOT EXISTS citus"
  psql_on "$p" "$db" "INSERT INTO pg_dist_authinfo (nodeid, rolename, authinfo) SELECT 0, 'postgres', 'password=$password' WHERE NOT EXISTS (SELECT 1 FROM pg_dist_authinfo WHERE nodeid = 0 AND rolename = 'postgres')"
done
psql_on "$port" "$db" "SELECT citus_set_coordinator_host('127.0.0.1', $port)"
for p in "${ports[1]}" "${ports[2]}"; do
  psql_on "$port" "$db" "SELECT citus_add_node('127.0.0.1', $p) WHERE NOT EXISTS (SELECT 1 FROM pg_dist_node WHERE nodeport = $p)"
done
workers=$(as_pg "psql -X -tA -p $port -d $db -c \"SELECT count(*) FROM citus_get_active_worker_nodes()\"")
if [ "$workers" != 2 ]; then
  echo "citus-cluster: the coordinator sees $workers active workers, expected 2" >&2
  exit 1
fi
echo "postgres://postgres:$password@127.0.0.1:$port/$db"
