"""The feed state of an index's collection, chosen by its backend: ``feeds.sqlite`` beside a
FAISS index (``rag.feeds.state.FeedStore``), the tables of a pgvector collection's schema
(``rag.feeds.pg_state.PostgresFeedStore``)."""

from __future__ import annotations

from rag.config import Config
from rag.feeds.state import FeedState, FeedStore, state_path


def index_feed_store(config: Config) -> FeedState:
    """The feed state of ``config``'s index (of its one collection: feeds belong to one), where
    `rag feeds` and the sync keep it: ``feeds.sqlite`` (:func:`state_path`) beside a FAISS
    index; the tables of the collection's schema for pgvector, so that every server over the
    database shares it (a ``feeds.sqlite`` this machine kept before is imported once).

    >>> from rag.config import Config
    >>> type(index_feed_store(Config(index_dir="idx"))).__name__
    'FeedStore'
    """
    from rag.collections import one_collection_config

    own = one_collection_config(config, "a feed")
    legacy = state_path(own.index_backend, own.index_dir, own.feeds_dir)
    if own.index_backend == "pgvector":
        from rag.feeds.pg_state import PostgresFeedStore
        from rag.index.store import schema_for

        return PostgresFeedStore(own.pg_dsn or None, schema_for(own.index_dir),
                                 lease_s=own.feed_lease_s, legacy=legacy)
    return FeedStore(legacy)
