# Stop the PostgreSQL server started by .ci/start.d/30-postgres.sh (keeps its data dir).
root=${RAG_PG_ROOT:-/tmp/news-rag-pg}
if [ -x "$root/site/pgserver/pginstall/bin/pg_ctl" ] && [ -f "$root/data/postmaster.pid" ]; then
  runuser -u postgres -- "$root/site/pgserver/pginstall/bin/pg_ctl" -D "$root/data" -m fast -w stop
fi
