"""The CLI's ``warning: …`` line is left out only when an application's handler writes the record to the
current stderr (D-19.601). A miss gives a duplicate line, never a lost one: a handler's filters are never
called in advance (a stateful one — a dedupe, a rate limit — would then drop the record), a handler on a
stream that is no longer `sys.stderr` (``contextlib.redirect_stderr``) or on stdout does not count."""

from __future__ import annotations

import contextlib
import io
import logging
import sys
from collections.abc import Iterator

import pytest

from cartrial.cli import _show_library_warnings


@contextlib.contextmanager
def _root_handler(handler: logging.Handler) -> Iterator[None]:
    handler.setFormatter(logging.Formatter("APP:%(message)s"))
    logging.getLogger().addHandler(handler)
    try:
        yield
    finally:
        logging.getLogger().removeHandler(handler)


class _OnlyOnce(logging.Filter):
    """A stateful filter (as a dedupe): the first record of a message passes, the next are dropped."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        first = record.getMessage() not in self.seen
        self.seen.add(record.getMessage())
        return first


def test_a_stateful_filter_of_the_application_is_not_called_in_advance(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _show_library_warnings()
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_OnlyOnce())
    with _root_handler(handler):
        logging.getLogger("cartrial.store.auth").warning("hello A")
    assert capsys.readouterr().err == "APP:hello A\n"


def test_a_handler_on_the_process_s_stderr_does_not_count_under_a_redirect(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An application that configured logging at start (its handler on the process's stderr,
    `sys.__stderr__`, counted as the terminal) and then runs the CLI under
    ``contextlib.redirect_stderr(buffer)`` lost the line."""
    _show_library_warnings()
    terminal = io.StringIO()
    monkeypatch.setattr(sys, "__stderr__", terminal)
    with _root_handler(logging.StreamHandler(sys.__stderr__)):
        buffer = io.StringIO()
        with contextlib.redirect_stderr(buffer):
            logging.getLogger("cartrial.store.auth").warning("hello B")
    assert buffer.getvalue() == "warning: hello B\n"
    assert terminal.getvalue() == "APP:hello B\n"


def test_a_handler_on_stdout_does_not_hide_the_warning_from_stderr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """With ``--json > file`` the warning went into the JSON file only."""
    _show_library_warnings()
    with _root_handler(logging.StreamHandler(sys.stdout)):
        logging.getLogger("cartrial.store.auth").warning("hello C")
    out, err = capsys.readouterr()
    assert (out, err) == ("APP:hello C\n", "warning: hello C\n")


def test_a_handler_above_the_record_s_level_does_not_count(capsys: pytest.CaptureFixture[str]) -> None:
    _show_library_warnings()
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.ERROR)
    with _root_handler(handler):
        logging.getLogger("cartrial.store.auth").warning("hello D")
    assert capsys.readouterr().err == "warning: hello D\n"
