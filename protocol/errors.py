"""The root of every error Driftvakt raises on purpose.

It lives in ``protocol`` because that is the one package both the agent and
the central service install. Each package keeps its own subclasses in its own
``errors.py``; each subclass also inherits the builtin it resembles, so callers
may catch either (STYLE.md, house style 10).
"""


class DriftvaktError(Exception):
    """Root of Driftvakt's own errors: catch this to tell ours from a library's."""
