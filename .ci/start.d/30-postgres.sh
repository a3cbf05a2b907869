# Start a throwaway PostgreSQL 16 with pgvector (binaries from the `pgserver` wheel) on
# 127.0.0.1 for the pgvector tests, and export RAG_PG_DSN. Sourced by .ci/run; idempotent: a
# server this script started before is reused. Stopped by .ci/stop.d/30-postgres.sh.
# Postgres refuses to run as root, so initdb and pg_ctl run as the `postgres` system user, on a
# copy of the binaries that user can read (root's home, where pip puts them, is private).
_rag_pg_start() {
  local root=${RAG_PG_ROOT:-/tmp/news-rag-pg}
  python -c "import pgserver" 2>/dev/null || python -m pip install -q pgserver || return 1
  local src  # site-packages holding pgserver/ and pgserver.libs/ (binaries' rpath needs both)
  src=$(python -c "import os, pgserver; print(os.path.dirname(os.path.dirname(pgserver.__file__)))" 2>/dev/null) || return 1
  id -u postgres >/dev/null 2>&1 || useradd --system --user-group --home-dir "$root" \
    --shell /usr/sbin/nologin postgres || return 1
  mkdir -p "$root"
  chmod 755 "$root"
  local bin=$root/site/pgserver/pginstall/bin data=$root/data log=$root/postgres.log
  if [ ! -x "$bin/postgres" ] || [ "$(cat "$root/pginstall.src" 2>/dev/null)" != "$src" ]; then
    if [ -f "$data/postmaster.pid" ] && [ -x "$bin/pg_ctl" ]; then
      runuser -u postgres -- "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$root/site"
    mkdir -p "$root/site/pgserver"
    cp -r "$src/pgserver/pginstall" "$root/site/pgserver/" || return 1
    cp -r "$src/pgserver.libs" "$root/site/" || return 1
    chmod -R a+rX "$root/site"
    echo "$src" > "$root/pginstall.src"
  fi
  mkdir -p "$data"
  chown postgres: "$data"
  chmod 700 "$data"
  touch "$log"
  chown postgres: "$log"
  if [ ! -s "$data/PG_VERSION" ]; then
    runuser -u postgres -- "$bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 \
      --locale=C >/dev/null || return 1
  fi
  local port
  if [ -s "$root/port" ] && runuser -u postgres -- "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    port=$(cat "$root/port")
  else
    runuser -u postgres -- "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
    port=$(python -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
    runuser -u postgres -- "$bin/pg_ctl" -D "$data" -l "$log" -w -t 60 start -o \
      "-h 127.0.0.1 -p $port -k $data -c shared_buffers=${RAG_PG_SHARED_BUFFERS:-256MB}" >/dev/null || { tail -20 "$log"; return 1; }
    echo "$port" > "$root/port"
  fi
  runuser -u postgres -- "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -qAt -c "SET client_min_messages = warning" \
    -c "CREATE EXTENSION IF NOT EXISTS vector" >/dev/null || return 1
  export RAG_PG_DSN="postgresql://postgres@127.0.0.1:$port/postgres"
  echo "PostgreSQL + pgvector on 127.0.0.1:$port (data $data, log $log)"
}
# A server that does not start fails the pgvector tests (they insist in CI), not the whole run.
_rag_pg_start || echo "PostgreSQL did not start: the pgvector tests will fail" >&2
unset -f _rag_pg_start
