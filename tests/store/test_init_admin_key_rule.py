"""D-19.524: `db init`, `db user add` and `db site add` judge the new user name and site code by the
identifier key rule — the rule every login and lookup uses — so no admin is created who can never log in
(a full-width `ａｄｍｉｎ` was stored, then refused at every sign-in)."""

from __future__ import annotations

import pytest

from cartrial.errors import InputError
from cartrial.store.users import new_site, new_user

from ..conftest import Cli
from .conftest import PROTOCOL


def test_db_init_refuses_a_full_width_admin_name_located(tmp_path, cli: Cli) -> None:
    url = f"sqlite:///{tmp_path / 'study.db'}"
    code, out, err = cli("db", "init", "--url", url, "--protocol", str(PROTOCOL), "--admin", "ａｄｍｉｎ")
    assert code == 2, (out, err)
    assert "--admin" in err and "U+FF41 FULLWIDTH LATIN SMALL LETTER A" in err
    assert not (tmp_path / "study.db").exists()  # refused before the database is created


def test_db_init_refuses_a_site_code_with_a_zero_width_space(tmp_path, cli: Cli) -> None:
    url = f"sqlite:///{tmp_path / 'study.db'}"
    args = ("db", "init", "--url", url, "--protocol", str(PROTOCOL), "--admin", "alice")
    code, _, err = cli(*args, "--admin-site", "TJ\u200bH")
    assert code == 2 and "--admin-site" in err and "U+200B ZERO WIDTH SPACE" in err


@pytest.mark.parametrize("name", ["ａｄｍｉｎ", "ad\u200bmin", "ad  min"])
def test_new_user_refuses_a_name_no_login_accepts(name: str) -> None:
    with pytest.raises(InputError) as caught:
        new_user(name, "admin", None, None, None)
    problem = caught.value.problems[0]
    assert problem.field == "app_user.username"
    assert problem.value is None  # a user name may identify a person (D-12.2, D-19.522)
    assert name not in str(caught.value)


def test_new_site_refuses_a_look_alike_code() -> None:
    with pytest.raises(InputError) as caught:
        new_site("ＴＪＨ", None, None)
    assert caught.value.problems[0].field == "site.site_id"
    assert caught.value.problems[0].value is None and "ＴＪＨ" not in str(caught.value)


def test_db_init_does_not_echo_a_refused_admin_name(tmp_path, cli: Cli) -> None:
    url = f"sqlite:///{tmp_path / 'study.db'}"
    code, out, err = cli("db", "init", "--url", url, "--protocol", str(PROTOCOL), "--admin", "bob\u200bsmith")
    assert code == 2 and "U+200B ZERO WIDTH SPACE" in err
    assert "bob" not in out + err and "smith" not in out + err
