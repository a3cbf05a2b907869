"""The server: the chat page and the HTTP APIs (OpenAI-compatible chat, REST) in one ASGI app,
and an MCP server. A thin layer over ``rag``; ``rag`` never imports it."""
