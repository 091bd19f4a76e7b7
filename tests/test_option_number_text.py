"""Numbers inside an option's text are read as every number of cartrial is: digits 0-9 (issue 19 §4:
unicode look-alikes; decision D-19.1425).

An option typed as a number (``--subjects ２``) is refused by the parser, and every form field refuses
another script's digits (D-19.520); but the options whose text holds numbers (``--days``, ``--interval``,
``--truth``, ``--skeleton``, ``--followup``, ``--lambda-z-window``, ``--blq-before-tmax``,
``--blq-after-tmax``) read them with Python's ``float``, which
takes every script's digits and underscores: ``--days １,２`` simulated days 1 and 2 and ``--truth
0.1,0.2_5,0.3`` a toxicity of 0.25, exit 0. Now each is refused naming the option, exit 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .conftest import EXAMPLE_PK_NCA_OPTIONS

REPO_ROOT = Path(__file__).resolve().parents[1]
STUDY = REPO_ROOT / "examples" / "ct103a-nmosd" / "study"

CASES: list[tuple[str, list[str]]] = [
    ("--days", ["kinetics", "simulate", "--subjects", "2", "--days", "１,２"]),
    ("--days", ["kinetics", "simulate", "--subjects", "2", "--days", "0:1_0"]),
    ("--days", ["kinetics", "simulate", "--subjects", "2", "--days", "1_0,20"]),
    (
        "--truth",
        [
            "escalate",
            "simulate",
            "--design",
            "boin",
            "--target",
            "0.3",
            "--truth",
            "0.1,0.2_5,0.3",
            "--trials",
            "10",
        ],
    ),
    (
        "--truth",
        [
            "escalate",
            "simulate",
            "--design",
            "boin",
            "--target",
            "0.3",
            "--truth",
            "0.1,０.２,0.3",
            "--trials",
            "10",
        ],
    ),
    (
        "--skeleton",
        [
            "escalate",
            "next",
            "--design",
            "crm",
            "--target",
            "0.3",
            "--doses",
            "3",
            "--skeleton",
            "0.1,0.2,٠.٣",
            "--outcomes",
            "1NNN",
        ],
    ),
    ("--interval", ["nca", str(STUDY / "pk_samples.csv"), *EXAMPLE_PK_NCA_OPTIONS, "--interval", "０,28"]),
    (
        "--lambda-z-window",
        ["nca", str(STUDY / "pk_samples.csv"), *EXAMPLE_PK_NCA_OPTIONS, "--lambda-z-window", "7,2_8"],
    ),
    (
        "--blq-before-tmax",
        [
            "nca",
            str(STUDY / "pk_samples.csv"),
            *EXAMPLE_PK_NCA_OPTIONS,
            *("--blq-before-tmax", "０", "--blq-after-tmax", "drop"),
        ],
    ),
    (
        "--blq-after-tmax",
        [
            "nca",
            str(STUDY / "pk_samples.csv"),
            *EXAMPLE_PK_NCA_OPTIONS,
            *("--blq-before-tmax", "drop", "--blq-after-tmax", "0.1_0"),
        ],
    ),
    (
        "--followup",
        [
            "escalate",
            "next",
            *("--design", "tite-crm", "--target", "0.3", "--doses", "3"),
            *("--skeleton", "0.1,0.2,0.3", "--outcomes", "1NN", "--window", "28", "--followup", "28,２8,28"),
        ],
    ),
]


@pytest.mark.parametrize(
    ("flag", "args"), CASES, ids=[" ".join(a[:2]) + " " + a[a.index(f) + 1] for f, a in CASES]
)
def test_a_number_in_an_option_text_is_written_in_ascii_digits(
    cli: Any, tmp_path: Path, flag: str, args: list[str]
) -> None:
    if args[:2] == ["kinetics", "simulate"]:
        args = [*args, "--out", str(tmp_path / "out.csv")]
    code, _, err = cli(*args)
    assert code == 2, err
    assert err.startswith(f"error: {flag}: "), err
    assert "0-9" in err, err


@pytest.mark.parametrize("days", ["0:10:2.5", "1,2,4", "0:7", "1e1,2E1", "+1,2"])
def test_plain_numbers_are_still_read(cli: Any, tmp_path: Path, days: str) -> None:
    code, _, err = cli(
        "kinetics", "simulate", "--subjects", "2", "--days", days, "--out", str(tmp_path / "o.csv")
    )
    assert code == 0, err


def test_a_list_is_read_as_each_of_its_numbers() -> None:
    """`option_numbers` (one vectorised reading of a list option) reads each item as `option_number` reads
    it alone, and refuses the list when one item is no number in digits 0-9."""
    from cartrial.commands.option_names import option_number, option_numbers

    texts = ["0", " 2.5 ", "1e1", "+3", "-0.5", "nan", "inf", "18446744073709551616"]
    expected = [0.0, 2.5, 10.0, 3.0, -0.5, float("nan"), float("inf"), 18446744073709551616.0]
    read = option_numbers(texts)
    assert [repr(x) for x in read] == [repr(x) for x in expected]
    assert [repr(option_number(t)) for t in texts] == [repr(x) for x in expected]
    for bad in ("１", "1_0", "x", ""):
        with pytest.raises(ValueError, match="0-9"):
            option_numbers(["1", bad, "2"])
