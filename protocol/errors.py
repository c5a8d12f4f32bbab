"""The root of every error Driftvakt raises on purpose.

It lives in ``protocol`` because that is the one package both the agent and
the central service install. Each package keeps its own subclasses in its own
``errors.py``; each subclass also inherits the builtin it resembles, so callers
may catch either (STYLE.md, house style 10).
"""

from protocol.vocab import RejectReason


class DriftvaktError(Exception):
    """Root of Driftvakt's own errors: catch this to tell ours from a library's."""


class Unencodable(DriftvaktError, ValueError):
    """A message the contract forbids: :mod:`protocol.encode` refuses to write it."""


class MalformedCommand(DriftvaktError, ValueError):
    """A ``cmd`` payload :func:`protocol.command.read_command` does not accept.

    :param reason: the reason :func:`protocol.parse` gives for the same payload.
    :param detail: what is wrong, short enough for one log line.
    """

    def __init__(self, reason: RejectReason, detail: str) -> None:
        super().__init__(detail)
        self.reason, self.detail = reason, detail
