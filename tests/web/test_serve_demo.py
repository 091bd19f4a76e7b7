"""`cartrial serve` (its checks before starting) and the web demo step (a real uvicorn server on a free port,
fetching the study home and an API list with a demo user)."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from cartrial import examples as cartrial_examples
from cartrial import templates as cartrial_templates
from cartrial.demo import DemoContext
from cartrial.demo import web as web_demo


def _context(out_dir: Path) -> tuple[DemoContext, Console]:
    console = Console(record=True, width=160)
    ctx = DemoContext(
        examples_dir=cartrial_examples.path("ct103a-nmosd").parent,
        templates_dir=cartrial_templates.path(),
        out_dir=out_dir,
        console=console,
    )
    return ctx, console


def test_serve_without_url_uses_study_db_and_says_so(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _out, err = cli("serve")
    assert code == 2
    assert "no --url given: using sqlite:///study.db" in err
    assert "no study database" in err


def test_serve_passes_workers_and_keep_alive_to_uvicorn(cli, tmp_path, monkeypatch, example_sqlite):
    import uvicorn

    seen: dict[str, object] = {}
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: seen.update(kwargs))
    for name in ("CARTRIAL_WEB_URL", "CARTRIAL_WEB_SESSION_MINUTES"):  # the command sets them: restored after
        monkeypatch.setenv(name, "")
    monkeypatch.setenv("CARTRIAL_WEB_SECRET", "test-secret")
    code, _out, _err = cli("serve", "--url", example_sqlite, "--workers", "3", "--keep-alive", "40")
    assert code == 0
    assert seen["workers"] == 3 and seen["timeout_keep_alive"] == 40
    code, _out, err = cli("serve", "--url", example_sqlite, "--keep-alive", "0")
    assert code == 2 and "--keep-alive" in err


def test_serve_help_has_an_example(cli):
    code, out, _ = cli("serve", "--help")
    assert code == 0 and "Example: cartrial serve --url" in out


def test_web_demo_serves_the_demo_database(tmp_path, example_sqlite, monkeypatch):
    monkeypatch.setattr(web_demo, "SERVE_SECONDS", 0.0)
    source = Path(example_sqlite.removeprefix("sqlite:///"))  # a private copy, named study.db
    ctx, console = _context(source.parent)
    web_demo.run(ctx)
    text = console.export_text()
    assert "GET / (study home, as demo_investigator): HTTP 200" in text
    assert "GET /api/v1/records/subjects?limit=5: HTTP 200, 12 subjects" in text
    assert "demo_monitor" in text and "http://127.0.0.1:" in text
    assert "cartrial serve --url sqlite:///" in text


def test_web_demo_without_database_says_so(tmp_path):
    ctx, console = _context(tmp_path)
    web_demo.run(ctx)
    assert "does not exist" in console.export_text()


def test_serve_refuses_an_address_it_cannot_listen_on_before_starting(cli, monkeypatch, example_sqlite):
    """An empty or unresolvable --host, or a --port another program listens on: uvicorn found these only
    after starting the app and exited 3 with its own log line (an empty --host listened on every
    interface). Now exit 2 naming the option, before anything starts."""
    import socket

    import uvicorn

    started: list[object] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: started.append(kwargs))
    for name in ("CARTRIAL_WEB_URL", "CARTRIAL_WEB_SESSION_MINUTES"):
        monkeypatch.setenv(name, "")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        code, _out, err = cli("serve", "--url", example_sqlite, "--port", port)
        assert code == 2 and "--port" in err and "in use" in err and port in err
    for host in ("", "999.1.1.1"):
        code, _out, err = cli("serve", "--url", example_sqlite, "--host", host, "--port", port)
        assert code == 2 and "--host" in err, err
    assert started == []
