"""`cartrial grade episodes --crs-masking` (D-19.1368): the CRS fever-masking rule of the episodes, the
command-line form of `analysis.options.crs_masking` and of `derive_crs_episodes(masking=)` (D-19.1356):
after_fever (default) | recorded.

The crafted file, worked by hand from ASTCT 2019 (Lee 2019, CRS table): S1 infused 2021-06-01T02:00Z; its one
assessment a day later is afebrile (37.0 °C), flagged fever_masked, hypotensive without vasopressors, on room
air. `recorded` takes the flag as the investigator recorded it: fever is waived, hypotension not needing
vasopressors is grade 2. `after_fever` counts the flag only after a CRS fever recorded after the infusion;
there is none, so the fever requirement is not met and there is no CRS: one row, episode 0, grade 0."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest

from ..conftest import write_file as write
from .conftest import CRS_HEADER

MASKED_AFEBRILE = f"{CRS_HEADER}\nS1,2021-06-02T02:00:00Z,37.0,true,true,0,false,none,\n"
INFUSIONS = "subject_id,infused_at\nS1,2021-06-01T02:00:00Z\n"


def _files(tmp_path: Path) -> tuple[str, str]:
    return str(write(tmp_path, "crs.csv", MASKED_AFEBRILE)), str(write(tmp_path, "inf.csv", INFUSIONS))


@pytest.mark.parametrize(
    ("args", "grade"), [((), 0), (("--crs-masking", "after_fever"), 0), (("--crs-masking", "recorded"), 2)]
)
def test_crs_masking_sets_the_episode_grade(cli, tmp_path: Path, args: tuple[str, ...], grade: int) -> None:  # type: ignore[no-untyped-def]
    crs, inf = _files(tmp_path)
    code, out, err = cli("grade", "episodes", crs, "--infusion-dates", inf, *args)
    assert code == 0, err
    rows = pd.read_csv(io.StringIO(out))
    assert len(rows) == 1
    assert rows.loc[0, "max_grade"] == grade
    assert rows.loc[0, "episode"] == (1 if grade else 0)


@pytest.mark.parametrize("value", ["after_fever", "recorded"])
def test_crs_masking_is_recorded_in_the_json_options(cli, tmp_path: Path, value: str) -> None:  # type: ignore[no-untyped-def]
    crs, inf = _files(tmp_path)
    code, out, err = cli("grade", "episodes", crs, "--infusion-dates", inf, "--crs-masking", value, "--json")
    assert code == 0, err
    assert json.loads(out)["options"]["masking"] == value


def test_a_bad_crs_masking_names_the_option_and_what_is_allowed(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    crs, inf = _files(tmp_path)
    code, out, err = cli("grade", "episodes", crs, "--infusion-dates", inf, "--crs-masking", "always")
    assert code == 2
    assert out == ""
    assert "Traceback" not in err
    assert "--crs-masking" in err
    assert "allowed: after_fever | recorded" in err


def test_crs_masking_is_in_the_help(cli) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = cli("grade", "episodes", "--help", env={"COLUMNS": "400"})
    assert code == 0
    text = " ".join(out.split())
    assert "--crs-masking" in text
    assert "allowed: after_fever | recorded; default after_fever" in text


@pytest.mark.parametrize("value", ["after_fever", "recorded"])
def test_the_json_options_equal_each_rows_option_columns(cli, tmp_path: Path, value: str) -> None:  # type: ignore[no-untyped-def]
    """The command's --json options and every episode row's option columns are one record
    (`grading.episodes.crs_option_record`), so they cannot drift apart."""
    crs, inf = _files(tmp_path)
    code, out, err = cli("grade", "episodes", crs, "--infusion-dates", inf, "--crs-masking", value, "--json")
    assert code == 0, err
    document = json.loads(out)
    options = document["options"]
    assert options["masking"] == value
    assert document["rows"]
    for row in document["rows"]:
        assert {name: row[name] for name in options} == options
