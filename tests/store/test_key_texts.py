"""D-19.420-D-19.422: a key text — a subject id, site code, user name, study code, query code, or the text
part of a natural key an import matches rows on (an AE term, a drug, a lab analyte) — holds no invisible or
look-alike character. ``CT-9\\u200b02`` (a zero-width space inside) enrolled a second subject that every
page and listing showed as ``CT-902``; a right-to-left override, a no-break space, a full-width form, a
decomposed accent and a space around the key did the same. Every entry path refuses it with the field,
the character's code point and name, and what is allowed; nothing is silently altered. D-19.423: free
text refuses C1 control characters as it refuses C0 ones."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.cli import main
from cartrial.errors import InputError
from cartrial.store.fields import (
    KeyText,
    field_rules,
    key_text_allowed,
    key_text_fault,
    typed_record_values,
    validate_record,
)
from cartrial.store.importing import import_templates

from .conftest import TEST_PASSWORD, StudyDb

CONFUSABLE = [
    ("CT-9\u200b02", "U+200B ZERO WIDTH SPACE"),
    ("CT-\u202e903", "U+202E RIGHT-TO-LEFT OVERRIDE"),
    ("CT\u00a0904", "U+00A0 NO-BREAK SPACE"),
    ("\ufeffCT-905", "U+FEFF ZERO WIDTH NO-BREAK SPACE"),
    ("CT-906\u2060", "U+2060 WORD JOINER"),
    ("CT\u3000907", "U+3000 IDEOGRAPHIC SPACE"),
    ("CT-\u00ad908", "U+00AD SOFT HYPHEN"),
    ("CT-9\u200e09", "U+200E LEFT-TO-RIGHT MARK"),
    ("CT-9\u3164", "U+3164 HANGUL FILLER"),
    ("\uff23\uff34-910", "U+FF23 FULLWIDTH LATIN CAPITAL LETTER C"),
]
"""Keys that look like an ordinary subject id, and the character each message must name."""

SUBJECT = {"site_id": "TJH", "consent_date": "2021-04-01"}


def _subject_ids(study: StudyDb) -> list[str]:
    return sorted(str(r["subject_id"]) for r in study.service.find_records("admin", "subject"))


@pytest.mark.parametrize(("key", "named"), CONFUSABLE)
def test_a_single_record_insert_refuses_an_invisible_character_in_a_subject_id(
    study: StudyDb, key: str, named: str
) -> None:
    before = _subject_ids(study)
    with pytest.raises(InputError) as caught:
        study.service.insert_record("admin", "subject", {"subject_id": key, **SUBJECT})
    (problem,) = caught.value.problems
    assert problem.field == "subject.subject_id"
    assert named in problem.message
    assert "U+0020" in str(problem.allowed) and "NFC" in str(problem.allowed)
    assert _subject_ids(study) == before


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("CT-911 ", "begins or ends with a space"),
        (" CT-912", "begins or ends with a space"),
        ("Guillain-Barre\u0301", "NFC at U+0301 COMBINING ACUTE ACCENT"),
        ("\u212bngstrom", "NFC at U+212B ANGSTROM SIGN"),
    ],
)
def test_spaces_around_a_key_and_a_decomposed_letter_are_refused_not_trimmed(
    study: StudyDb, key: str, message: str
) -> None:
    """The Python API stored ``CT-911 `` with its space (the field rules checked a trimmed copy), and an
    AE term typed with a separate combining accent beside the same term typed composed."""
    with pytest.raises(InputError) as caught:
        study.service.insert_record(
            "admin",
            "adverse_event",
            {"subject_id": "CT-001", "term": key, "started_on": "2021-06-01", "grade": 1},
        )
    assert [p.field for p in caught.value.problems] == ["adverse_event.term"]
    assert message in caught.value.problems[0].message
    assert study.service.find_records("admin", "adverse_event", subject_id="CT-001") == []


def test_the_import_refuses_it_at_its_file_row_and_column(study: StudyDb, tmp_path: Path) -> None:
    """A re-import of CT-001 with a zero-width space matched no record and enrolled a look-alike subject."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "subjects.csv").write_text(
        "subject_id,site_id,consent_date\nCT-001,TJH,2021-05-06\nCT-00\u200b1,TJH,2021-05-06\n",
        encoding="utf-8",
    )
    before = _subject_ids(study)
    with pytest.raises(InputError) as caught:
        import_templates(study.url, folder, "admin")
    (problem,) = caught.value.problems
    assert str(problem.file).endswith("subjects.csv") and problem.row == 3 and problem.field == "subject_id"
    assert "U+200B ZERO WIDTH SPACE" in problem.message
    assert _subject_ids(study) == before


def test_a_site_code_and_a_user_name_are_key_texts(study: StudyDb) -> None:
    with pytest.raises(InputError, match="U\\+200B ZERO WIDTH SPACE"):
        study.service.add_site("admin", "T\u200bJH", "Tongji", "CN")
    with pytest.raises(InputError, match="U\\+202E RIGHT-TO-LEFT OVERRIDE") as caught:
        study.service.add_user("admin", "ad\u202emin", "monitor", site_id=None, password=TEST_PASSWORD)
    assert caught.value.problems[0].field == "app_user.username"
    with pytest.raises(InputError) as caught:  # a reference to a site: no such site (and none can be)
        study.service.insert_record(
            "admin", "subject", {"subject_id": "CT-914", **SUBJECT, "site_id": "TJ\u00a0H"}
        )
    assert caught.value.problems[0].field == "subject.site_id"


def test_an_edit_refuses_it_and_leaves_the_record(
    sqlite_study: StudyDb, capsys: pytest.CaptureFixture[str]
) -> None:
    record = {"subject_id": "CT-001", "term": "Headache", "started_on": "2021-06-10", "grade": 1}
    record_id = sqlite_study.service.insert_record("admin", "adverse_event", record)
    args = ["db", "edit", "adverse_event", str(record_id), "--set", "term=Head\u200bache"]
    args += ["--expected-version", "1", "--reason", "typo", "--user", "admin", "--url", sqlite_study.url]
    code = main(args)
    captured = capsys.readouterr()
    assert code == 2
    assert "adverse_event.term" in captured.err and "U+200B ZERO WIDTH SPACE" in captured.err
    assert "Traceback" not in captured.err
    (stored,) = sqlite_study.service.find_records("admin", "adverse_event", subject_id="CT-001")
    assert stored["term"] == "Headache" and stored["version"] == 1


def test_ordinary_keys_in_any_script_are_accepted(study: StudyDb) -> None:
    """Refusing look-alikes does not refuse letters: accented, CJK, µ, ² and inner single spaces."""
    record_id = study.service.insert_record(
        "admin",
        "adverse_event",
        {"subject_id": "CT-001", "term": "Guillain-Barré 综合征 µ²", "started_on": "2021-06-01", "grade": 1},
    )
    assert study.service.get_record("admin", "adverse_event", record_id)["term"] == "Guillain-Barré 综合征 µ²"


KEY_CHARACTERS = st.characters(codec="utf-8", categories=("L", "M", "N", "P", "S", "Z", "C"))


@settings(max_examples=property_examples(300), deadline=None)
@given(st.text(KEY_CHARACTERS, max_size=40))
def test_any_key_text_gives_problems_never_an_exception(text: str) -> None:
    """Property: any generated text in any key field gives located problems or none, never an exception; a
    text with a character the Unicode data lists as refused wherever it stands (`_always_refused`, an
    oracle written from the standard, not the code's pattern) is always refused, in an identifier and a
    typed term (D-19.425, D-19.443); an accepted one is parsed by the form and `db edit` parser
    (`typed_record_values`) to exactly itself."""
    for table, name in [("subject", "subject_id"), ("adverse_event", "term"), ("app_user", "username")]:
        problems = validate_record(table, {name: text}, protocol=None, partial=True)
        key = KeyText.TYPED if name == "term" else KeyText.IDENTIFIER
        refused = any(_always_refused(c, key) for c in text)
        if refused:
            assert any(p.field == name for p in problems), (text, problems)
        for problem in problems:
            assert problem.field == name and problem.allowed
        if text and not problems:
            assert typed_record_values(table, {name: text}) == {name: text}


@settings(
    max_examples=property_examples(25),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(st.text(st.characters(codec="utf-8", categories=("L", "N", "P", "S")), min_size=1, max_size=30))
def test_an_accepted_key_is_stored_and_read_back_unchanged(study: StudyDb, text: str) -> None:
    """Property: a subject id the rule accepts is stored exactly as given and found by it (both backends);
    one it refuses is never stored."""
    text = unicodedata.normalize("NFC", text)[: field_rules("subject")["subject_id"].max_length]
    problems = validate_record("subject", {"subject_id": text}, protocol=None, partial=True)
    if problems:
        with pytest.raises(InputError):
            study.service.insert_record("admin", "subject", {"subject_id": text, **SUBJECT})
        return
    existing = study.service.find_records("admin", "subject", subject_id=text)
    if existing:
        return  # a drawn text equal to CT-001 (or one stored by an earlier example)
    record_id = study.service.insert_record("admin", "subject", {"subject_id": text, **SUBJECT})
    assert study.service.get_record("admin", "subject", record_id)["subject_id"] == text
    (found,) = study.service.find_records("admin", "subject", subject_id=text)
    assert found["id"] == record_id


@pytest.mark.parametrize("character", ["\x80", "\x93", "\x9f"])
def test_free_text_refuses_a_c1_control_character(study: StudyDb, character: str) -> None:
    """``\\x93quoted\\x94`` (Windows-1252 quotes read as Latin-1) was stored in a note and written to the CSV
    and SAS transport exports as two control characters."""
    values = {"subject_id": "CT-001", "onset_date": "2021-07-01", "phenotype": "myelitis"}
    with pytest.raises(InputError) as caught:
        study.service.insert_record("admin", "relapse", values | {"notes": f"a {character}quote"})
    assert [(p.field, p.message) for p in caught.value.problems] == [
        ("relapse.notes", "contains a control character")
    ]
    record_id = study.service.insert_record("admin", "relapse", values | {"notes": "tab\tand\nlines 引用"})
    assert study.service.get_record("admin", "relapse", record_id)["notes"] == "tab\tand\nlines 引用"


# D-19.425-D-19.427: two tiers of key text. Identifiers keep the strict rule; the texts an import matches
# on as typed by a site (AE term, drug, analyte) refuse only what hides a difference or breaks an export.

TYPED_TEXTS = [
    "头痛（轻度）",  # U+FF08/U+FF09 FULLWIDTH PARENTHESIS: ordinary Chinese punctuation
    "頭痛\u3000軽度",  # U+3000 IDEOGRAPHIC SPACE between Japanese words
    "کتاب\u200cها",  # U+200C ZERO WIDTH NON-JOINER: Persian plural suffix after a joining letter
    "क्\u200dष",  # U+200D ZERO WIDTH JOINER in Devanagari
    "Headache  (mild)",  # two inner spaces, as a term stored before D-19.420 reads
]


@pytest.mark.parametrize("term", TYPED_TEXTS)
def test_a_typed_term_in_any_script_is_accepted(study: StudyDb, term: str) -> None:
    """A Chinese site's ``头痛（轻度）`` was refused as holding a full-width look-alike; a Japanese term
    with an ideographic space, a Persian one with a ZWNJ and a stored term with two spaces the same."""
    record = {"subject_id": "CT-001", "term": term, "started_on": "2021-06-01", "grade": 1}
    record_id = study.service.insert_record("admin", "adverse_event", record)
    assert study.service.get_record("admin", "adverse_event", record_id)["term"] == term
    assert validate_record("lab_result", {"analyte": term}, protocol=None, partial=True) == []
    assert (
        validate_record("lymphodepletion_administration", {"drug": term}, protocol=None, partial=True) == []
    )


@pytest.mark.parametrize(
    ("term", "named"),
    [
        ("CT-9\u200b02", "U+200B ZERO WIDTH SPACE"),
        ("Head\u202eache", "U+202E RIGHT-TO-LEFT OVERRIDE"),
        ("Head\u2066ache", "U+2066 LEFT-TO-RIGHT ISOLATE"),
        ("Head\u2060ache", "U+2060 WORD JOINER"),
        ("\ufeffHeadache", "U+FEFF ZERO WIDTH NO-BREAK SPACE"),
        ("Head\u00adache", "U+00AD SOFT HYPHEN"),
        ("Head\u2028ache", "line break"),
        ("Head\x85ache", "line break"),
        ("Headache\u3000", "begins or ends with U+3000 IDEOGRAPHIC SPACE"),
        ("Headache ", "begins or ends with a space"),
        ("Guillain-Barre\u0301", "NFC"),
    ],
)
def test_a_typed_term_still_refuses_hidden_differences(study: StudyDb, term: str, named: str) -> None:
    with pytest.raises(InputError) as caught:
        study.service.insert_record(
            "admin",
            "adverse_event",
            {"subject_id": "CT-001", "term": term, "started_on": "2021-06-01", "grade": 1},
        )
    assert [p.field for p in caught.value.problems] == ["adverse_event.term"]
    assert named in caught.value.problems[0].message
    assert study.service.find_records("admin", "adverse_event", subject_id="CT-001") == []


@pytest.mark.parametrize("key", ["头痛（轻度）", "CT\u3000907", "CT\u200c908", "CT  909"])
def test_an_identifier_keeps_the_strict_rule(key: str) -> None:
    problems = validate_record("subject", {"subject_id": key}, protocol=None, partial=True)
    assert [p.field for p in problems] == ["subject_id"]


def test_a_reimport_of_a_term_with_two_spaces_is_accepted(study: StudyDb, tmp_path: Path) -> None:
    """A term stored as ``Headache  (mild)`` before D-19.420 made the unchanged file refused as a whole."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "adverse_events.csv").write_text(
        "subject_id,term,started_on,grade\n"
        "CT-001,Headache  (mild),2021-06-01,1\nCT-001,头痛（轻度）,2021-06-02,1\n",
        encoding="utf-8",
    )
    import_templates(study.url, folder, "admin")
    import_templates(study.url, folder, "admin")  # the same file again: matched, not duplicated
    stored = study.service.find_records("admin", "adverse_event", subject_id="CT-001")
    assert sorted(r["term"] for r in stored) == sorted(["Headache  (mild)", "头痛（轻度）"])


def test_computed_derived_value_texts_are_not_key_texts() -> None:
    rules = field_rules("derived_value")
    assert [n for n in ("engine", "source_table", "parameter") if rules[n].key] == []
    assert rules["subject_id"].key


@settings(max_examples=property_examples(400), deadline=None)
@given(st.text(KEY_CHARACTERS, max_size=30))
def test_the_typed_tier_accepts_every_identifier(text: str) -> None:
    """Property: the typed-text tier is a relaxation: what an identifier accepts, a term accepts."""
    if key_text_fault(text, KeyText.IDENTIFIER) is None:
        assert key_text_fault(text, KeyText.TYPED) is None


# D-19.443-D-19.445: the typed tier refuses every invisible character but the joiners between letters of a
# script written with them and a variation selector after a character it varies; a control character or
# line break in a key is named like every other refused character; a cell's other spaces are not trimmed.

DEFAULT_IGNORABLE = [
    *range(0x00AD, 0x00AE),
    0x034F,
    0x061C,
    0x115F,
    0x1160,
    0x17B4,
    0x17B5,
    *range(0x180B, 0x1810),
    *range(0x200B, 0x2010),
    *range(0x202A, 0x202F),
    *range(0x2060, 0x2070),
    0x3164,
    *range(0xFE00, 0xFE10),
    0xFEFF,
    0xFFA0,
    *range(0xFFF0, 0xFFF9),
    *range(0x1BCA0, 0x1BCA4),
    *range(0x1D173, 0x1D17B),
    *range(0xE0000, 0xE1000),
]
"""Default_Ignorable_Code_Point, written out from Unicode 15.1 DerivedCoreProperties.txt (the test's own
list, not the code's): characters that show nothing unless a font has a reason to (UAX #44 §5.7.2)."""

JOINERS = {0x200C, 0x200D}
VARIATION_SELECTORS = {*range(0xFE00, 0xFE10), *range(0xE0100, 0xE01F0)}
OTHER_SPACES_ALLOWED = {0x0020, 0x3000}  # D-19.425: a plain space and the ideographic space


def _always_refused(character: str, key: KeyText) -> bool:
    """Independent oracle: a character a key text of tier `key` refuses wherever it stands — a control,
    format, surrogate, private-use, unassigned or line/paragraph separator character (UnicodeData general
    category), a space other than U+0020 (a typed text: or U+3000), or a default-ignorable one; the
    joiners and variation selectors, allowed in context in a typed text, are judged by the caller."""
    code = ord(character)
    if key is KeyText.TYPED and code in JOINERS | VARIATION_SELECTORS:
        return False
    category = unicodedata.category(character)
    spaces = {0x0020} if key is KeyText.IDENTIFIER else OTHER_SPACES_ALLOWED
    if category == "Zs":
        return code not in spaces
    return category in {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"} or code in DEFAULT_IGNORABLE


INVISIBLE_IN_A_TERM = [
    ("Head\u200eache", "U+200E LEFT-TO-RIGHT MARK"),
    ("Head\u200fache", "U+200F RIGHT-TO-LEFT MARK"),
    ("Head\u061cache", "U+061C ARABIC LETTER MARK"),
    ("Headache\U000e0041", "U+E0041 TAG LATIN CAPITAL LETTER A"),
    ("Head\u2062ache", "U+2062 INVISIBLE TIMES"),
    ("Head\u034fache", "U+034F COMBINING GRAPHEME JOINER"),
    ("He\ufe00adache", "U+FE00 VARIATION SELECTOR-1"),
    ("\ufe0fHeadache", "U+FE0F VARIATION SELECTOR-16"),
    ("Head\U000e0100ache", "U+E0100 VARIATION SELECTOR-17"),
    ("Head\ue000ache", "U+E000 <private use>"),
    ("Head\u115fache", "U+115F HANGUL CHOSEONG FILLER"),
    ("Head\u1160ache", "U+1160 HANGUL JUNGSEONG FILLER"),
    ("Head\u3164ache", "U+3164 HANGUL FILLER"),
    ("Head\uffa0ache", "U+FFA0 HALFWIDTH HANGUL FILLER"),
    ("Head\u00a0ache", "U+00A0 NO-BREAK SPACE"),
    ("Head\u202fache", "U+202F NARROW NO-BREAK SPACE"),
    ("Head\u2009ache", "U+2009 THIN SPACE"),
    ("\u200dHeadache", "U+200D ZERO WIDTH JOINER"),
    ("سردرد\u200c", "U+200C ZERO WIDTH NON-JOINER"),
    ("Head\u200dache", "U+200D ZERO WIDTH JOINER"),  # Latin is not written with joiners
    ("سردرد\u200cها", "U+200C ZERO WIDTH NON-JOINER"),  # after DAL, which never joins (D-19.519)
    ("ب\u200dب", "U+200D ZERO WIDTH JOINER"),  # ZWJ between Arabic letters: after a virama only
    ("क\u200d ष", "U+200D ZERO WIDTH JOINER"),  # after a letter (no virama), before a space
]


@pytest.mark.parametrize(("term", "named"), INVISIBLE_IN_A_TERM)
def test_a_typed_term_refuses_every_invisible_character(term: str, named: str) -> None:
    """``Head\\u200eache`` (a left-to-right mark inside) and 20 other invisible characters were accepted in
    an AE term beside ``Headache``: two terms that look the same, and a re-import that matches neither."""
    problems = validate_record("adverse_event", {"term": term}, protocol=None, partial=True)
    assert [p.field for p in problems] == ["term"], problems
    assert named in problems[0].message and term not in problems[0].message
    assert problems[0].allowed == key_text_allowed(KeyText.TYPED)


@pytest.mark.parametrize(
    "term",
    [
        "کتاب\u200cها",  # ZWNJ between Persian letters that would join (D-19.519)
        "می\u200cخواهم",
        "क्\u200dष",  # ZWJ after a Devanagari virama
        "क्\u200d ष",  # after a virama whatever follows (RFC 5892 A.1/A.2): before a space
        "क्\u200d",  # … and at the end
        "അവന്\u200d",  # legacy Malayalam chillu: virama + ZWJ at the end of a word
        "ক্\u200cষ",  # ZWNJ after a Bengali virama
        "葛\U000e0100城",  # an ideographic variation sequence (IVD, UTS #37)
        "頭痛\u3000軽度",
        "头痛（轻度）",
    ],
)
def test_a_typed_term_keeps_the_joiners_and_variation_sequences_of_its_script(term: str) -> None:
    assert key_text_fault(term, KeyText.TYPED) is None


CONTROL_IN_A_KEY = [("CT-9\x0702", "U+0007 <control>"), ("CT-9\x1b02", "U+001B <control>")]


@pytest.mark.parametrize(("key", "named"), CONTROL_IN_A_KEY)
def test_a_control_character_in_a_key_is_named_like_any_refused_character(
    study: StudyDb, key: str, named: str, tmp_path: Path
) -> None:
    """A bell or escape in a subject id was refused as "contains a control character" (with the free-text
    allowed words) by the store's writes and the import, while every other refused character of a key was
    named by code point: one message family for every key-text refusal."""
    with pytest.raises(InputError) as caught:
        study.service.insert_record("admin", "subject", {"subject_id": key, **SUBJECT})
    (problem,) = caught.value.problems
    assert problem.message == f"contains {named} (a control character)"
    assert problem.allowed == key_text_allowed(KeyText.IDENTIFIER)
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "subjects.csv").write_text(f"subject_id,site_id,consent_date\n{key},TJH,2021-05-06\n")
    with pytest.raises(InputError) as caught:
        import_templates(study.url, folder, "admin")
    (problem,) = caught.value.problems
    assert problem.message == f"contains {named} (a control character)" and problem.row == 2
    assert problem.allowed == key_text_allowed(KeyText.IDENTIFIER)


def test_a_line_break_in_a_key_is_named_like_any_refused_character() -> None:
    problems = validate_record("subject", {"subject_id": "CT-9\u202802"}, protocol=None, partial=True)
    assert [p.message for p in problems] == ["contains U+2028 LINE SEPARATOR (a line break)"]


@pytest.mark.parametrize("space", ["\u00a0", "\u3000", "\u2003", "\u202f"])
def test_a_cell_keeps_a_space_other_than_a_blank_and_the_key_rule_refuses_it(
    study: StudyDb, tmp_path: Path, space: str
) -> None:
    """``CT-001\\u00a0`` in a file was trimmed to ``CT-001`` by the CSV reader (Python's `str.strip`
    trims every Unicode space) and so matched CT-001 silently, while the same key from the Python API
    was refused; a note ending in a no-break space lost it."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "subjects.csv").write_text(f"subject_id,site_id,consent_date\nCT-001{space},TJH,2021-05-06\n")
    with pytest.raises(InputError) as caught:
        import_templates(study.url, folder, "admin")
    (problem,) = caught.value.problems
    assert problem.field == "subject_id" and problem.row == 2
    assert f"U+{ord(space):04X}" in problem.message
    with pytest.raises(InputError):  # `db edit`, web forms and the API parse text the same way
        typed_record_values("subject", {"subject_id": f"CT-001{space}"})
    assert typed_record_values("relapse", {"notes": f"a note{space}"}) == {"notes": f"a note{space}"}
    assert typed_record_values("relapse", {"notes": " \ta note\r\n"}) == {"notes": "a note"}


@settings(max_examples=property_examples(400), deadline=None)
@given(
    st.text(
        st.one_of(KEY_CHARACTERS, st.sampled_from([chr(c) for c in DEFAULT_IGNORABLE[:200]])),
        max_size=30,
    )
)
@example("a\ufe00")  # a variation selector after a Latin letter (category Mn): not in the alphabet
def test_the_key_rule_refuses_what_the_standard_lists(text: str) -> None:
    """Property, against an oracle written from the Unicode data (not the code's pattern): a key holding a
    character refused wherever it stands (`_always_refused`) is refused in both tiers; a typed text of
    letters, digits, marks, punctuation and symbols with single inner spaces, in NFC, is accepted."""
    for key in (KeyText.IDENTIFIER, KeyText.TYPED):
        if any(_always_refused(c, key) for c in text):
            assert key_text_fault(text, key) is not None, (key, text)
    words = text.split(" ")
    if (
        all(
            w
            and all(
                unicodedata.category(c)[0] in "LNPSM"
                and not _always_refused(c, KeyText.TYPED)
                and ord(c) not in JOINERS | VARIATION_SELECTORS  # allowed in context only
                for c in w
            )
            for w in words
        )
        and unicodedata.is_normalized("NFC", text)
        and unicodedata.category(text[0])[0] != "M"
    ):
        assert key_text_fault(text, KeyText.TYPED) is None, text


PATH_CASES = [("Head\u200eache", "U+200E LEFT-TO-RIGHT MARK"), ("Head\x07ache", "U+0007 <control>")]


@pytest.mark.parametrize(("term", "named"), PATH_CASES)
def test_every_write_path_gives_the_one_key_text_message(
    sqlite_study: StudyDb, tmp_path: Path, capsys: pytest.CaptureFixture[str], term: str, named: str
) -> None:
    """The import, a single-record insert, the API's bulk write (`Transaction.upsert_rows`), the form and
    `db edit` parser (`typed_record_values`) and `db edit` itself refuse the term with the same message."""
    service = sqlite_study.service
    record = {"subject_id": "CT-001", "term": term, "started_on": "2021-06-01", "grade": 1}
    messages: list[str] = []
    with pytest.raises(InputError) as caught:
        service.insert_record("admin", "adverse_event", record)
    messages += [p.message for p in caught.value.problems]
    with (
        pytest.raises(InputError) as caught,
        service.as_user("admin").transaction(source="feed", reason="feed") as tx,
    ):
        tx.upsert_rows("adverse_event", [record])
    messages += [p.message for p in caught.value.problems]
    with pytest.raises(InputError) as caught:
        typed_record_values("adverse_event", {"term": term})
    messages += [p.message for p in caught.value.problems]
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "adverse_events.csv").write_text(
        f"subject_id,term,started_on,grade\nCT-001,{term},2021-06-01,1\n"
    )
    with pytest.raises(InputError) as caught:
        import_templates(sqlite_study.url, folder, "admin")
    messages += [p.message for p in caught.value.problems]
    record_id = service.insert_record("admin", "adverse_event", record | {"term": "Headache"})
    args = ["db", "edit", "adverse_event", str(record_id), "--set", f"term={term}", "--expected-version", "1"]
    assert main([*args, "--reason", "typo", "--user", "admin", "--url", sqlite_study.url]) == 2
    assert f"contains {named}" in capsys.readouterr().err
    assert set(messages) == {f"contains {named} ({_kind(term)})"}, messages


def _kind(term: str) -> str:
    return "a control character" if "\x07" in term else "an invisible or look-alike character"


# D-19.446-D-19.452


def test_an_unassigned_character_is_named_by_the_installation_s_unicode_version() -> None:
    """U+31350, a CJK Extension H ideograph of Unicode 15.0, is unassigned in an older runtime's data: the
    message said "<unassigned> (an invisible or look-alike character)"."""
    character = "\U00031350"
    if unicodedata.category(character) != "Cn":
        pytest.skip("this runtime's Unicode data assigns U+31350")
    fault = key_text_fault(f"头痛{character}", KeyText.TYPED)
    assert fault is not None
    assert "U+31350" in fault and "invisible" not in fault
    assert f"not assigned in this installation's Unicode version, {unicodedata.unidata_version}" in fault


@pytest.mark.parametrize(
    ("text", "key", "named"),
    [
        ("頭痛\u3000", KeyText.TYPED, "U+3000 IDEOGRAPHIC SPACE"),
        ("\u3000頭痛", KeyText.TYPED, "U+3000 IDEOGRAPHIC SPACE"),
        ("Headache ", KeyText.TYPED, "a space"),
        ("CT-001 ", KeyText.IDENTIFIER, "a space"),
    ],
)
def test_a_space_at_an_edge_is_named(text: str, key: KeyText, named: str) -> None:
    assert key_text_fault(text, key) == f"begins or ends with {named}"


def test_the_typed_tier_s_allowed_text_is_one_sentence_pointing_at_the_rule() -> None:
    """The typed tier's allowed text (~560 characters) was repeated in every refused row."""
    allowed = key_text_allowed(KeyText.TYPED)
    assert len(allowed) < 200 and "docs/store.md" in allowed
    assert allowed.count(". ") == 0 and ";" not in allowed


def test_the_generated_character_class_is_the_predicate() -> None:
    """The typed tier searches one character class generated from `refused_character` (D-19.450): it must
    hold exactly the BMP characters the predicate refuses (and hand every other plane to the predicate)."""
    from cartrial.store.fields import _refused_pattern, refused_character

    pattern = _refused_pattern()
    assert all(
        (pattern.fullmatch(chr(code)) is not None) == refused_character(chr(code)) for code in range(0x10000)
    )
    assert pattern.fullmatch("\U0001f600") and pattern.fullmatch("\U000e0041")
