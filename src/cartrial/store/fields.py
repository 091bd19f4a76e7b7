"""The field rules of every study-data table, declared once: what a value of each field must be.

One `FieldRule` per table column (name, type, unit, range, allowed values, whether a value is required, a
set taken from the protocol, help text and source). The same rules check every way data enters the study
database: the CSV and REDCap import (`cartrial.store.importing.validation.validate_form`, the frame path),
`db edit` and single-record inserts (`validate_record`, called by the store's single-record writes), and
the web forms and API (which show `FieldRule.help` and `FieldRule.allowed()` next to each field). The CSV
templates in ``docs/templates/`` carry exactly the columns of these rules (tested).

Types, text lengths and NOT NULL come from the table (`cartrial.store.models`); domain rules come from the
engine that owns the form (its published constants: temperature range and oxygen devices of the grading
engine, the Neurostatus score ranges of the neuro engine…) or, for the forms the import owns, from
`DOMAIN_RULES` below. Protocol-derived sets (`ProtocolSet`): the dose levels of the study's protocol and the
AQP4-IgG end-point titre grid of the cell-based assay (`cartrial.protocol.AQP4_TITRE_DILUTIONS`).

Rules that relate two fields of one record (an adverse event that ends before it starts, a birth year after
consent) are `RecordRule`s; rules across records and forms are the edit checks
(`cartrial.store.edit_checks`).
"""

from __future__ import annotations

import bisect
import json
import math
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Boolean, Date, Float, Integer, String, Text
from sqlalchemy.sql.schema import Column

from cartrial.allowed import choice_text
from cartrial.columns import (
    BOOL_ALLOWED,
    CONTROL_CHARACTERS,
    CONTROL_CHARACTERS_ALLOWED,
    DIGITS_ALLOWED,
    LINE_BREAK,
    LINE_BREAKS,
    NOT_UNICODE_ALLOWED,
    ONE_LINE_ALLOWED,
    ONE_LINE_SPACE,
    character_name,
    is_unicode_text,
    time_zone_of,
    trim_blanks,
)
from cartrial.columns import bounds_text as range_words
from cartrial.countries import COUNTRY_ALLOWED, country_alpha3
from cartrial.errors import InternalError, Problem
from cartrial.escalation.conduct import DESIGN_STATE_EXAMPLE
from cartrial.grading.crs import OXYGEN_DEVICES, SBP_RANGE_MMHG
from cartrial.grading.icans import (
    CONSCIOUSNESS_LEVELS,
    EDEMA_TYPES,
    ICE_ITEM_MAXIMA,
    MOTOR_FINDINGS,
    SEIZURE_TYPES,
)
from cartrial.grading.tables import (
    FIO2_WITHOUT_OXYGEN,
    FIO2_WITHOUT_OXYGEN_ALLOWED,
    MAX_OXYGEN_L_MIN,
    MAX_VASOPRESSORS,
    TEMPERATURE_RANGE_C,
    THERAPY_CATEGORIES,
    fio2_without_oxygen,
)
from cartrial.kinetics.templates import MAX_CONCENTRATION, MIN_LLOQ, blq_value_contradicts
from cartrial.neuro.edss_scale import AMBULATION_MAX, FS_MAX, Assistance, EdssMethod
from cartrial.neuro.osis import OSIS_MAX
from cartrial.neuro.relapses import Severity
from cartrial.neuro.tables import (
    EYES,
    HISTORY_DATE_ALLOWED,
    HISTORY_DATE_KEYS,
    T25FW_MAX_SECONDS,
    history_date_faults,
)
from cartrial.neuro.titres import DEFAULT_SERIES, parse_titre_step
from cartrial.protocol.candidate import EARLIEST_BIRTH
from cartrial.protocol.design_options import DESIGNS
from cartrial.protocol.disposition import (
    DISPOSITION_PATTERN,
    DISPOSITION_TEXT,
    parse_disposition,
)
from cartrial.protocol.dlt import Relatedness, ToxicityCategory
from cartrial.protocol.lab_tests import LAB_TESTS, PK_ANALYTES
from cartrial.protocol.seriousness import SERIOUSNESS_CRITERIA, SERIOUSNESS_SOURCE
from cartrial.store import joining_types
from cartrial.store.models import (
    STUDY_TABLES,
    StoredDate,
    StoredInteger,
    StoredJSON,
    StoredNumber,
    UtcDateTime,
)
from cartrial.store.stored_dates import STORED_INTEGER_BOUNDS

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from cartrial.protocol.model import Protocol

DATABASE_COLUMNS = frozenset({"id", "version", "created_at", "updated_at"})
"""Columns the database fills itself; no form, template or edit gives them."""


class FieldKind(StrEnum):
    """The type of a field's value."""

    TEXT = "text"
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    JSON = "json"


class ProtocolSet(StrEnum):
    """A set of allowed values that comes from the study's protocol (or its assay), not from the code."""

    DOSE_LEVEL = "dose_level"
    """1..K, the dose levels of the protocol (``dose_levels`` section)."""
    AQP4_TITRE = "aqp4_titre"
    """An end-point titre on the assay's dilution grid (docs/science/neuro-outcomes.md §6: 1:10, 1:32 …
    1:10000, or
    negative; `cartrial.neuro.titres.parse_titre_step`)."""


ALLOWED_TEXT = {
    FieldKind.TEXT: "text",
    FieldKind.INTEGER: "a whole number",
    FieldKind.NUMBER: "a number",
    FieldKind.BOOLEAN: BOOL_ALLOWED,
    FieldKind.DATE: "ISO 8601 date YYYY-MM-DD",
    FieldKind.DATETIME: "ISO 8601 date-time with Z or an offset, e.g. 2021-06-01T08:30:00Z (or a date)",
    FieldKind.JSON: 'JSON list or object, e.g. [{"drug": "rituximab", "stopped_on": "2020-01-05"}]',
}
JSON_EXAMPLES: dict[str, str] = {
    "relapse_history": '[{"onset_date": "2019-07-01", "phenotype": "optic_neuritis"}]',
    "design_state": DESIGN_STATE_EXAMPLE,  # the replay checks this state (D-19.1088)
}
"""The example in the allowed text of a JSON field whose items are not a treatment's (D-19.252): the
relapse history's items as the MH export reads them (onset_date, phenotype), a design state as the
escalation decisions form holds it."""


def json_allowed(name: str) -> str:
    """What a JSON field `name` allows, in words, with an example of its own content (D-19.252)."""
    example = JSON_EXAMPLES.get(name)
    return ALLOWED_TEXT[FieldKind.JSON] if example is None else f"JSON list or object, e.g. {example}"


@dataclass(frozen=True)
class Domain:
    """The domain rule of one field beyond its database type (declared in `DOMAIN_RULES`)."""

    unit: str = ""
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    choices: tuple[str, ...] | None = None
    pattern: str | None = None
    pattern_text: str | None = None
    protocol_set: ProtocolSet | None = None
    required: bool | None = None
    """Override the table's nullability (a column the table allows blank but the form requires)."""
    known: tuple[str, ...] | None = None
    """Known spellings of a free-text field: a value equal to one of them but for case is stored in that
    spelling; any other text is kept as given (see `FieldRule.known_values`)."""
    digits_0_to_9: bool = False
    """A text that a parser later reads numbers from (visual acuity, titre): another script's digit is
    refused at entry (`FieldRule.digits_0_to_9`, D-19.520)."""
    help: str = ""
    source: str = ""


@dataclass(frozen=True)
class FieldRule:
    """Everything a value of one field must satisfy, and what to tell the user about it."""

    table: str
    name: str
    kind: FieldKind
    required: bool
    """A value is required (the table's NOT NULL columns, or the form's rule)."""
    max_length: int | None = None
    unit: str = ""
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    choices: tuple[str, ...] | None = None
    pattern: str | None = None
    pattern_text: str | None = None
    protocol_set: ProtocolSet | None = None
    known_values: tuple[str, ...] | None = None
    """The known spellings of a free-text field (e.g. the lab tests of `cartrial.protocol.lab_tests`): a
    value that equals one but for case is stored in that spelling, so that every reader, which selects by
    name, and the natural key see one spelling (`Neutrophils` is stored as `neutrophils`); other text is
    kept as given."""
    key: KeyText | None = None
    """Which key text the field is (`key_text_fault`, D-19.420, D-19.425), or None: a text column that
    identifies a record or what re-imports match on — an identifier (``subject_id``, ``site_id``,
    ``username``, ``study_code``, ``query_code``: `KeyText.IDENTIFIER`) or a text a site types and an
    import matches on (an AE ``term``, a ``drug``, a lab or PK ``analyte``: `KeyText.TYPED`)."""
    digits_0_to_9: bool = False
    """A text holding numbers that a parser reads (``20/40``, ``1:100``): a digit other than 0-9 is
    refused where the value is entered, naming the digit (`columns.other_digit_fault`, D-19.520)."""
    help: str = ""
    source: str = ""

    def spellings(self) -> dict[str, str] | None:
        """Lower-case text → the one spelling of each choice or known name of a text field (None: the field
        has neither): what every write path stores and the snapshot reads (D-19.42, D-19.76)."""
        if self.kind is not FieldKind.TEXT:
            return None
        names = self.choices if self.choices is not None else self.known_values
        return None if names is None else {name.lower(): name for name in names}

    def as_dict(self, protocol: Protocol | None = None) -> dict[str, Any]:
        """The rule as plain data (what a web form or the API describes next to the field)."""
        choices: list[Any] | None = None if self.choices is None else list(self.choices)
        if self.protocol_set is ProtocolSet.DOSE_LEVEL and protocol is not None:
            choices = list(dose_levels(protocol))
        elif self.protocol_set is ProtocolSet.AQP4_TITRE:
            choices = ["negative", *(f"1:{d}" for d in DEFAULT_SERIES)]
        return {
            "table": self.table,
            "name": self.name,
            "type": self.kind.value,
            "required": self.required,
            "unit": self.unit or None,
            "minimum": self.minimum,
            "maximum": self.maximum,
            "exclusive_minimum": self.exclusive_minimum,
            "choices": choices,
            "pattern": self.pattern,
            "max_length": self.max_length,
            "protocol_set": None if self.protocol_set is None else self.protocol_set.value,
            "known_values": None if self.known_values is None else list(self.known_values),
            "allowed": self.allowed(protocol),
            "help": self.help,
            "source": self.source,
        }

    def allowed(self, protocol: Protocol | None = None) -> str:
        """What is allowed, in words (shown with every problem and next to a form field)."""
        if self.protocol_set is ProtocolSet.DOSE_LEVEL and protocol is not None:
            return f"a dose level of the protocol: {choice_text(dose_levels(protocol))}"
        if self.protocol_set is ProtocolSet.AQP4_TITRE:
            return "negative, or an end-point titre on the assay grid: " + choice_text(
                f"1:{d}" for d in DEFAULT_SERIES
            )
        if self.choices is not None:
            return " | ".join(self.choices)
        if self.pattern is not None and self.key is None:
            return self.pattern_text or self.pattern
        if self.kind in (FieldKind.INTEGER, FieldKind.NUMBER):
            return bounds_text(self.minimum, self.maximum, self.exclusive_minimum, self.unit, self.kind)
        key = "" if self.key is None else f"; {key_text_allowed(self.key)}"
        if self.kind is FieldKind.TEXT and self.max_length is not None and self.known_values is not None:
            return (
                f"text of at most {self.max_length} characters {ONE_LINE_ALLOWED}{key}; stored in the known "
                f"spelling when it is one of {choice_text(self.known_values)} in any case"
            )
        if self.kind is FieldKind.TEXT and self.max_length is not None:
            digits = f"; {DIGITS_ALLOWED}" if self.digits_0_to_9 else ""
            # a key's pattern (a reserved word, D-19.1167) adds to the key's own rule, never replaces it
            reserved = f"; {self.pattern_text or self.pattern}" if self.pattern is not None else ""
            return f"text of at most {self.max_length} characters {ONE_LINE_ALLOWED}{key}{digits}{reserved}"
        if self.kind is FieldKind.JSON:
            return json_allowed(self.name)
        return ALLOWED_TEXT[self.kind]


def line_break_problem(field: str, value: str) -> Problem | None:
    """The problem of a text of bounded length (an identifier, a code, a name, a term: a column with a
    length) that holds a line break (`cartrial.columns.LINE_BREAKS`; None: none). Such a text is one line: a
    subject id with a line break splits its CSV row, its SDTM USUBJID and the terminal line that shows it
    (D-19.137). The value is not shown (it may be anything up to the column's length)."""
    if re.search(LINE_BREAK, value) is None:
        return None
    return Problem("contains a line break", field=field, allowed=ONE_LINE_ALLOWED)


def control_character_problem(field: str, value: str) -> Problem | None:
    """The problem of a text given to a write or a query that holds a control character or is not Unicode
    text (a lone surrogate, D-19.197; its value is not shown: it cannot be printed either) (None: none); the
    import checks whole columns at once (`importing.validation`)."""
    if not is_unicode_text(value):
        return Problem("is not Unicode text", field=field, allowed=NOT_UNICODE_ALLOWED)
    if re.search(CONTROL_CHARACTERS, value) is None:
        return None
    shown = value if len(value) <= 60 else value[:57] + "…"
    return Problem(
        "contains a control character", field=field, value=shown, allowed=CONTROL_CHARACTERS_ALLOWED
    )


def named_control_character(text: str) -> str:
    """``contains U+001B <control> (a control character)``: the first control character of `text` (one
    `control_character_problem` found), named in the key rule's words (D-19.444, D-19.522)."""
    found = re.search(CONTROL_CHARACTERS, text)
    return "contains a control character" if found is None else _refused(found.group())


class KeyText(StrEnum):
    """The two tiers of key text (D-19.425), declared once per field (`FieldRule.key`, `_key_text`)."""

    IDENTIFIER = "identifier"
    """A code the study assigns (subject id, site code, user name, study or query code): the strict rule."""
    TYPED = "typed"
    """A text a site types in its own language and an import matches on (AE term, drug, analyte): only
    what hides a difference or breaks an export is refused (`key_text_fault`, D-19.443)."""


KEY_TEXT_ALLOWED = (
    "visible characters (letters, digits, punctuation, symbols) on one line, in Unicode NFC form, with "
    "single plain spaces (U+0020) only between them: no invisible, format, control, line-break or other "
    "space character"
)
"""What an identifier (`KeyText.IDENTIFIER`) allows, in words (D-19.420)."""

TYPED_KEY_TEXT_ALLOWED = (
    "text of any script on one line, in Unicode NFC form, with no space at its edges and no invisible, "
    "control or look-alike space character (in full: docs/store.md, Protected records)"
)
"""What a typed matching text (`KeyText.TYPED`) allows, in words (D-19.425, D-19.443): one sentence that
points at the rule in full (its exceptions — U+3000, joiners, variation selectors — are in docs/store.md),
as it is repeated with every refused row (D-19.452)."""


def key_text_allowed(key: KeyText) -> str:
    """What a key text of tier `key` allows, in words (D-19.420, D-19.425)."""
    return KEY_TEXT_ALLOWED if key is KeyText.IDENTIFIER else TYPED_KEY_TEXT_ALLOWED


KEY_TEXT_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Zs"})
"""Unicode general categories no key text holds (U+0020 SPACE, a Zs, excepted; a typed text also allows
U+3000 IDEOGRAPHIC SPACE and, in context, the joiners, `TYPED_KEY_SPACES`, `_joined`): control (Cc), format
(Cf: zero-width space and joiners, bidirectional overrides and marks, tags, the byte-order mark, soft
hyphen), surrogate (Cs), private use (Co), unassigned (Cn), line and paragraph separators (Zl, Zp) and
every space other than U+0020 (Zs: no-break space U+00A0, the en/em/thin spaces, ideographic space…)."""

DEFAULT_IGNORABLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0000-\U000e0fff]"
)
"""The Default_Ignorable_Code_Point characters (DerivedCoreProperties.txt; the same list from Unicode 14.0,
which added U+180F, to 15.1): characters that show nothing (UAX #44 §5.7.2). The general categories beside
it are those of the running Python's Unicode data (`unicodedata.unidata_version`, 14.0 on Python 3.11), so
a character assigned only in a later version is unassigned (Cn) here (D-19.451). Most are format
characters (Cf) or unassigned; the others are letters or marks by category — combining grapheme
joiner U+034F, the Hangul fillers U+115F/U+1160/U+3164/U+FFA0, Khmer inherent vowels, Mongolian and
other variation selectors — and show nothing either. PRECIS (RFC 8264 §9, PrecisIgnorableProperties)
disallows them in every string class."""

TYPED_KEY_SPACES = frozenset(" \u3000")
"""The spaces a typed matching text holds between words (D-19.425): U+0020 and U+3000 IDEOGRAPHIC SPACE."""

JOINERS = frozenset("\u200c\u200d")
"""ZERO WIDTH NON-JOINER and ZERO WIDTH JOINER: spelling in Arabic-script and Indic text (UAX #31 §2.3)."""

VIRAMA = 9
"""The canonical combining class of a virama (UnicodeData.txt): a joiner right after one is spelling
(RFC 5892 Appendix A.1 rule 1, A.2)."""


def joining_type(character: str) -> str:
    """The Unicode Joining_Type of `character` — ``C``, ``D``, ``L``, ``R``, ``T`` or ``U`` — from
    `joining_types.RANGES` (DerivedJoiningType.txt, generated by tools/generate_joining_types.py; Python's
    `unicodedata` has none, D-19.519)."""
    code = ord(character)
    at = bisect.bisect_right(_JOINING_STARTS, code) - 1
    if at >= 0 and code <= joining_types.RANGES[at][1]:
        return joining_types.RANGES[at][2]
    return "U"


_JOINING_STARTS = tuple(first for first, _, _ in joining_types.RANGES)

VARIATION_SELECTOR = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef]")
"""VARIATION SELECTOR-1 … -256: part of a standardized, emoji or ideographic variation sequence
(StandardizedVariants.txt, UTS #51, UTS #37 IVD) only after the character it varies."""


JOINER_OUT_OF_PLACE = "a joiner neither right after a virama nor between a letter and its virama"
NON_JOINER_OUT_OF_PLACE = "a non-joiner neither right after a virama nor between two letters that would join"
NON_JOINER_FIX = "delete it; the word usually looks the same without it"
SELECTOR_OUT_OF_PLACE = "a variation selector not after a character it varies"


_character_name = character_name
"""``U+200B ZERO WIDTH SPACE``: `cartrial.columns.character_name`, the one naming function."""


UNASSIGNED_KIND = (
    f"a code point not assigned in this installation's Unicode version, {unicodedata.unidata_version}"
)
"""Why an unassigned code point (category Cn) is refused: the categories are those of the running Python's
Unicode data (`unicodedata.unidata_version`; Python 3.11: 14.0), so a character of a later Unicode version
(a CJK Extension H ideograph of 15.0) is unassigned here (D-19.451)."""


def _refused(character: str, kind: str = "an invisible or look-alike character") -> str:
    """The one message of a refused character of a key text: ``contains U+200B ZERO WIDTH SPACE (an
    invisible or look-alike character)``; a control character, a line break and an unassigned code point
    say so (D-19.444, D-19.451)."""
    category = unicodedata.category(character)
    if character in LINE_BREAKS or category in ("Zl", "Zp"):
        kind = "a line break"
    elif category == "Cc":
        kind = "a control character"
    elif category == "Cn":
        kind = UNASSIGNED_KIND
    return f"contains {_character_name(character)} ({kind})"


def _at_edge(character: str) -> str:
    """``begins or ends with a space`` (U+0020) or ``begins or ends with U+3000 IDEOGRAPHIC SPACE``."""
    return f"begins or ends with {'a space' if character == ' ' else _character_name(character)}"


def edge_character_fault(text: str) -> str | None:
    """``begins or ends with U+00A0 NO-BREAK SPACE`` when `text` begins or ends with a character no key
    holds wherever it stands (a space other than U+0020, a format, control or other invisible character:
    `refused_character`), or None. The reason given for a value of a number, date, choice or other parsed
    field refused with such a character at an edge: only `cartrial.columns.BLANKS` are trimmed (D-19.445),
    so a no-break space pasted from a French-locale spreadsheet is refused, and the message names it
    since the value is not shown (D-12.2, D-19.447)."""
    for character in (text[:1], text[-1:]):
        if character and refused_character(character):
            return _at_edge(character)
    return None


def key_text_fault(text: str, key: KeyText = KeyText.IDENTIFIER) -> str | None:
    """Why `text` cannot be a key text of tier `key` (`FieldRule.key`), naming the first offending
    character by code point and Unicode name, or None when it can (D-19.420, D-19.425, D-19.443). A key
    that looks like another but differs in an invisible or look-alike character would enrol a second
    subject, open a second site or miss its record on re-import, so it is refused — never silently altered.
    The one key-text rule of every path (import, web form, API, `db edit`, the store's writes).

    Both tiers refuse a character of `KEY_TEXT_REFUSED_CATEGORIES` or `DEFAULT_IGNORABLE`, a space at the
    start or end and a text not in Unicode normalization form NFC (UAX #15: a letter followed by a combining
    accent that has a precomposed form, ``e`` + U+0301, is the same key as ``é``). A typed matching text
    (`KeyText.TYPED`: AE term, drug, analyte) excepts the ideographic space (`TYPED_KEY_SPACES`), a joiner
    where RFC 5892 Appendix A allows it (`_joined`) and a variation selector after a character it
    varies (`_varies`): the PRECIS FreeformClass (RFC 8264 §4.3) without its other spaces. An identifier
    (`KeyText.IDENTIFIER`) also refuses a full-width or half-width form (decomposition ``<wide>`` /
    ``<narrow>``: ``ＣＴ－００１`` typed in full-width mode looks like ``CT-001``) and two spaces in a row (a
    web page shows them as one).

    >>> key_text_fault("CT-9\\u200b02")
    'contains U+200B ZERO WIDTH SPACE (an invisible or look-alike character)'
    >>> key_text_fault("CT-902") is None
    True
    """
    typed = key is KeyText.TYPED
    if text.isascii():  # the common case: only C0 controls, DEL and spaces can be wrong
        bad = re.search(r"[\x00-\x1f\x7f]", text)
        if bad is not None:
            return _refused(bad.group())
    elif typed:  # one search; context (joiner, variation selector, U+3000) only where one stands (D-19.450)
        pattern = _refused_pattern()
        found = pattern.search(text)
        while found is not None:
            fault = _typed_character_fault(text, found.start())
            if fault is not None:
                return fault
            found = pattern.search(text, found.end())
    else:  # an identifier outside ASCII is rare: each character, with its look-alike check
        for character in text:
            fault = _identifier_character_fault(character)
            if fault is not None:
                return fault
    for edge in (text[:1], text[-1:]):
        if edge and edge in TYPED_KEY_SPACES:
            return _at_edge(edge)
    if not typed and "  " in text:
        return "contains two spaces in a row"
    return _nfc_fault(text)


def refused_character(character: str) -> bool:
    """Whether `character` is refused in any key text wherever it stands (U+0020 SPACE is not): a character
    of `KEY_TEXT_REFUSED_CATEGORIES` or `DEFAULT_IGNORABLE` (a typed text excepts some in context,
    `_typed_character_fault`). The one definition: `_refused_pattern` is generated from it."""
    return character != " " and (
        unicodedata.category(character) in KEY_TEXT_REFUSED_CATEGORIES
        or DEFAULT_IGNORABLE.match(character) is not None
    )


@cache
def _refused_pattern() -> re.Pattern[str]:
    """One character class of every character of the Basic Multilingual Plane that `refused_character`
    refuses, generated from it on first use (about 0.05 s, once per process; D-19.450), and every character
    beyond U+FFFF, which the caller judges by `refused_character` itself: `re` compiles a class of the BMP
    to a bitmap, but a class with ranges beyond it to a list it scans range by range (14 times slower)."""
    ranges: list[str] = []
    start = None
    for code in range(0x10001):
        if code < 0x10000 and refused_character(chr(code)):
            start = code if start is None else start
        elif start is not None:
            ranges.append(f"\\u{start:04x}" + ("" if code - 1 == start else f"-\\u{code - 1:04x}"))
            start = None
    return re.compile("[" + "".join(ranges) + "\\U00010000-\\U0010ffff]")


def _identifier_character_fault(character: str) -> str | None:
    """Why `character` cannot stand in an identifier (`KeyText.IDENTIFIER`), or None."""
    if refused_character(character):
        return _refused(character)
    if unicodedata.decomposition(character).startswith(("<wide>", "<narrow>")):
        plain = unicodedata.normalize("NFKC", character)
        return f"contains {_character_name(character)} (a full- or half-width look-alike of {plain!r})"
    return None


def _typed_character_fault(text: str, i: int) -> str | None:
    """Why the character at `i` cannot stand there in a typed matching text (`KeyText.TYPED`), or None."""
    character = text[i]
    if character in TYPED_KEY_SPACES or not refused_character(character):
        return None
    if character in JOINERS:
        if _joined(text, i):
            return None
        if character == "\u200d":  # where it stands, as for a non-joiner (D-19.519)
            return f"{_refused(character, JOINER_OUT_OF_PLACE)} at character {i + 1}"
        # invisible where it stands: say where, and that deleting it usually changes nothing seen (D-19.519)
        return f"{_refused(character, NON_JOINER_OUT_OF_PLACE)} at character {i + 1}: {NON_JOINER_FIX}"
    if VARIATION_SELECTOR.match(character):
        return None if _varies(text, i) else _refused(character, SELECTOR_OUT_OF_PLACE)
    return _refused(character)


def _joined(text: str, i: int) -> bool:
    """Whether the joiner at `i` stands where RFC 5892 Appendix A allows it (D-19.519): right after a
    virama (canonical combining class 9), whatever follows (A.1 rule 1, A.2: ``क्`` + ZWJ, a legacy
    Malayalam chillu ``ന്`` + ZWJ at a word's end); a ZERO WIDTH NON-JOINER also between a character of
    Joining_Type L or D and one of R or D, transparent (T) marks between skipped (A.1 rule 2:
    ``کتاب`` + ZWNJ + ``ها``). Anywhere else it changes nothing one sees (after DAL, which never joins to
    its left; between Latin letters; at an edge) and only hides a difference."""
    if i > 0 and unicodedata.combining(text[i - 1]) == VIRAMA:
        return True
    if text[i] == "\u200d":
        return _before_own_virama(text, i)
    before = i - 1
    while before >= 0 and joining_type(text[before]) == "T":
        before -= 1
    after = i + 1
    while after < len(text) and joining_type(text[after]) == "T":
        after += 1
    return (
        before >= 0
        and joining_type(text[before]) in ("L", "D")
        and after < len(text)
        and joining_type(text[after]) in ("R", "D")
    )


def _before_own_virama(text: str, i: int) -> bool:
    """Whether the ZERO WIDTH JOINER at `i` stands between a letter and a virama (canonical combining class
    9) of the same script — the Unicode Standard's encoding of a visible form, not a hidden difference
    (Core Specification ch. 12: Bengali ra + ya-phala (in "rash") = <RA, ZWJ, VIRAMA, YA> rather than
    reph; D-19.525). The script is the Unicode name's first word (``BENGALI LETTER RA``, ``BENGALI SIGN
    VIRAMA``)."""
    if i == 0 or i + 1 >= len(text):
        return False
    letter, virama = text[i - 1], text[i + 1]
    if not unicodedata.category(letter).startswith("L") or unicodedata.combining(virama) != VIRAMA:
        return False
    script = unicodedata.name(letter, "").split(" ")[0]
    return bool(script) and unicodedata.name(virama, "").split(" ")[0] == script


def _varies(text: str, i: int) -> bool:
    """Whether the variation selector at `i` follows a character it varies: a CJK ideograph (standardized
    and ideographic variation sequences, StandardizedVariants.txt and the IVD of UTS #37) or a symbol
    (text and emoji presentation, UTS #51). After a Latin letter, a digit, a space or nothing it only
    hides a difference."""
    if i == 0:
        return False
    before = text[i - 1]
    return unicodedata.category(before) in ("So", "Sm") or unicodedata.name(before, "").startswith("CJK ")


def _nfc_fault(text: str) -> str | None:
    """Why `text` is not in Unicode NFC (naming the first character that is not), or None."""
    if not text.isascii() and not unicodedata.is_normalized("NFC", text):
        odd = next(
            (c for c in text if unicodedata.combining(c) or unicodedata.normalize("NFC", c) != c), None
        )
        where = "" if odd is None else f" at {_character_name(odd)}"
        return f"not in Unicode normal form NFC{where}: type the composed character"
    return None


def key_text_problem(field: str, text: str, key: KeyText) -> Problem | None:
    """The located problem of `key_text_fault` (None: none), with what is allowed; the text is carried only
    as `Problem.value` (D-12.2)."""
    if not is_unicode_text(text):  # D-19.197: not a character of the text, and not shown
        return Problem("is not Unicode text", field=field, allowed=NOT_UNICODE_ALLOWED)
    fault = key_text_fault(text, key)
    if fault is None:
        return None
    shown = text if len(text) <= 60 else text[:57] + "…"
    return Problem(fault, field=field, value=shown, allowed=key_text_allowed(key))


def lookup_text_problem(table: str, name: str, value: str) -> Problem | None:
    """The problem of a text a read or a login looks a record up by (a filter's subject id, site code or
    query code, a user name), or None: a key field (`FieldRule.key`) by the key's own rule and words
    (`key_text_problem`), so a filter ``CT-0`` + U+200B + ``01`` is refused naming the character rather
    than matching nothing; any other field by `control_character_problem`. The value is not carried (a
    filter or user name may identify a patient or a person, D-12.2) (D-19.522)."""
    rule = field_rules(table).get(name)
    if rule is not None and rule.key is not None:
        problem = key_text_problem(f"{table}.{name}", value, rule.key)
    else:
        problem = control_character_problem(f"{table}.{name}", value)
    return None if problem is None else replace(problem, value=None)


def bounds_text(
    minimum: float | None,
    maximum: float | None,
    exclusive_minimum: bool,
    unit: str,
    kind: FieldKind = FieldKind.NUMBER,
) -> str:
    """``a number ≥ 0 and ≤ 100 %`` (the words of the parsers' refusals: `cartrial.columns.bounds_text`)."""
    return range_words(minimum, maximum, exclusive_minimum, unit, whole=kind is FieldKind.INTEGER)


def dose_levels(protocol: Protocol) -> tuple[int, ...]:
    """The dose-level numbers of the protocol (1..K)."""
    return tuple(level.level for level in protocol.dose_levels)


def titre_on_grid(text: str) -> bool:
    """Whether `text` is an AQP4-IgG end-point titre on the assay grid (or negative)."""
    try:
        parse_titre_step(text)
    except Exception:  # InputError from the parser: not a titre or off the grid
        return False
    return True


# -------------------------------------------------------------------------------------------------------
# Domain rules, by table and column
# -------------------------------------------------------------------------------------------------------

SEX_CHOICES = ("F", "M")
AQP4_STATUS_CHOICES = ("positive", "negative", "unknown")
ESCALATION_DECISIONS = ("escalate", "stay", "de-escalate", "expand", "stop")
"""Decisions of a dose-escalation step (escalate / stay / de-escalate, plus expanding a dose level and
stopping the trial; docs/science dose escalation)."""
OUTCOMES_PATTERN = r"([0-9]+[NT]+)(" + ONE_LINE_SPACE + r"+[0-9]+[NT]+)*"
"""Outcome-string notation (e.g. ``1NNN 2NTN``: dose level then one letter per patient, N = no DLT,
T = DLT; as in the R package escalation by Brock), on one line: cohorts are separated by white space that
does not end a line (`cartrial.columns.ONE_LINE_SPACE`, D-19.128)."""
AE_OUTCOMES = ("recovered", "recovering", "not_recovered", "recovered_with_sequelae", "fatal", "unknown")
WEIGHT_KG = Domain(unit="kg", minimum=0, maximum=400, exclusive_minimum=True, help="Body weight in kg.")
_COUNT = Domain(unit="cells/µL", minimum=0)
_IG = Domain(unit="g/L", minimum=0, maximum=100)
_LAB_TESTS = "cartrial.protocol.lab_tests (SDTM CT LBTESTCD C65047; sponsor PC test codes)"
_GRADING = "cartrial.grading.tables (ASTCT 2019 consensus; docs/templates/grading.md)"
_NEURO = "cartrial.neuro (Neurostatus / Wingerchuk 1999 / MSFC; docs/templates/neuro.md)"
_TITRE = Domain(
    protocol_set=ProtocolSet.AQP4_TITRE,
    digits_0_to_9=True,
    help="AQP4-IgG end-point titre of the cell-based assay.",
    source="docs/science/neuro-outcomes.md §6 (EUROIMMUN fixed CBA dilution series)",
)

MEDDRA_CODE_PATTERN = r"[0-9]{8}"
"""A MedDRA code: 8 digits (MedDRA Introductory Guide: each term, from SOC to LLT, has a unique 8-digit
numeric code); text such as ``nan`` or ``=HYPERLINK(…)`` is refused (D-19.506)."""

RESERVED_SUBJECT_IDS = ("new",)
"""Subject ids the web app's addresses take for a page of their own (``/subjects/new``: the enrolment page),
so that a subject of that id could never be opened there: refused at enrolment on every path, the subject
id's pattern (D-19.1167; tests/web/test_reserved_subject_id.py keeps it the routes' own words). Exact words:
the routes are case-sensitive, ``NEW`` is a casebook's address."""

DOMAIN_RULES: Mapping[str, Mapping[str, Domain]] = {
    "subject": {
        "subject_id": Domain(
            # any text but a reserved word (in the syntax Python and JavaScript share: no inline flag); a
            # line break is the key text rule's, which names the character (tests/store/test_key_texts.py)
            pattern=r"(?!(?:" + "|".join(map(re.escape, RESERVED_SUBJECT_IDS)) + r")(?![\s\S]))[\s\S]+",
            pattern_text=(
                "not "
                + " or ".join(f"`{word}`" for word in RESERVED_SUBJECT_IDS)
                + " (the address of the enrolment page, /subjects/new; a subject stored as `new` before:"
                + " rename it, in the templates and by an edit of its subject_id, which works once no other"
                + " record refers to it)"
            ),
        ),
        "sex": Domain(choices=SEX_CHOICES, help="Sex at birth."),
        "birth_year": Domain(
            minimum=EARLIEST_BIRTH.year, maximum=2100, help="Year of birth (no later than consent)."
        ),
        "weight_kg": WEIGHT_KG,
        "height_cm": Domain(unit="cm", minimum=30, maximum=250, help="Height in cm."),
        "aqp4_igg_status": Domain(choices=AQP4_STATUS_CHOICES, help="AQP4-IgG serostatus at screening."),
        "aqp4_igg_titre": _TITRE,
        "disposition": Domain(
            pattern=DISPOSITION_PATTERN,
            pattern_text=DISPOSITION_TEXT,
            help="Status at the last contact: ongoing (blank), completed, withdrawn, lost or death.",
            source="cartrial.protocol.disposition (SDTM CT NCOMPLT C66727; ADaMIG ADSL.EOSSTT)",
        ),
        "disposition_date": Domain(
            help="Date the study ended for the subject (required with a disposition other than ongoing).",
            source="cartrial.protocol.disposition (SDTMIG 3.4 DS.DSSTDTC; ADaMIG ADSL.EOSDT)",
        ),
    },
    "lymphodepletion_administration": {
        "dose_mg_per_m2": Domain(unit="mg/m²", minimum=0, exclusive_minimum=True),
        "dose_mg": Domain(unit="mg", minimum=0, exclusive_minimum=True),
        "body_surface_area_m2": Domain(unit="m²", minimum=0.3, maximum=3.5),
        "day_relative_to_infusion": Domain(unit="days", minimum=-60, maximum=0),
    },
    "infusion": {
        "dose_level": Domain(
            minimum=1,
            protocol_set=ProtocolSet.DOSE_LEVEL,
            help="Dose level assigned (1 = lowest), one of the protocol's levels.",
            source="protocol dose_levels",
        ),
        "weight_kg": WEIGHT_KG,
        "cells_per_kg": Domain(unit="CAR+ cells/kg", minimum=0, exclusive_minimum=True),
        "total_car_t_cells": Domain(unit="CAR+ cells", minimum=0, exclusive_minimum=True),
        "viability_pct": Domain(unit="%", minimum=0, maximum=100, help="Viability of the product (%)."),
    },
    "crs_assessment": {
        "temperature_c": Domain(
            unit="°C", minimum=TEMPERATURE_RANGE_C[0], maximum=TEMPERATURE_RANGE_C[1], source=_GRADING
        ),
        "temperature_f": Domain(
            unit="°F",
            minimum=TEMPERATURE_RANGE_C[0] * 9 / 5 + 32,
            maximum=TEMPERATURE_RANGE_C[1] * 9 / 5 + 32,
            source=_GRADING,
        ),
        "systolic_bp_mmhg": Domain(
            unit="mmHg", minimum=SBP_RANGE_MMHG[0], maximum=SBP_RANGE_MMHG[1], source=_GRADING
        ),
        "vasopressors": Domain(minimum=0, maximum=MAX_VASOPRESSORS, source=_GRADING),
        "oxygen": Domain(choices=tuple(d.value for d in OXYGEN_DEVICES), source=_GRADING),
        "oxygen_l_min": Domain(unit="L/min", minimum=0, maximum=MAX_OXYGEN_L_MIN, source=_GRADING),
        "fio2_pct": Domain(unit="%", minimum=21, maximum=100, source=_GRADING),
        "norepinephrine_ug_min": Domain(unit="µg/min", minimum=0, maximum=500, source=_GRADING),
        "dopamine_ug_kg_min": Domain(unit="µg/kg/min", minimum=0, maximum=100, source=_GRADING),
        "phenylephrine_ug_min": Domain(unit="µg/min", minimum=0, maximum=2000, source=_GRADING),
        "epinephrine_ug_min": Domain(unit="µg/min", minimum=0, maximum=500, source=_GRADING),
        "organ_toxicity_grade": Domain(minimum=0, maximum=5, source=_GRADING),
        "transaminase_grade": Domain(minimum=0, maximum=5, source=_GRADING),
    },
    "icans_assessment": {
        **{
            f"ice_{item}": Domain(minimum=0, maximum=maximum, source=_GRADING)
            for item, maximum in ICE_ITEM_MAXIMA.items()
        },
        "ice_total": Domain(minimum=0, maximum=sum(ICE_ITEM_MAXIMA.values()), source=_GRADING),
        "consciousness": Domain(choices=tuple(c.value for c in CONSCIOUSNESS_LEVELS), source=_GRADING),
        "seizure": Domain(choices=tuple(c.value for c in SEIZURE_TYPES), source=_GRADING),
        "motor": Domain(choices=tuple(c.value for c in MOTOR_FINDINGS), source=_GRADING),
        "cerebral_edema": Domain(choices=tuple(c.value for c in EDEMA_TYPES), source=_GRADING),
    },
    "therapy": {
        "therapy": Domain(choices=THERAPY_CATEGORIES, source=_GRADING),
        "dose": Domain(minimum=0, source=_GRADING),
    },
    "adverse_event": {
        "meddra_code": Domain(
            pattern=MEDDRA_CODE_PATTERN,
            pattern_text="an 8-digit MedDRA code, e.g. 10052015",
            help="MedDRA code of the event's preferred term (or lowest level term).",
            source="MedDRA Introductory Guide (every term has an 8-digit numeric code); SDTM AE.AEPTCD "
            "(D-19.506)",
        ),
        "category": Domain(choices=tuple(c.value for c in ToxicityCategory)),
        "grade": Domain(minimum=1, maximum=5, required=True, help="CTCAE grade 1-5."),
        "relatedness": Domain(choices=tuple(r.value for r in Relatedness)),
        "outcome": Domain(choices=AE_OUTCOMES),
        **{
            criterion.field: Domain(
                help=f"Seriousness criterion: the event {criterion.words} (with serious = true).",
                source=f"{SERIOUSNESS_SOURCE}; SDTM AE.{criterion.sdtm} (D-19.328)",
            )
            for criterion in SERIOUSNESS_CRITERIA
        },
    },
    "lab_result": {
        "analyte": Domain(known=tuple(LAB_TESTS), source=_LAB_TESTS),
        "lln": Domain(minimum=0),
        "uln": Domain(minimum=0),
    },
    "edss_assessment": {
        **{name: Domain(minimum=0, maximum=maximum, source=_NEURO) for name, maximum in FS_MAX.items()},
        "ambulation": Domain(minimum=0, maximum=AMBULATION_MAX, source=_NEURO),
        "walking_distance_m": Domain(unit="m", minimum=0, source=_NEURO),
        "assistance": Domain(choices=tuple(a.value for a in Assistance), source=_NEURO),
        "method": Domain(choices=tuple(m.value for m in EdssMethod), source=_NEURO),
    },
    "visual_acuity": {
        "eye": Domain(choices=EYES, source=_NEURO),
        "acuity": Domain(digits_0_to_9=True, source=_NEURO),
    },
    "osis_assessment": {
        **{name: Domain(minimum=0, maximum=maximum, source=_NEURO) for name, maximum in OSIS_MAX.items()},
        "timed_25_foot_walk_s": Domain(
            unit="s", minimum=0, maximum=T25FW_MAX_SECONDS, exclusive_minimum=True, source=_NEURO
        ),
    },
    "timed_walk": {
        name: Domain(unit="s", minimum=0, maximum=T25FW_MAX_SECONDS, exclusive_minimum=True, source=_NEURO)
        for name in ("trial_1_seconds", "trial_2_seconds")
    },
    "relapse": {"severity": Domain(choices=tuple(s.value for s in Severity), source=_NEURO)},
    "pk_sample": {
        "analyte": Domain(known=tuple(PK_ANALYTES), source=_LAB_TESTS),
        "value": Domain(
            minimum=0,
            maximum=MAX_CONCENTRATION,  # the kinetics readers' bound (D-19.499)
            help="Measured value in `unit` (blank when BLQ).",
            source="kinetics",
        ),
        "lloq": Domain(
            minimum=MIN_LLOQ, maximum=MAX_CONCENTRATION, help="Lower limit of quantification (LLOQ)."
        ),
        "nominal_day": Domain(unit="days", minimum=-60, maximum=3650),
        "actual_day": Domain(unit="days", minimum=-60, maximum=3650),
    },
    "pd_sample": {
        "aqp4_igg_titre": _TITRE,
        "cd19_b_cells_per_ul": _COUNT,
        "bcma_plasma_cells_per_ul": _COUNT,
        "igg_g_per_l": _IG,
        "iga_g_per_l": _IG,
        "igm_g_per_l": _IG,
        "nominal_day": Domain(unit="days", minimum=-60, maximum=3650),
        "actual_day": Domain(unit="days", minimum=-60, maximum=3650),
    },
    "escalation_decision": {
        "cohort": Domain(minimum=1),
        "dose_level": Domain(minimum=1, protocol_set=ProtocolSet.DOSE_LEVEL, source="protocol dose_levels"),
        "outcomes": Domain(pattern=OUTCOMES_PATTERN, pattern_text="e.g. 1NNN 2NTN (N no DLT, T DLT)"),
        # the design names a protocol can give (escalation.design), the names the replay compares (D-19.1086)
        "design": Domain(choices=DESIGNS, source="protocol escalation.design"),
        "decision": Domain(choices=ESCALATION_DECISIONS),
    },
}
"""Domain rules by table and column (columns without an entry get their database type's rule only)."""


def _kind(column: Column[Any]) -> FieldKind:
    column_type = column.type
    if isinstance(column_type, UtcDateTime):
        return FieldKind.DATETIME
    if isinstance(column_type, Boolean):
        return FieldKind.BOOLEAN
    if isinstance(column_type, Integer | StoredInteger):
        return FieldKind.INTEGER
    if isinstance(column_type, Float | StoredNumber):
        return FieldKind.NUMBER
    if isinstance(column_type, Date | StoredDate):
        return FieldKind.DATE
    if isinstance(column_type, JSON | StoredJSON):
        return FieldKind.JSON
    if isinstance(column_type, String | Text):
        return FieldKind.TEXT
    raise TypeError(f"column {column.name}: no field rule for type {column_type!r}")


INTEGER_BOUNDS = STORED_INTEGER_BOUNDS
"""The whole numbers every backend can store (`stored_dates.STORED_INTEGER_BOUNDS`, which every read of a
stored whole number applies too, D-19.1097) (PostgreSQL INTEGER is 32-bit; SQLite refuses beyond 64 bits
with a Python OverflowError): a whole-number field without a narrower declared range takes these bounds,
so that a larger value is refused as the field's rule, located, before the database sees it."""


def _bounds(kind: FieldKind, domain: Domain) -> tuple[float | None, float | None]:
    """The field's (minimum, maximum): the declared domain, within `INTEGER_BOUNDS` for whole numbers."""
    if kind is not FieldKind.INTEGER:
        return domain.minimum, domain.maximum
    low, high = INTEGER_BOUNDS
    minimum = low if domain.minimum is None else max(domain.minimum, low)
    maximum = high if domain.maximum is None else min(domain.maximum, high)
    return minimum, maximum


def _table_requires(column: Column[Any]) -> bool:
    return not column.nullable and column.default is None and column.server_default is None


NOT_TYPED_KEYS = frozenset(
    {
        ("import_manifest", "file_name"),
        ("derived_value", "engine"),
        ("derived_value", "source_table"),
        ("derived_value", "parameter"),
    }
)
"""Key columns whose text no one types: an imported file's name as the file system gave it (macOS gives
names in NFD), recorded as it was, and a derived value's engine, source table and parameter, which the
analysis layer computes and writes (never validated as input); the key-text rule does not apply
(D-19.420, D-19.426)."""


TYPED_MATCHING_KEYS = frozenset({"term", "drug", "analyte"})
"""Key columns (by name) whose text a site types in its own language and an import matches on — an AE
``term``, a lymphodepletion ``drug``, a lab or PK ``analyte``: the typed tier (`KeyText.TYPED`,
D-19.425). Every other key column is an identifier (the strict tier), so a key column added later is
strict until it is named here."""


def _key_text(table: str, column: Column[Any], kind: FieldKind, domain: Domain) -> KeyText | None:
    """Which key text the column is (`FieldRule.key`), or None: text, of the natural key or naming
    another table's record (a foreign key), not a choice (its values are already the allowed ones), not
    one of `NOT_TYPED_KEYS`; typed when named in `TYPED_MATCHING_KEYS`, else an identifier."""
    if kind is not FieldKind.TEXT or domain.choices is not None or (table, column.name) in NOT_TYPED_KEYS:
        return None
    if column.name not in STUDY_TABLES[table].natural_key and not column.foreign_keys:
        return None
    return KeyText.TYPED if column.name in TYPED_MATCHING_KEYS else KeyText.IDENTIFIER


@cache
def field_rules(table: str) -> dict[str, FieldRule]:
    """The rule of every data column of `table`, in table order (unknown table: `KeyError`)."""
    model = STUDY_TABLES[table]
    domains = DOMAIN_RULES.get(table, {})
    out: dict[str, FieldRule] = {}
    for column in model.__table__.columns:  # type: ignore[attr-defined]
        if column.name in DATABASE_COLUMNS:
            continue
        domain = domains.get(column.name, Domain())
        required = _table_requires(column) if domain.required is None else domain.required
        kind = _kind(column)
        minimum, maximum = _bounds(kind, domain)
        out[column.name] = FieldRule(
            table=table,
            name=column.name,
            kind=kind,
            required=required,
            max_length=getattr(column.type, "length", None),
            unit=domain.unit,
            minimum=minimum,
            maximum=maximum,
            exclusive_minimum=domain.exclusive_minimum,
            choices=domain.choices,
            pattern=domain.pattern,
            pattern_text=domain.pattern_text,
            protocol_set=domain.protocol_set,
            known_values=domain.known,
            key=_key_text(table, column, kind, domain),
            digits_0_to_9=domain.digits_0_to_9,
            help=domain.help or (column.doc or ""),
            source=domain.source or f"cartrial.store.models ({table})",
        )
    return out


def all_field_rules() -> dict[str, dict[str, FieldRule]]:
    """Every table's field rules (the registry the web forms and API describe)."""
    return {table: field_rules(table) for table in STUDY_TABLES}


# -------------------------------------------------------------------------------------------------------
# Rules between two fields of one record
# -------------------------------------------------------------------------------------------------------


def _year(value: Any) -> int | None:
    return value.year if isinstance(value, date) else None


def _before(first: Any, second: Any) -> bool:
    """Whether `first` is strictly before `second` (False when either is blank); a date and a date-time
    are compared by calendar day (UTC)."""
    if first is None or second is None:
        return False
    if isinstance(first, datetime) != isinstance(second, datetime):
        first = first.date() if isinstance(first, datetime) else first
        second = second.date() if isinstance(second, datetime) else second
    return bool(first < second)


def _study_ended(disposition: Any) -> bool:
    """Whether a disposition text records an end of study (a word other than ongoing; text outside the
    vocabulary is the field rule's problem, not this rule's)."""
    parsed = parse_disposition(disposition if isinstance(disposition, str) else None)
    return parsed is not None and parsed.ends_study


def _study_ongoing(disposition: Any) -> bool:
    """Whether a disposition text records that the study goes on (blank or ``ongoing``; text outside the
    vocabulary is neither: the field rule refuses it, and no date rule speaks of it, D-19.114)."""
    parsed = parse_disposition(disposition if isinstance(disposition, str) else None)
    return parsed is not None and not parsed.ends_study


_EDSS_WALKING_SOURCE = (
    "Neurostatus-EDSS ambulation score 0-16 (Kappos L, neurostatus.net); Kurtzke 1983 EDSS 4.0-7.0 by "
    "distance and aid (docs/science/neuro-outcomes.md §1.6, §1.7); D-19.741"
)
_WALKING_AIDS = frozenset((Assistance.NONE.value, Assistance.UNILATERAL.value, Assistance.BILATERAL.value))


def _kurtzke_edss(record: Mapping[str, Any]) -> bool:
    """Whether an EDSS record is scored by the Kurtzke method (its ``method``, any case; D-19.741)."""
    method = record.get("method")
    return isinstance(method, str) and method.strip().lower() == EdssMethod.KURTZKE.value


@dataclass(frozen=True)
class RecordRule:
    """A rule between fields of one record: `violated(row)` on the typed values (None = blank)."""

    id: str
    table: str
    field: str
    """The field the problem is reported on."""
    message: str
    allowed: str
    violated: Callable[[Mapping[str, Any]], bool]
    source: str = "EDC edit-check practice (logical date order)"
    reads: tuple[str, ...] = ()
    """Every field the rule reads: a record checked in part (`validate_record(partial=True)`, the live
    check) is checked by the rule when each of them is given (D-19.705); declaring none is refused at the
    rule's definition (it would never run in the live check; tests/store/test_record_rule_reads.py)."""
    live_only: bool = False
    """The rule of an engine's validator (which checks a whole record): run only on a record in part."""
    shows_value: bool = True
    """Whether the problem carries the field's value: not for a free JSON field (a whole treatment or
    relapse history; D-19.1216)."""
    detail: Callable[[Mapping[str, Any]], str] | None = None
    """The problem's message for a record that violates the rule, when it says more than `message` (the
    entry and key of a history date; never a value, D-19.1219)."""

    def __post_init__(self) -> None:
        if not self.reads:  # it would never run in the live check (D-19.705)
            raise InternalError(f"record rule {self.id} declares no field it reads (RecordRule.reads)")


def history_faults(value: Any, column: str) -> list[tuple[int, str]]:
    """`neuro.tables.history_date_faults`; none for a history that is no list of entries (the JSON field
    rule's problem, not this rule's)."""
    try:
        return history_date_faults(value, column)
    except ValueError:
        return []


def _history_detail(column: str) -> Callable[[Mapping[str, Any]], str]:
    def detail(record: Mapping[str, Any]) -> str:
        named = ", ".join(f"entry {k}: {key}" for k, key in history_faults(record.get(column), column))
        return f"a date of the {column.replace('_', ' ')} is no date: {named}"

    return detail


def _history_rule(column: str) -> RecordRule:
    keys = " and ".join(HISTORY_DATE_KEYS[column])
    return RecordRule(
        f"{column.upper().replace('_', '-')}-DATE",
        "subject",
        column,
        f"a date of the {column.replace('_', ' ')} ({keys} of an entry) is no date",
        f"each entry's {keys}: {HISTORY_DATE_ALLOWED}",
        lambda r: bool(history_faults(r.get(column), column)),
        "SDTMIG v3.4 §4.4.2 (ISO 8601 --DTC, right truncation); cartrial.neuro.tables.onset_period "
        "(D-19.711, D-19.1214, D-19.1216)",
        reads=(column,),
        shows_value=False,
        detail=_history_detail(column),
    )


RECORD_RULES: tuple[RecordRule, ...] = (
    _history_rule("treatment_history"),
    _history_rule("relapse_history"),
    RecordRule(
        "AE-END-BEFORE-START",
        "adverse_event",
        "ended_on",
        "the adverse event ends before it starts",
        "on or after started_on",
        lambda r: _before(r.get("ended_on"), r.get("started_on")),
        reads=("ended_on", "started_on"),
    ),
    RecordRule(
        "BIRTH-YEAR-AFTER-CONSENT",
        "subject",
        "birth_year",
        "birth year after the consent date",
        "no later than the year of consent_date",
        lambda r: (
            r.get("birth_year") is not None
            and _year(r.get("consent_date")) is not None
            and int(r["birth_year"]) > int(r["consent_date"].year)
        ),
        reads=("birth_year", "consent_date"),
    ),
    RecordRule(
        "BIRTH-DATE-AFTER-CONSENT",
        "subject",
        "birth_date",
        "birth date after the consent date",
        "on or before consent_date",
        lambda r: _before(r.get("consent_date"), r.get("birth_date")),
        reads=("birth_date", "consent_date"),
    ),
    RecordRule(
        "DISPOSITION-UNDATED",
        "subject",
        "disposition_date",
        "the end of study has no date",
        "the date the study ended, with a disposition other than ongoing (a subject stored without it by "
        "an earlier release: give it on the subject's record page, or `cartrial db edit subject ID --set "
        "disposition_date=YYYY-MM-DD --expected-version V --reason TEXT`, ID and V from `cartrial db "
        "records subject`; allowed whatever else the subject holds)",
        lambda r: r.get("disposition_date") is None and _study_ended(r.get("disposition")),
        "SDTMIG 3.4 DS (DSSTDTC of a disposition event); ADaMIG v1.3 ADSL.EOSDT; decisions D-19.92, D-19.249",
        reads=("disposition_date", "disposition"),
    ),
    RecordRule(
        "DISPOSITION-DATE-WITHOUT-END",
        "subject",
        "disposition_date",
        "a date of the end of study while the disposition is ongoing",
        "blank while the disposition is ongoing (or blank)",
        lambda r: r.get("disposition_date") is not None and _study_ongoing(r.get("disposition")),
        "decisions D-19.92",
        reads=("disposition_date", "disposition"),
    ),
    RecordRule(
        "DISPOSITION-BEFORE-CONSENT",
        "subject",
        "disposition_date",
        "the study ended before consent",
        "on or after consent_date",
        lambda r: _before(r.get("disposition_date"), r.get("consent_date")),
        reads=("disposition_date", "consent_date"),
    ),
    RecordRule(
        "DIAGNOSIS-AFTER-CONSENT",
        "subject",
        "diagnosis_date",
        "diagnosis dated after consent (the subject is enrolled for a diagnosed disease)",
        "on or before consent_date",
        lambda r: _before(r.get("consent_date"), r.get("diagnosis_date")),
        reads=("diagnosis_date", "consent_date"),
    ),
    RecordRule(
        "THERAPY-STOP-BEFORE-START",
        "therapy",
        "stopped_at",
        "the therapy stops before it is given",
        "on or after given_at",
        lambda r: _before(r.get("stopped_at"), r.get("given_at")),
        reads=("stopped_at", "given_at"),
    ),
    RecordRule(
        "SITE-COUNTRY-ISO",
        "site",
        "country",
        "not a country ISO 3166-1 knows (the CDISC export writes its alpha-3 code, DM.COUNTRY)",
        COUNTRY_ALLOWED,
        lambda r: isinstance(r.get("country"), str) and country_alpha3(r["country"]) is None,
        "ISO 3166-1 (SDTMIG 3.4 DM.COUNTRY); cartrial.countries",
        reads=("country",),
    ),
    RecordRule(
        "SITE-TIME-ZONE-IANA",
        "site",
        "time_zone",
        "not a time zone of the IANA database",
        "an IANA time zone such as Europe/Berlin, Asia/Shanghai or UTC",
        lambda r: isinstance(r.get("time_zone"), str) and time_zone_of(r["time_zone"]) is None,
        "IANA time zone database (Python zoneinfo); D-19.285",
        reads=("time_zone",),
    ),
    RecordRule(
        "LEUKAPHERESIS-AFTER-INFUSION",
        "infusion",
        "leukapheresis_on",
        "leukapheresis dated after the infusion of the product made from it",
        "on or before the day of infused_at",
        lambda r: _before(r.get("infused_at"), r.get("leukapheresis_on")),
        reads=("infused_at", "leukapheresis_on"),
    ),
    RecordRule(
        "PK-BLQ-AT-OR-ABOVE-LLOQ",
        "pk_sample",
        "blq",
        "the sample is flagged below the LLOQ (blq) but its value is at or above its lloq: the row "
        "contradicts itself (the analysis would read it as 0)",
        "blq true only with a value below lloq, or no value",
        lambda r: (
            r.get("blq") is not None
            and bool(r["blq"])
            and isinstance(r.get("value"), int | float)
            and isinstance(r.get("lloq"), int | float)
            and bool(blq_value_contradicts(r["value"], r["lloq"]))
        ),
        "bioanalytical method validation: the LLOQ is the lowest concentration quantified with acceptable "
        "accuracy and precision (ICH M10; FDA BMV guidance 2018); SDTMIG 3.4 PC (PCLLOQ) (D-19.165)",
        reads=("blq", "value", "lloq"),
    ),
    RecordRule(
        "CRS-FIO2-WITHOUT-OXYGEN",
        "crs_assessment",
        "fio2_pct",
        FIO2_WITHOUT_OXYGEN,
        FIO2_WITHOUT_OXYGEN_ALLOWED,
        lambda r: fio2_without_oxygen(r.get("oxygen"), r.get("fio2_pct")),
        "room air FiO2 21%; ASTCT 2019 hypoxia by the oxygen device (D-19.647)",
        reads=("oxygen", "fio2_pct"),
        live_only=True,  # a whole record: the engine's validator (`parse_crs_frame`) checks it
    ),
    RecordRule(
        "EDSS-NEUROSTATUS-AMBULATION",
        "edss_assessment",
        "ambulation",
        "value is required (a Neurostatus EDSS is scored from the ambulation score)",
        "a whole number 0-16 when method is blank or neurostatus_16",
        lambda r: not _kurtzke_edss(r) and r.get("ambulation") is None,
        _EDSS_WALKING_SOURCE,
        reads=("method", "ambulation"),
        live_only=True,  # a whole record: the engine's validator (`parse_edss_form`) checks it
    ),
    RecordRule(
        "EDSS-KURTZKE-ASSISTANCE",
        "edss_assessment",
        "assistance",
        "value is required (a Kurtzke EDSS is scored from the walking aid and distance)",
        "the walking aid or mobility level when method is kurtzke",
        lambda r: _kurtzke_edss(r) and r.get("assistance") is None,
        _EDSS_WALKING_SOURCE,
        reads=("method", "assistance"),
        live_only=True,
    ),
    RecordRule(
        "EDSS-KURTZKE-WALKING",
        "edss_assessment",
        "walking_distance_m",
        "walking distance is required for a walking patient (a Kurtzke EDSS)",
        "a number >= 0 (metres) when method is kurtzke and assistance is none, unilateral or bilateral",
        lambda r: (
            _kurtzke_edss(r) and r.get("assistance") in _WALKING_AIDS and r.get("walking_distance_m") is None
        ),
        _EDSS_WALKING_SOURCE,
        reads=("method", "assistance", "walking_distance_m"),
        live_only=True,
    ),
)
"""Every rule between fields of one record."""


def record_rules(table: str) -> tuple[RecordRule, ...]:
    return tuple(rule for rule in RECORD_RULES if rule.table == table)


# -------------------------------------------------------------------------------------------------------
# One record: `validate_record`
# -------------------------------------------------------------------------------------------------------


def cell_text(rule: FieldRule, value: Any) -> str | None:
    """The CSV text of one typed value (what the frame path validates), or None when the value cannot be
    written as text at all (NaN / infinity: refused rather than stored as blank)."""
    if value is None:
        return ""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if rule.kind is FieldKind.JSON and not isinstance(value, str):
        try:
            return json.dumps(value, default=str)
        except (TypeError, ValueError):
            return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if rule.key is not None and isinstance(value, str):
        return value  # a key is stored as given: spaces around it are refused, not trimmed (D-19.420)
    return trim_blanks(str(value))


def validate_record(
    table: str,
    values: Mapping[str, Any],
    *,
    protocol: Protocol | None,
    partial: bool = False,
) -> list[Problem]:
    """Every problem of one record of `table`: each field's rule (type, unit, range, allowed values,
    protocol-derived set, required), the rules between its fields, and the owning engine's validator of the
    form — the same code the import runs on a file (`validate_form`), on a one-row frame.

    `values` are typed (numbers, dates, aware date-times, booleans, None for blank) or text as typed in a
    form. With ``partial=True`` only the fields given are checked, each on its own (a form field checked
    while being filled in); otherwise `values` is the whole record. A NaN or infinite number is refused,
    never stored as blank. Problems name the field (`Problem.field`), the value and what is allowed.

    >>> from cartrial.store.fields import validate_record
    >>> [p.field for p in validate_record("infusion", {"viability_pct": 150}, protocol=None, partial=True)]
    ['viability_pct']
    >>> validate_record("infusion", {"viability_pct": 92.5}, protocol=None, partial=True)
    []
    """
    import pandas as pd

    from cartrial.store.importing.forms import form_for_table
    from cartrial.store.importing.validation import FormData, validate_form

    cells, problems = _cell_texts(table, values, protocol)
    form = form_for_table(table)
    columns = list(cells)
    if not partial:  # the whole record: every template column (a missing one is blank), and every other
        # column of the table given (those a template leaves out, e.g. edss.assistance, still have rules)
        template = [c.name for c in form.columns() if c.table_column is not None]
        columns = template + [name for name in cells if name not in template]
    frame = pd.DataFrame({name: [cells.get(name, "")] for name in columns}, dtype=object)
    data = FormData(spec=form, frame=frame, file="", sha256="")
    _, found = validate_form(data, protocol=protocol, partial=partial, check_keys=False)
    bad_fields = {p.field for p in problems}
    for problem in found:
        if problem.field in bad_fields:
            continue
        problems.append(replace(problem, file=None, row=None))
    return _unique(problems)


def _cell_texts(
    table: str, values: Mapping[str, Any], protocol: Protocol | None
) -> tuple[dict[str, str], list[Problem]]:
    """Each value as the text of an import cell (`cell_text`), and the problems of the fields `table` does
    not have or of numbers that are not finite: the first step of reading one record's values."""
    rules = field_rules(table)
    problems: list[Problem] = []
    cells: dict[str, str] = {}
    for name, value in values.items():
        rule = rules.get(name)
        if rule is None:
            problems.append(
                Problem(f"unknown field of {table}", field=name, value=value, allowed=choice_text(rules))
            )
            continue
        text = cell_text(rule, value)
        if text is None:
            problems.append(
                Problem("not a finite number", field=name, value=str(value), allowed=rule.allowed(protocol))
            )
            continue
        cells[name] = text
    return cells, problems


def typed_record_values(
    table: str, values: Mapping[str, Any], *, protocol: Protocol | None = None
) -> dict[str, Any]:
    """Values of some fields of `table` — text as typed (a form, ``db edit --set``) or JSON values — as
    the typed values the store writes, parsed by the import's own column parser
    (`cartrial.store.importing.validation.validate_form`, one record, only the fields given): ``"true"``
    → True, ``"38.5"`` → 38.5, ISO dates → dates; text is trimmed of `cartrial.columns.BLANKS` (other
    spaces are kept for the rules to judge, D-19.445), blank → None (a cleared field). The
    one parser of a single record's values: the web forms, the API and `cartrial db edit` call it.
    Raises `InputError` with every problem located as ``table.field`` (nothing is written)."""
    import pandas as pd

    from cartrial.errors import InputError
    from cartrial.store.importing.forms import form_for_table
    from cartrial.store.importing.validation import FormData, validate_form

    stripped = {
        name: (trim_blanks(raw) or None) if isinstance(raw, str) else raw for name, raw in values.items()
    }
    cells, problems = _cell_texts(table, stripped, protocol)
    if not problems:
        frame = pd.DataFrame({name: [text] for name, text in cells.items()}, dtype=object)
        data = FormData(spec=form_for_table(table), frame=frame, file="", sha256="")
        validated, found = validate_form(data, protocol=protocol, partial=True, check_keys=False)
        problems.extend(replace(p, file=None, row=None) for p in found)
        if validated is not None and not problems:
            return {name: column[0] for name, column in validated.columns.items()}
    raise InputError(
        [replace(p, field=f"{table}.{p.field}" if p.field else table) for p in problems],
        header=f"{table}: {len(problems)} problem(s); nothing was written",
    )


def _unique(problems: Sequence[Problem]) -> list[Problem]:
    seen: set[tuple[Any, ...]] = set()
    out: list[Problem] = []
    for problem in problems:
        key = (problem.file, problem.row, problem.field, problem.message)
        if key not in seen:
            seen.add(key)
            out.append(problem)
    return out


LOCAL_DATETIME = re.compile(r"^([0-9]{4}-[0-9]{2}-[0-9]{2})[T ]([0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?)\Z")
"""A date-time with a time of day and no offset: a clinic time (the datetime-local input's form)."""


def clinic_time(text: str) -> datetime | None:
    """The naive date-time of a clinic time typed without an offset (`LOCAL_DATETIME`): None when `text` is
    not of that form or not a real calendar date and time (``2026-02-30 10:00``, ``25:00``, ``10:61``).
    The one reading of such a text: the field rules (which refuse it without a zone, D-19.296) and
    `localize_datetime` (which reads it in a zone) both use it."""
    found = LOCAL_DATETIME.match(trim_blanks(text))
    if found is None:
        return None
    try:
        return datetime.fromisoformat(f"{found.group(1)}T{found.group(2)}")
    except ValueError:
        return None


def localize_datetime(text: str, zone: str) -> str | None:
    """A clinic time typed without an offset (`LOCAL_DATETIME`), read in the IANA `zone`, as the ISO 8601
    UTC text (``2026-11-30T09:00:00Z``) the field rules take; None when `text` is not such a time
    (`clinic_time`: not of that form, or not a real date and time), the zone unknown, or the time does not
    exist or is repeated in that zone (a daylight-saving change: an offset must then be typed). Used where
    the zone is given explicitly: the web form's zone (D-19.285) and the REDCap import's mapping `timezone`
    (REDCap date-times carry no offset; D-19.1071). A template import still refuses a time without an
    offset."""
    import datetime as dt

    naive = clinic_time(text)
    place = time_zone_of(zone)
    if naive is None or place is None:
        return None
    early, late = naive.replace(tzinfo=place, fold=0), naive.replace(tzinfo=place, fold=1)
    if early.utcoffset() != late.utcoffset():
        return None  # repeated (or skipped) hour at a daylight-saving change: ambiguous
    moment = early.astimezone(dt.UTC)
    if moment.astimezone(place).replace(tzinfo=None) != naive:
        return None  # a time that does not exist in the zone (skipped by the change)
    return moment.isoformat().replace("+00:00", "Z")


ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
ISO_DATETIME = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?([Zz]|[+-][0-9]{2}:?[0-9]{2}))?\Z"
)
"""A date, or a date-time WITH its offset (Z or ±hh:mm): a time of day without a zone is ambiguous and is
refused (docs/store.md). A bare date means that day at 00:00 UTC."""


# -------------------------------------------------------------------------------------------------------
# The study's protocol, and the check of the store's single-record writes
# -------------------------------------------------------------------------------------------------------


@cache
def _parsed_protocol(sha256: str, text: str) -> Protocol | None:
    from cartrial.errors import CartrialError
    from cartrial.protocol.model import parse_protocol

    try:
        return parse_protocol(text, "study protocol")
    except CartrialError:  # a stored protocol that no longer validates: no protocol-derived sets
        return None


def study_protocol(connection: Connection) -> Protocol | None:
    """The protocol stored with the study (parsed once per protocol SHA-256), or None before `db init`."""
    from sqlalchemy import select

    from cartrial.store.models import Study

    row = connection.execute(select(Study.protocol_sha256, Study.protocol_yaml)).first()
    if row is None or not row[1]:
        return None
    return _parsed_protocol(str(row[0]), str(row[1]))


def check_record_write(
    tx: Any,
    table: str,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any],
    record_id: int | None = None,
    *,
    fields_checked: bool = False,
    now: datetime | None = None,
) -> None:
    """Refuse (`InputError`, every problem located as ``table.field``) a single-record insert (`before`
    None) or edit of `table` whose result breaks a field rule, a rule between its fields or the owning
    engine's form validator — the rules of the import (`validate_record`).

    An edit is refused for every problem on a field it changes, and for any problem the record did not
    have before (an edit may not make a record worse; a value that was already wrong elsewhere in the
    record does not block correcting another field). Then the edit checks across forms
    (`cartrial.store.edit_checks.check_single_write`): hard ones refuse, soft ones raise data queries in
    the open transaction `tx` (the write handle).

    `fields_checked`: the field rules were already checked (`check_record_fields`) on exactly this
    `before` and `after` (`cartrial.store.writes.prevalidate_update`, outside the audit-chain lock); only
    the edit checks across forms run here. `now`: the write's one instant (`check_clock`), which the caller
    passes to its reconciliation too (D-19.621).
    """
    from cartrial.store.edit_checks import check_single_write

    if table not in STUDY_TABLES:
        return
    if not fields_checked:
        check_record_fields(tx.connection, table, before, after, record_id)
    check_single_write(tx, table, before, after, record_id, now=now)


def record_write_problems(
    table: str, before: Mapping[str, Any] | None, after: Mapping[str, Any], protocol: Protocol | None
) -> list[Problem]:
    """The problems (fields unlocated by table) that writing `after` over `before` (None: a new record) of
    `table` would be refused for: every problem of the new record (`validate_record`), and for an edit
    only those on a field it changes or absent before it (an edit may not make a record worse). The one
    judgement of `check_record_fields` (single-record writes) and `Transaction.upsert_rows` (D-19.430)."""
    rules = field_rules(table)
    record = {k: v for k, v in after.items() if k in rules}
    problems = validate_record(table, record, protocol=protocol)
    if before is not None and problems:
        old = {k: v for k, v in before.items() if k in rules}
        changed = {k for k in record if k not in old or old[k] != record[k]}
        existing = {(p.field, p.message) for p in validate_record(table, old, protocol=protocol)}
        problems = [p for p in problems if p.field in changed or (p.field, p.message) not in existing]
    return problems


def records_write_problems(
    table: str,
    writes: Sequence[tuple[Mapping[str, Any] | None, Mapping[str, Any]]],
    protocol: Protocol | None,
) -> list[list[Problem]]:
    """`record_write_problems` of each (before, after) write of `table`, in one pass: the new records are
    first checked together on one frame (`validate_form`, the import's column-wise rules); a record with
    no problem there has none on its own (the form's checks across rows, e.g. a subject's dates in order,
    only ever add problems), and only the records flagged there, or all of them when the frame gives a
    problem of no row, are judged one by one by `record_write_problems` — so the verdicts and messages
    are exactly those of single-record writes, at the import's speed for clean rows (D-19.431)."""
    import pandas as pd

    from cartrial.store.importing.forms import form_for_table
    from cartrial.store.importing.validation import FIRST_DATA_ROW, FormData, validate_form

    rules = field_rules(table)
    form = form_for_table(table)
    template = [c.name for c in form.columns() if c.table_column is not None]
    suspect = [False] * len(writes)
    groups: dict[tuple[str, ...], list[tuple[int, dict[str, str]]]] = {}
    for index, (_, after) in enumerate(writes):
        cells, problems = _cell_texts(table, {k: v for k, v in after.items() if k in rules}, protocol)
        if problems:
            suspect[index] = True
            continue
        columns = tuple(template + [name for name in cells if name not in template])
        groups.setdefault(columns, []).append((index, cells))
    for columns, members in groups.items():
        frame = pd.DataFrame(
            {name: [cells.get(name, "") for _, cells in members] for name in columns}, dtype=object
        )
        data = FormData(spec=form, frame=frame, file="", sha256="")
        _, found = validate_form(data, protocol=protocol, check_keys=False)
        flagged = {int(p.row) - FIRST_DATA_ROW for p in found if p.row is not None}
        if any(p.row is None for p in found):
            flagged = set(range(len(members)))  # a problem of the whole frame: judge every record alone
        for position in flagged:
            suspect[members[position][0]] = True
    return [
        record_write_problems(table, before, after, protocol) if bad else []
        for (before, after), bad in zip(writes, suspect, strict=True)
    ]


def check_record_fields(
    connection: Any,
    table: str,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any],
    record_id: int | None = None,
) -> None:
    """The field part of `check_record_write` (field rules, rules between fields, the engine's form
    validator: `validate_record`), on any open connection (it reads only the stored protocol); raises
    `InputError` like it."""
    from cartrial.errors import InputError

    if table not in STUDY_TABLES:
        return
    problems = record_write_problems(table, before, after, study_protocol(connection))
    if problems:
        where = f"{table} record {record_id}" if record_id is not None else f"new {table} record"
        raise InputError(
            [replace(p, field=f"{table}.{p.field}" if p.field else table) for p in problems],
            header=f"{where}: {len(problems)} problem(s); nothing was written",
        )


__all__ = [
    "DOMAIN_RULES",
    "RECORD_RULES",
    "Domain",
    "FieldKind",
    "FieldRule",
    "KeyText",
    "ProtocolSet",
    "RecordRule",
    "all_field_rules",
    "check_record_fields",
    "check_record_write",
    "dose_levels",
    "field_rules",
    "history_faults",
    "record_rules",
    "record_write_problems",
    "records_write_problems",
    "study_protocol",
    "titre_on_grid",
    "typed_record_values",
    "validate_record",
]
