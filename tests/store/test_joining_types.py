"""D-19.519: the joiners of a typed key text (AE term, drug, analyte) follow RFC 5892 Appendix A exactly.
ZERO WIDTH JOINER only right after a virama (A.2); ZERO WIDTH NON-JOINER right after a virama or between
a left- or dual-joining and a right- or dual-joining character, transparent marks skipped (A.1), by the
Unicode Joining_Type (ArabicShaping.txt). The old rule took a hand-written list of script names and so
refused a ZWNJ in Phags-pa, Manichaean, Psalter Pahlavi, Sogdian, Old Uyghur or Hanifi Rohingya, and
accepted one after a letter that does not join (``سردرد`` + ZWNJ + ``ها``: DAL never joins to its left,
so the ZWNJ changes nothing one can see) and a ZWJ between Arabic letters."""

from __future__ import annotations

import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.store import joining_types
from cartrial.store.fields import KeyText, joining_type, key_text_fault

ZWNJ, ZWJ = "\u200c", "\u200d"

# The test's own Joining_Type values, typed from ArabicShaping.txt / DerivedJoiningType.txt (Unicode 14.0
# and later), not read from the code's table.
TYPED_FROM_ARABICSHAPING = {
    "\u0628": "D",  # ARABIC LETTER BEH
    "\u0647": "D",  # ARABIC LETTER HEH
    "\u06cc": "D",  # ARABIC LETTER FARSI YEH
    "\u062f": "R",  # ARABIC LETTER DAL
    "\u0627": "R",  # ARABIC LETTER ALEF
    "\u0640": "C",  # ARABIC TATWEEL
    "\u064e": "T",  # ARABIC FATHA (Mn, unlisted: derived T)
    "\u0621": "U",  # ARABIC LETTER HAMZA
    "\u0712": "D",  # SYRIAC LETTER BETH
    "\u0710": "R",  # SYRIAC LETTER ALAPH
    "\u07ca": "D",  # NKO LETTER A
    "\u0841": "D",  # MANDAIC LETTER AB
    "\u1820": "D",  # MONGOLIAN LETTER A
    "\ua840": "D",  # PHAGS-PA LETTER KA
    "\ua872": "L",  # PHAGS-PA SUPERFIXED LETTER RA
    "\U00010ac0": "D",  # MANICHAEAN LETTER ALEPH
    "\U00010ac5": "R",  # MANICHAEAN LETTER DALETH
    "\U00010b80": "D",  # PSALTER PAHLAVI LETTER ALEPH
    "\U00010b81": "R",  # PSALTER PAHLAVI LETTER BETH
    "\U00010d01": "D",  # HANIFI ROHINGYA LETTER BA
    "\U00010f30": "D",  # SOGDIAN LETTER ALEPH
    "\U00010f70": "D",  # OLD UYGHUR LETTER ALEPH (Unicode 14.0)
    "\U0001e900": "D",  # ADLAM CAPITAL LETTER ALIF
    "\u094d": "T",  # DEVANAGARI SIGN VIRAMA (Mn, canonical combining class 9)
    "\u0915": "U",  # DEVANAGARI LETTER KA
    "a": "U",
    "1": "U",
    ZWNJ: "U",
    ZWJ: "C",
}


def test_the_table_is_of_the_running_unicode_version_or_later() -> None:
    """A table older than the running Python's Unicode data would type a letter it lacks as U (Non_Joining)
    and refuse a ZWNJ beside it."""
    table = tuple(int(part) for part in joining_types.UNICODE_VERSION.split("."))
    runtime = tuple(int(part) for part in unicodedata.unidata_version.split("."))
    assert table >= runtime


def test_the_table_agrees_with_the_characters_typed_from_the_unicode_data() -> None:
    for character, expected in TYPED_FROM_ARABICSHAPING.items():
        assert joining_type(character) == expected, f"U+{ord(character):04X}"


def test_the_table_is_the_generators_output_from_the_vendored_ucd_file() -> None:
    """The checked-in table is exactly what tools/generate_joining_types.py writes from the vendored
    tests/data/ucd/DerivedJoiningType.txt (run as a command, with ``--ucd``): no installed package and no
    version match needed, so the test never skips (D-19.526). The header names the input's Unicode version
    and the Unicode licence (D-19.527)."""
    root = Path(__file__).resolve().parents[2]
    ucd = root / "tests/data/ucd/DerivedJoiningType.txt"
    written = subprocess.run(
        [sys.executable, str(root / "tools/generate_joining_types.py"), "--ucd", str(ucd)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert written == (root / "src/cartrial/store/joining_types.py").read_text(encoding="utf-8")
    first = ucd.read_text(encoding="utf-8").splitlines()[0]
    assert first == f"# DerivedJoiningType-{joining_types.UNICODE_VERSION}.txt"
    assert "Unicode License v3, https://www.unicode.org/license.txt" in written
    assert "UNICODE LICENSE V3" in (root / "tests/data/ucd/LICENSE").read_text(encoding="utf-8")


ACCEPTED = [
    "کتاب\u200cها",  # ZWNJ between BEH (D) and HEH (D): the Persian plural
    "می\u200cخواهم",  # FARSI YEH (D) before
    "ب\u064e\u200c\u064eه",  # transparent marks on both sides are skipped
    "ꡀ\u200cꡀ",  # Phags-pa
    "\U00010ac0\u200c\U00010ac5",  # Manichaean
    "\U00010b80\u200c\U00010b81",  # Psalter Pahlavi
    "\U00010d01\u200c\U00010d01",  # Hanifi Rohingya
    "\U00010f30\u200c\U00010f30",  # Sogdian
    "\U00010f70\u200c\U00010f70",  # Old Uyghur
    "\ua872\u200c\ua840",  # L before
    "क्\u200dष",  # ZWJ after a virama (A.2)
    "क्\u200cष",  # ZWNJ after a virama (A.1 rule 1)
    "അവന്\u200d",  # a legacy Malayalam chillu: virama + ZWJ at the end
]

REFUSED = [
    "سردرد\u200cها",  # DAL (R) never joins to its left: the ZWNJ changes nothing one sees
    "ب\u200cا\u200cب",  # the second ZWNJ follows ALEF (R)
    "ب\u200dب",  # ZWJ between Arabic letters: only after a virama (A.2)
    "ب\u200c",  # nothing after
    "\u200cب",  # nothing before
    "ب\u200c ب",  # a space does not join
    "ب\u200cء",  # HAMZA (U) after
    "ب\u0640\u200cب",  # TATWEEL (C) is neither L nor D
    "a\u200cb",  # Latin
    "क\u200dष",  # Devanagari without a virama
]


@pytest.mark.parametrize("term", ACCEPTED)
def test_a_joiner_where_rfc_5892_allows_it_is_accepted(term: str) -> None:
    assert key_text_fault(term, KeyText.TYPED) is None


@pytest.mark.parametrize("term", REFUSED)
def test_a_joiner_where_rfc_5892_allows_none_is_refused(term: str) -> None:
    fault = key_text_fault(term, KeyText.TYPED)
    assert fault is not None and (
        "U+200C ZERO WIDTH NON-JOINER" in fault or "U+200D ZERO WIDTH JOINER" in fault
    )


def _rfc_5892_oracle(text: str) -> bool:
    """RFC 5892 Appendix A.1/A.2 written from the RFC over the test's own joining types: every joiner is
    right after a virama (U+094D, the alphabet's only character of canonical combining class 9), or is a
    ZWNJ matching ``(L|D) T* ZWNJ T* (R|D)``; and, from the Unicode Standard ch. 12 (D-19.525), a ZWJ between
    the Devanagari letter KA and the virama (no other letter of the alphabet is Devanagari)."""
    types = "".join(TYPED_FROM_ARABICSHAPING[c] for c in text)
    for i, character in enumerate(text):
        if character not in (ZWNJ, ZWJ):
            continue
        if i > 0 and text[i - 1] == "\u094d":
            continue
        if character == ZWJ and i > 0 and text[i - 1] == "\u0915" and text[i + 1 : i + 2] == "\u094d":
            continue  # D-19.525: a ZWJ between a letter and its own script's virama (the alphabet's only one)
        if character == ZWJ:
            return False
        if re.search("[LD]T*$", types[:i]) is None or re.match("T*[RD]", types[i + 1 :]) is None:
            return False
    return True


@settings(max_examples=property_examples(500), deadline=None)
@given(st.text(st.sampled_from(sorted(TYPED_FROM_ARABICSHAPING)), min_size=1, max_size=12))
@example("ب\u064e\u200c\u064eه")
@example("\u062f\u200c\u0647")  # DAL (R) before: refused
@example("\u0915\u200d\u094d")  # KA + ZWJ + VIRAMA: accepted (D-19.525)
@example("\u0628\u200d\u094d")  # BEH + ZWJ + Devanagari VIRAMA: another script, refused
def test_the_joiner_rule_is_rfc_5892(text: str) -> None:
    """Property: over letters of every joining type, transparent marks, a virama and both joiners, a typed
    text (in NFC, without a mark or joiner at the start) is accepted exactly when the RFC's rule holds."""
    if not unicodedata.is_normalized("NFC", text) or unicodedata.category(text[0])[0] == "M":
        return
    if unicodedata.category(text[0]) == "Cf" and text[0] not in (ZWNJ, ZWJ):
        return
    assert (key_text_fault(text, KeyText.TYPED) is None) == _rfc_5892_oracle(text), text
