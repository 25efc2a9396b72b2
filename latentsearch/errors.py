"""One exception hierarchy for everything latentsearch raises on purpose.

Every error says what went wrong and how to fix it. A failed call leaves the
store exactly as it was before the call.
"""

from __future__ import annotations


class LatentSearchError(Exception):
    """Root of every error latentsearch raises on purpose."""


class InvalidInputError(LatentSearchError, ValueError):
    """Arguments that can never work: wrong shapes, lengths, types or values."""


class DimensionMismatchError(InvalidInputError):
    """A vector whose dimension differs from the collection's."""


class NonFiniteVectorError(InvalidInputError):
    """A vector containing NaN or infinity."""


class EmptyTextError(InvalidInputError):
    """An empty or whitespace-only text where content is required."""


class DuplicateIdError(InvalidInputError):
    """The same id twice in one batch, or a taken id: `add` of an id that exists, or a write with
    ``principals=`` naming an item they cannot see (the same message for both)."""


class InvalidTextError(InvalidInputError):
    """Text that could not be read back: a lone surrogate (not a Unicode scalar value) or NUL.

    Raised at the write and query boundary for ids, texts, metadata keys and values, ACL
    entries, sources and filters, so that SQLite and PostgreSQL behave alike.
    """


class ImageError(InvalidInputError):
    """An image that is missing, unreadable or corrupt."""


class UnsupportedModalityError(InvalidInputError):
    """Asking an encoder for something it cannot embed (e.g. images with a text model)."""


class FilterError(InvalidInputError):
    """A ``where=`` filter that is malformed: an unknown operator or field, or a wrong operand type.

    ``path`` names the offending part, e.g. ``where.$and[1].price.$gt``.
    """

    def __init__(self, message: str, path: str = "where") -> None:
        super().__init__(f"{path}: {message}")
        self.path = path


class ExpressionError(InvalidInputError):
    """A query expression that cannot be parsed or evaluated. ``column`` is 1-based."""

    def __init__(self, message: str, expression: str, column: int) -> None:
        caret = " " * (column - 1) + "^"
        super().__init__(f"{message} (column {column})\n  {expression}\n  {caret}")
        self.expression = expression
        self.column = column
        self.reason = message


class NotFoundError(LatentSearchError, LookupError):
    """Something that does not exist (or that the caller may not see)."""


class CollectionNotFoundError(NotFoundError):
    """No collection of that name."""


class ItemNotFoundError(NotFoundError):
    """No item with that id visible to the caller."""


class IndexNotFoundError(NotFoundError):
    """No index (index folder with its database) where one was expected."""


class DirectionNotFoundError(NotFoundError):
    """No saved direction of that name in the collection."""


class CollectionExistsError(LatentSearchError):
    """A collection of that name already exists."""


class EncoderError(LatentSearchError):
    """An encoder could not be loaded or used."""


class ModelNotFoundError(EncoderError, FileNotFoundError):
    """A model name or path that cannot be loaded here (offline, or a missing folder)."""


class EncoderBackendError(EncoderError):
    """An encoder backend that is unknown, not installed here, or not usable with this model."""


class EncoderMismatchError(EncoderError):
    """Opening a collection with an encoder whose identity differs from the recorded one."""


class IndexBuildError(LatentSearchError):
    """A FAISS index that cannot be built, trained, loaded or used as asked."""


class DeviceError(LatentSearchError):
    """A device that is not available (e.g. device='cuda' on a machine with no GPU)."""


class StoreError(LatentSearchError):
    """The SQL store failed or is in a state that needs attention."""


class ReadOnlyError(StoreError):
    """A write to an index opened read-only (the folder or its database is not writable)."""


class BackupError(LatentSearchError):
    """A backup that cannot be taken, or a restore whose result does not verify."""


class DirectoryError(LatentSearchError):
    """A directory source (LDAP server, groups file) could not be read: unreachable, bind
    refused, or its answer unusable. The synced directory stays as it was."""


class PermissionDeniedError(LatentSearchError):
    """The call needs principals (strict collection) or the caller may not do this."""


class GeneratorError(LatentSearchError):
    """The answer generator (an OpenAI-compatible chat endpoint) could not be reached or gave
    no usable answer; the message says which and what to check."""


class MissingExtraError(LatentSearchError, ImportError):
    """A feature needs an optional extra that is not installed (the message names the
    ``pip install`` command), e.g. ``latentsearch serve`` without ``latentsearch[server]``."""


class SourceConfigError(InvalidInputError):
    """A sources.toml that cannot be used: a missing or unknown field, an unknown connector
    type, a bad schedule or permission rule (the message names the source and the field)."""


class LiteralSecretError(SourceConfigError):
    """A credential written into sources.toml itself: name an environment variable
    (``password_env = "VAR"``) or a file (``password_file``, ``secrets_file``) instead."""


class ConnectorError(LatentSearchError):
    """A source that cannot be read at all (unreachable server, missing table): the sync of
    that source stops and is reported; other sources still run."""


class ClusterError(LatentSearchError):
    """The Ray cluster a database was opened on cannot be reached or used (the message says
    what to start or which address to give)."""


class ShardUnavailableError(ClusterError):
    """No replica of one or more index shards answered within the retry bound. The answer
    would be incomplete, so none is given (HTTP 503); pass ``allow_partial=True`` to get the
    other shards' hits, marked with the shards that are missing."""


__all__ = [
    "BackupError",
    "ClusterError",
    "CollectionExistsError",
    "CollectionNotFoundError",
    "ConnectorError",
    "DeviceError",
    "DimensionMismatchError",
    "DirectionNotFoundError",
    "DirectoryError",
    "DuplicateIdError",
    "EmptyTextError",
    "EncoderBackendError",
    "EncoderError",
    "EncoderMismatchError",
    "ExpressionError",
    "FilterError",
    "GeneratorError",
    "ImageError",
    "IndexBuildError",
    "IndexNotFoundError",
    "InvalidInputError",
    "InvalidTextError",
    "ItemNotFoundError",
    "LatentSearchError",
    "LiteralSecretError",
    "MissingExtraError",
    "ModelNotFoundError",
    "NonFiniteVectorError",
    "NotFoundError",
    "PermissionDeniedError",
    "ReadOnlyError",
    "ShardUnavailableError",
    "SourceConfigError",
    "StoreError",
    "UnsupportedModalityError",
]
