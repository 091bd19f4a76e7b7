"""The safety page's serious-event listing names the ICH E2A seriousness criteria each event meets, in the
analysis layer's column `seriousness_criteria` that the report's listing shows too (one derivation,
`cartrial.analysis.toxicity.with_seriousness_criteria`; D-19.382). Browser-free: the page through
FastAPI's TestClient.

Expected values come from the example study's CSV file (read here with the csv module) and the criteria's
labels as declared in `cartrial.protocol.seriousness` — never from the page's own output."""

from __future__ import annotations

import csv
import re
from html import unescape
from typing import Any

from cartrial import examples
from cartrial.protocol.seriousness import SERIOUSNESS_CRITERIA

STUDY = examples.path("ct103a-nmosd") / "study"


def _cells(html: str) -> tuple[list[str], list[list[str]]]:
    table = re.search(r'<table[^>]*id="sae-table".*?</table>', html, re.S)
    assert table is not None, "no serious-event table"

    def text(cell: str) -> str:
        return " ".join(unescape(re.sub(r"<[^>]+>", " ", cell)).split())

    header = [text(c) for c in re.findall(r"<th[^>]*>(.*?)</th>", table.group(0), re.S)]
    rows = [
        [text(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", table.group(0).split("<tbody>", 1)[1], re.S)
    ]
    return header, rows


def test_the_serious_event_listing_names_the_criteria_met(read_login: Any) -> None:
    with (STUDY / "adverse_events.csv").open(newline="", encoding="utf-8") as handle:
        serious = [r for r in csv.DictReader(handle) if r["serious"].strip().lower() == "true"]
    assert serious, "the example has a serious adverse event"
    expected = {
        (r["subject_id"], r["term"]): "; ".join(
            c.label for c in SERIOUSNESS_CRITERIA if r[c.field].strip().lower() == "true"
        )
        for r in serious
    }
    answer = read_login("dm").get("/safety")
    assert answer.status_code == 200
    header, rows = _cells(answer.text)
    assert "seriousness criteria" in header
    at, subject, term = header.index("seriousness criteria"), header.index("subject id"), header.index("term")
    shown = {(row[subject], row[term]): row[at] for row in rows}
    assert shown == expected
    assert all(shown.values())  # each serious event meets at least one criterion in the example
