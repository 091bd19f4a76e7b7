"""An active investigator needs a site on every write of an account (D-19.919, D-19.884): the rule was
applied by `new_user` and `change_user` only, and the generic record writes — ``cartrial db edit
app_user``, a record insert, an upsert (import) of app_user, a reactivation — skipped it."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from cartrial.errors import InputError


def _user(study, username: str) -> dict:
    return study.service.as_user("admin").find_records("app_user", username=username)[0]


def _edit(cli, study, username: str, setting: str):
    row = _user(study, username)
    return cli(
        *("db", "edit", "app_user", row["id"], "--set", setting, "--expected-version", row["version"]),
        *("--reason", "role review", "--url", study.url, "--user", "admin"),
    )


def test_db_edit_cannot_make_an_investigator_without_a_site(study, cli) -> None:
    """``db edit app_user <monitor> --set role=investigator`` made the monitor (no site) an investigator
    with no site, exit 0."""
    result = _edit(cli, study, "mon", "role=investigator")
    assert result.exit_code == 2, result.stdout
    assert "an investigator needs a site" in result.stderr and "site" in result.stderr
    assert (_user(study, "mon")["role"], _user(study, "mon")["site_id"]) == ("monitor", None)


def test_db_edit_cannot_clear_an_investigators_site(study, cli) -> None:
    result = _edit(cli, study, "inv", "site_id=")
    assert result.exit_code == 2, result.stdout
    assert "an investigator needs a site" in result.stderr
    assert _user(study, "inv")["site_id"] == "TJH"
    moved = _edit(cli, study, "inv", "site_id=PUMCH")  # another site is a site
    assert moved.exit_code == 0, moved.stderr
    assert _user(study, "inv")["site_id"] == "PUMCH"


def test_a_record_insert_of_an_investigator_without_a_site_is_refused(study) -> None:
    with pytest.raises(InputError, match="an investigator needs a site") as refused:
        study.service.insert_record("admin", "app_user", {"username": "inv3", "role": "investigator"})
    assert refused.value.problems[0].field == "site"
    assert not study.service.as_user("admin").find_records("app_user", username="inv3")


def test_an_upsert_of_app_user_cannot_make_an_investigator_without_a_site(study) -> None:
    with (
        pytest.raises(InputError, match="an investigator needs a site") as refused,
        study.service.transaction("admin", "import", "role review") as tx,
    ):
        study.service.upsert_rows(tx, "app_user", [{"username": "stat", "role": "investigator"}])
    assert refused.value.problems[0].row == 1
    assert _user(study, "stat")["role"] == "statistician"


def _siteless_investigator(study, *, active: bool) -> None:
    """``inv`` as an account stored before the rule: an investigator with no site."""
    with study.service.engine.begin() as connection:
        connection.execute(
            text("UPDATE app_user SET site_id = NULL, active = :active WHERE username = 'inv'"),
            {"active": active},
        )


def test_reactivating_an_investigator_without_a_site_is_refused(study) -> None:
    _siteless_investigator(study, active=False)
    admin = study.service.as_user("admin")
    with pytest.raises(InputError, match="an investigator needs a site"):
        admin.set_active("inv", True, "back from leave")
    assert _user(study, "inv")["active"] in (False, 0)
    admin.change_user("inv", "back from leave", site_id="TJH", active=True)  # with a site: taken
    assert (_user(study, "inv")["site_id"], bool(_user(study, "inv")["active"])) == ("TJH", True)


def test_an_account_stored_before_the_rule_can_still_be_deactivated_and_renamed(study) -> None:
    _siteless_investigator(study, active=True)
    admin = study.service.as_user("admin")
    row = _user(study, "inv")
    admin.update_record("app_user", row["id"], {"full_name": "Dr Inv"}, row["version"], "name")
    admin.set_active("inv", False, "no site: off until one is set")
    assert not _user(study, "inv")["active"]


def test_cli_user_role_with_an_empty_site_or_no_site_is_refused_for_an_investigator(study, cli) -> None:
    """``db user role inv --role investigator --site ""`` (the site cleared, D-19.922) and ``db user role
    mon --role investigator`` without a site: both refused, exit 2, located at the site."""
    cleared = cli(
        *("db", "user", "role", "inv", "--role", "investigator", "--site", ""),
        *("--reason", "site closes", "--url", study.url, "--user", "admin"),
    )
    assert cleared.exit_code == 2 and "an investigator needs a site" in cleared.stderr
    assert _user(study, "inv")["site_id"] == "TJH"
    promoted = cli(
        *("db", "user", "role", "mon", "--role", "investigator"),
        *("--reason", "joins a team", "--url", study.url, "--user", "admin"),
    )
    assert promoted.exit_code == 2 and "an investigator needs a site" in promoted.stderr
    assert _user(study, "mon")["role"] == "monitor"


def test_change_user_judges_the_account_after_the_change(study) -> None:
    admin = study.service.as_user("admin")
    with pytest.raises(InputError, match="an investigator needs a site") as refused:
        admin.change_user("mon", "joins a team", role="investigator")
    assert refused.value.problems[0].field == "site"
    with pytest.raises(InputError, match="an investigator needs a site"):
        admin.change_user("inv", "site closes", site_id="")
    admin.change_user("mon", "joins a team", role="investigator", site_id="PUMCH")
    assert (_user(study, "mon")["role"], _user(study, "mon")["site_id"]) == ("investigator", "PUMCH")
