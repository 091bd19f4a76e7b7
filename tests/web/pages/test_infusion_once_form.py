"""The protocol allows one CAR-T infusion per subject (INFUSION-ONCE): the casebook disables its button for
an infused subject (the browser test of D-19.284), and the form reached by its URL says so at once."""

from __future__ import annotations

from typing import Any


def test_a_second_infusions_form_says_at_once_that_the_protocol_allows_one(login: Any) -> None:
    """D-19.284: the form reached by its URL (a bookmark) says so before anything is typed."""
    client = login("inv_a")
    infused = client.get("/subjects/CT-001/forms/infusions/new").text
    assert "INFUSION-ONCE" in infused
    assert "INFUSION-ONCE" not in login("dm").get("/subjects/PU-101/forms/infusions/new").text
