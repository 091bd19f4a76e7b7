"""The EDSS form's live preview scores a Kurtzke assessment from its walking distance and aid (D-19.739), as
the analysis does. Kurtzke 1983 (docs/science/neuro-outcomes.md §1.5): every FS 0 and about 100 m without
aid or rest is 5.5 (hand); before, the preview read the ambulation column (0) and showed 0.0."""

from __future__ import annotations

from cartrial.web.preview import preview

SYSTEMS = ("visual", "brainstem", "pyramidal", "cerebellar", "sensory", "bowel_bladder", "cerebral")


def test_a_kurtzke_preview_reads_the_walking_distance() -> None:
    values = {
        "subject_id": "S1",
        "assessed_at": "2024-01-02",
        **dict.fromkeys(SYSTEMS, 0),
        "ambulation": 0,
        "method": "kurtzke",
        "walking_distance_m": 100,
        "assistance": "none",
    }
    result = preview("edss", values)
    assert result is not None and result["problems"] == []
    assert result["result"]["edss"] == 5.5


def test_the_preview_reads_the_method_in_any_case() -> None:
    """The field rule stores `Kurtzke` as `kurtzke` (one spelling, any case): the preview scores it by the
    Kurtzke rules too, 5.5 for 100 m without aid (hand, Kurtzke 1983); before it showed 0.0 (D-19.741)."""
    values = {
        "subject_id": "S1",
        "assessed_at": "2024-01-02",
        **dict.fromkeys(SYSTEMS, 0),
        "method": "Kurtzke",
        "walking_distance_m": 100,
        "assistance": "none",
    }
    result = preview("edss", values)
    assert result is not None and result["result"]["edss"] == 5.5
