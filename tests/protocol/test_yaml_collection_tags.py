"""A tag on a mapping or a list is refused, not ignored; an unknown tag on a value is named plainly
(issue 19 §4: YAML with tags; decision D-19.1424).

The reader built mappings and lists from their nodes and never looked at their tag: ``study:
!!python/object:os.system`` or ``dose_levels: !!set`` (a YAML set is a mapping of keys to null; ``!!omap``
and ``!!pairs`` change the meaning of a list) passed ``protocol check`` as a valid protocol, exit 0 — the
tag silently dropped. An unknown tag on a value (``!dob 1975-06-10``) was refused with PyYAML's own
two-line text (``could not determine a constructor for the tag '!dob'`` and ``in "<unicode string>",
line 5, column 16``), its field not named. Now both are located problems naming the field and the tag.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = REPO_ROOT / "examples" / "ct103a-nmosd"


@pytest.mark.parametrize(
    ("key", "tag"),
    [
        ("study", "!!python/object:os.system"),
        ("study", "!custom"),
        ("dose_levels", "!!set"),
        ("dose_levels", "!!omap"),
        ("dose_levels", "!!python/tuple"),
    ],
)
def test_a_tag_on_a_mapping_or_list_is_refused(cli: Any, tmp_path: Path, key: str, tag: str) -> None:
    text = (EXAMPLE / "protocol.yaml").read_text(encoding="utf-8")
    assert f"\n{key}:\n" in text
    edited = tmp_path / "protocol.yaml"
    edited.write_text(text.replace(f"\n{key}:\n", f"\n{key}: {tag}\n", 1), encoding="utf-8")
    line = text[: text.index(f"\n{key}:\n")].count("\n") + 2
    code, _, err = cli("protocol", "check", str(edited))
    assert code == 2, err
    assert f"{edited}, line {line}, {key}: a tag on a " in err, err
    assert tag in err, err


def test_the_default_tags_of_mappings_and_lists_are_read(cli: Any, tmp_path: Path) -> None:
    text = (EXAMPLE / "protocol.yaml").read_text(encoding="utf-8")
    edited = tmp_path / "protocol.yaml"
    edited.write_text(
        text.replace("\nstudy:\n", "\nstudy: !!map\n", 1).replace(
            "\ndose_levels:\n", "\ndose_levels: !!seq\n", 1
        ),
        encoding="utf-8",
    )
    code, out, err = cli("protocol", "check", str(edited))
    assert code == 0, err
    assert "is a valid protocol" in out


def test_an_unknown_tag_on_a_value_is_named_with_its_field(cli: Any, tmp_path: Path) -> None:
    candidate = (EXAMPLE / "candidates" / "cand-01-eligible.yaml").read_text(encoding="utf-8")
    assert "\ndate_of_birth: 1975-06-10\n" in candidate
    edited = tmp_path / "candidate.yaml"
    edited.write_text(
        candidate.replace("date_of_birth: 1975", "date_of_birth: !dob 1975", 1), encoding="utf-8"
    )
    code, _, err = cli("screen", str(EXAMPLE / "protocol.yaml"), str(edited))
    assert code == 2, err
    assert "date_of_birth: unknown tag !dob" in err, err
    assert "<unicode string>" not in err and "constructor" not in err, err
