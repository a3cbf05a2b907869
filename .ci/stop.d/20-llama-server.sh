# Stops the llama.cpp server started by .ci/start.d/20-llama-server.sh.
RAG_LLM_PIDFILE="${TMPDIR:-/tmp}/rag-llama-server.pid"
if [ -f "$RAG_LLM_PIDFILE" ]; then
  kill "$(cat "$RAG_LLM_PIDFILE")" 2>/dev/null || true
  rm -f "$RAG_LLM_PIDFILE"
fi
