"""User names are unique whatever their case in every script, and no name mixes look-alike scripts
(issue 19 §2: "user names are unique case-insensitively"; decision D-19.1423).

The check compared SQL ``lower(username)`` with Python's ``str.lower``: SQLite's ``lower`` folds ASCII only,
so ``élodie`` was accepted beside ``ÉLODIE`` on SQLite; ``straße`` beside ``STRAẞE`` on both backends
(``lower`` is not case folding: ``ẞ``.lower() is ``ß`` but ``STRASSE`` folds to ``strasse``, as ``ß`` does).
And ``аdmin`` with a Cyrillic ``а`` (U+0430) was accepted beside ``admin``: two accounts a reader of the
audit trail cannot tell apart, as ``Admin`` was (D-19.3). Now names are compared by their Unicode case
folding (NFKC, casefold), and a name mixing letters of Latin, Greek and Cyrillic is refused (UTS #39's
single-script restriction for those three, whose letters are confusable), on every path that writes a name.
"""

from __future__ import annotations

from typing import Any

import pytest

from cartrial.errors import ConflictError, InputError


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("ÉLODIE", "élodie"),
        ("élodie", "ÉLODIE"),
        ("STRAẞE", "straße"),
        ("straße", "STRASSE"),
        ("ΣΟΦΙΑ", "σοφια"),
    ],
)
def test_a_name_differing_only_in_case_in_any_script_is_taken(study: Any, first: str, second: str) -> None:
    admin = study.service.as_user("admin")
    admin.add_user(first, "monitor")
    with pytest.raises(ConflictError, match="the user name is taken: user names are compared without case"):
        admin.add_user(second, "monitor")


@pytest.mark.parametrize("name", ["аdmin", "mοnitor", "Аlice-2"])  # Cyrillic а, Greek ο, Cyrillic А
def test_a_name_mixing_latin_with_a_look_alike_script_is_refused(study: Any, cli: Any, name: str) -> None:
    admin = study.service.as_user("admin")
    with pytest.raises(InputError) as caught:
        admin.add_user(name, "monitor")
    assert caught.value.problems[0].field == "username"
    assert "scripts" in str(caught.value)
    added = cli("db", "user", "add", name, "--role", "monitor", "--url", study.url, "--user", "admin")
    assert added.exit_code == 2 and "scripts" in added.stderr
    assert name not in added.stderr  # value-free, as the taken name (D-19.884)


def test_a_rename_to_a_look_alike_is_refused(study: Any) -> None:
    admin = study.service.as_user("admin")
    dm = admin.find_records("app_user", username="dm")[0]
    with pytest.raises(InputError, match="scripts"):
        admin.update_record("app_user", dm["id"], {"username": "dм"}, dm["version"], "rename")


@pytest.mark.parametrize("name", ["иван", "σοφια", "José-Ñ", "李雷", "o'brien"])
def test_a_name_in_one_script_is_accepted(study: Any, name: str) -> None:
    study.service.as_user("admin").add_user(name, "monitor")


def test_the_login_throttle_folds_a_name_as_names_are_compared() -> None:
    """One fold of a name (`username_fold`: NFKC then case folding) for the login throttle as for the
    uniqueness check: ``ｍｏｎ`` (fullwidth) and ``MON`` are one name's failures (review of D-19.1423)."""
    from cartrial.store.auth import _throttle_key
    from cartrial.store.users import username_fold

    assert _throttle_key("ｍｏｎ") == _throttle_key("MON") == _throttle_key(" mon ")
    assert _throttle_key("ÉLODIE") == username_fold("élodie")


def test_a_re_import_of_an_old_studys_unchanged_users_is_not_refused(study: Any) -> None:
    """A study written before D-19.1423 may hold ``élodie`` and ``ÉLODIE`` (SQLite's ``lower`` folded ASCII
    only) or a mixed-script name: a re-import restating those users is not refused; the check applies to a
    new or renamed user (review of D-19.1423)."""
    from sqlalchemy import text

    admin = study.service.as_user("admin")
    admin.add_user("élodie", "monitor")
    admin.add_user("elodie2", "monitor")
    admin.add_user("mixed", "monitor")
    with study.service.engine.begin() as connection:
        if connection.dialect.name == "sqlite":  # PostgreSQL's lower() folds É: no such old study there
            connection.execute(text("UPDATE app_user SET username = 'ÉLODIE' WHERE username = 'elodie2'"))
        connection.execute(
            text("UPDATE app_user SET username = 'mіxed' WHERE username = 'mixed'")
        )  # Cyrillic і
    names = [n for n in ("ÉLODIE", "mіxed", "élodie") if admin.find_records("app_user", username=n)]
    with study.service.transaction("admin", "import", "re-import") as tx:
        study.service.upsert_rows(tx, "app_user", [{"username": n, "role": "monitor"} for n in names])
    with pytest.raises(ConflictError, match="taken"), study.service.transaction("admin", "import", "x") as tx:
        study.service.upsert_rows(tx, "app_user", [{"username": "Élodie", "role": "monitor"}])
