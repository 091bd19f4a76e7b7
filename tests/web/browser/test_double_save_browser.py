"""Save pressed twice before the answer (a double-click) on a data-entry form: the browser posted the form
twice; the first saved the record and the second came back as a key conflict, on a page that read as if
nothing was saved (D-19.1264). Now a form already sent is not sent again from the same page, and the
conflict that links an existing record says it may be the earlier press's."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.slow

SEND_TWICE = """() => {
  const form = document.querySelector("main form#record-form");
  const first = new Event("submit", {bubbles: true, cancelable: true});
  const second = new Event("submit", {bubbles: true, cancelable: true});
  form.dispatchEvent(first);
  form.dispatchEvent(second);
  return [first.defaultPrevented, second.defaultPrevented];
}"""


def test_a_second_submit_of_the_same_form_is_cancelled(inv: Any, served: Any) -> None:
    inv.goto(f"{served.url}/subjects/new")
    # a dispatched submit event sends nothing itself: the first goes through, the second is cancelled
    assert inv.evaluate(SEND_TWICE) == [False, True]


def test_a_taken_key_says_the_record_may_be_an_earlier_save(inv: Any, served: Any) -> None:
    inv.goto(f"{served.url}/subjects/new")
    inv.fill("main form [name=subject_id]", "CT-004")
    inv.fill("main form [name=consent_date]", "2024-02-01")
    inv.locator("main form [name=sex]").select_option("F")
    inv.click("main form#record-form button[type=submit]")
    inv.wait_for_selector("#conflict")
    text = inv.locator("#conflict").inner_text()
    assert "This record is already saved (perhaps by an earlier press of Save): open it" in text
    assert inv.locator("#conflict a#existing-record").inner_text() == "open it"
