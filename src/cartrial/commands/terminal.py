"""The one way a command makes its rich console.

Rich highlights every printed string with its repr regexes by default; on a cell of a user's file that is
100 KB to 1 MB long (a group label, a subject id), that took over a minute before anything was printed (a
hang, issue 19 §4). Commands print what they mean to colour with markup, so highlighting is off.
"""

from __future__ import annotations

from rich.console import Console


def terminal(*, stderr: bool = False) -> Console:
    """A rich console for a command's output (`stderr`: for progress bars and notes), without the automatic
    highlighting of printed strings."""
    return Console(stderr=stderr, highlight=False)


__all__ = ["terminal"]
