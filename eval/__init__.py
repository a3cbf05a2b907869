"""Evaluation harness: a question set in, retrieval, answer, citation and abstention scores out.

    python -m eval run --corpus CORPUS --questions QUESTIONS.jsonl --out runs/NAME
    python -m eval compare runs/A runs/B

Depends on ``rag`` (never the other way round): the ``rag eval`` command imports it lazily.
"""
