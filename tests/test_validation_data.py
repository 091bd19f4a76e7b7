"""The vendored public validation data (`tests/data/validation/`) must equal the workplace originals in
`../shared/validation/` (source: that folder's README; R `datasets::Theoph`)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
VENDORED = REPO_ROOT / "tests" / "data" / "validation"
ORIGINALS = REPO_ROOT.parent / "shared" / "validation"


@pytest.mark.parametrize("name", ["theoph.csv"])
def test_vendored_copy_equals_the_original(name: str) -> None:
    vendored = (VENDORED / name).read_bytes()
    assert vendored.count(b"\n") == 133  # header + 132 observations (12 subjects x 11 samples)
    if not (ORIGINALS / name).is_file():
        pytest.skip(f"originals not on this machine ({ORIGINALS}); vendored copy used as is")
    assert vendored == (ORIGINALS / name).read_bytes()
