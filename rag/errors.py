"""Errors a user can act on; the CLI and the UI show their message without a traceback."""


class RagError(Exception):
    """Base class for errors caused by the user's input or setup, not by a bug."""


class BadInputError(RagError, ValueError):
    """An input (file, question, argument) that cannot be used, named in the message."""


class IndexMismatchError(RagError):
    """An index on disk was built with another embedding model or dimension."""


class IndexNotFoundError(RagError):
    """No index exists where one was expected."""


class IndexDamagedError(RagError):
    """An index folder whose files cannot be used as they are (named in the message)."""
