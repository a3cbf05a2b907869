"""Errors a user can act on; the CLI and the UI show their message without a traceback."""


class RagError(Exception):
    """Base class for errors caused by the user's input or setup, not by a bug."""


class BadInputError(RagError, ValueError):
    """An input (file, question, argument) that cannot be used, named in the message."""


class ConfigError(BadInputError):
    """A setting that is no setting, or a value it cannot hold (from code, a ``RAG_*`` variable or
    ``--config``): the message names the setting, the value and what is allowed."""


class IndexMismatchError(RagError):
    """An index on disk was built with another embedding model or dimension."""


class IndexNotFoundError(RagError):
    """No index exists where one was expected."""


class IndexDamagedError(RagError):
    """An index folder whose files cannot be used as they are (named in the message)."""


class IndexWriteError(RagError):
    """A write the index could not make; it was rolled back, so the index keeps its last
    committed state (the message names the index and what to do)."""


class IndexBusyError(IndexWriteError):
    """Another process held the index's write lock for longer than ``lock_timeout_s``."""


class IndexReadOnlyError(IndexWriteError):
    """A write to an index opened read-only (a read-only mount, a folder this user cannot
    write)."""


class DiskFullError(IndexWriteError):
    """The disk holding the index has no space left for a write."""


class CollectionNotFoundError(BadInputError):
    """A collection named that does not exist (the server answers 404)."""


class CollectionExistsError(BadInputError):
    """A collection created under a name that is taken (the server answers 409)."""
