"""The project's exception and warning classes.

``AlisError`` and its subclasses are *user* errors: the command-line tool
prints their message (never a traceback) and exits with status 1.
"""
from __future__ import annotations

from .identity import mask_national_ids


class AlisError(Exception):
    """A problem the user can fix: bad input, a missing file, a wrong option.

    Identity numbers in the message are masked when the error is made, so no
    handler, log or traceback can show one (see :mod:`alis_research.identity`).
    """

    def __init__(self, *args):
        super().__init__(*(mask_national_ids(arg) for arg in args))


class DataValidationError(AlisError):
    """The raw data break the contract; ``problems`` lists every one found."""

    def __init__(self, problems, message: str | None = None):
        self.problems = list(problems)
        if message is None:
            message = f"{len(self.problems)} problem(s) found in the input data"
        super().__init__(message)


class NotEstimableWarning(UserWarning):
    """An estimate could not be computed or is unstable; the reason is in the message."""


class AlisWarning(UserWarning):
    """A statistical or data caveat worth telling the reader about."""
