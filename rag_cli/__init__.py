"""The ``rag`` command (``rag_cli.main:app``): a shell over the library, as the page (app.py),
the server (serve/) and the evaluation harness (eval/) are.

It imports the library (``rag``) and starts the others (``rag serve``, ``rag eval``); nothing
in ``rag`` imports it.
"""
