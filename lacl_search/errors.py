"""One error contract: the expected failures of lacl-search, each a one-line message and an exit code.

Library code raises these; the ``lacl-search`` command turns them into one line on stderr and the
exit code of the class (never argparse's usage code 2, never a traceback). Anything else that escapes
is a bug and keeps its traceback.

Each class also subclasses the built-in exception a Python caller would expect (``LookupError`` for a
missing index, ``ValueError`` for bad input, ...), so ``except ValueError`` keeps working.
"""

from __future__ import annotations


class LaclError(Exception):
    """Base class of every expected failure. ``exit_code`` is what the command line exits with."""

    exit_code = 1


class BadInput(LaclError, ValueError):
    """A query, request, file or record the caller gave is not valid."""

    exit_code = 3


class ConfigError(LaclError, ValueError):
    """A setting or configuration file is not valid (unknown key, out-of-range value, ...)."""

    exit_code = 4


class ArtifactMissing(LaclError, FileNotFoundError):
    """A model, dataset, run file or other artifact the command needs does not exist."""

    exit_code = 5


class IndexMissing(LaclError, LookupError):
    """The index or alias does not exist."""

    exit_code = 6


class ClusterUnavailable(LaclError, RuntimeError):
    """The cluster could not be reached, refused the credentials, or is unhealthy.

    Messages never hold credentials (see :meth:`lacl_search.core.settings.ClusterSettings.redact`).
    """

    exit_code = 7


class ClusterError(LaclError, RuntimeError):
    """The cluster answered but refused the request (a feature it lacks, a rejected mapping, ...)."""

    exit_code = 8


class IncompleteIngest(LaclError, RuntimeError):
    """A bulk job could not write every valid document; what was written is kept and reported."""

    exit_code = 9


EXIT_CODES = {cls.__name__: cls.exit_code for cls in (
    LaclError, BadInput, ConfigError, ArtifactMissing, IndexMissing, ClusterUnavailable, ClusterError, IncompleteIngest,
)}
