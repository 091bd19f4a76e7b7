"""The pre-write validator: every rule fails on a hand-made violation, with a located finding (dataset,
variable, record), and the export refuses to write anything when a dataset has a finding."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.cdisc.spec import Codelist, DatasetSpec, Term, Variable, dataset_specs
from cartrial.cdisc.validate import Finding, is_iso8601, validate_dataset


def _spec(**changes: object) -> DatasetSpec:
    """A small findings-class SDTM spec (XX) for the tests."""
    base = {
        "name": "XX",
        "label": "Test Domain",
        "standard": "SDTMIG",
        "class": "FINDINGS",
        "structure": "One record per test per subject",
        "keys": ["STUDYID", "USUBJID", "XXTESTCD", "XXDTC"],
        "testcd": "XXTESTCD",
        "variables": [
            Variable(name="STUDYID", label="Study Identifier", core="Req", origin="Protocol"),
            Variable(name="USUBJID", label="Unique Subject Identifier", core="Req", origin="Assigned"),
            Variable(name="XXSEQ", label="Sequence Number", type="Num", core="Req", origin="Assigned"),
            Variable(name="XXTESTCD", label="Test Short Name", core="Req", origin="Assigned", codelist="TCD"),
            Variable(name="XXTEST", label="Test Name", core="Req", origin="Assigned"),
            Variable(name="XXORRES", label="Result", core="Exp"),
            Variable(name="XXDTC", label="Date/Time", core="Exp", date="iso8601"),
            Variable(name="XXDY", label="Study Day", type="Num", origin="Assigned"),
        ],
    }
    base.update(changes)
    return DatasetSpec.model_validate(base)


TERMS = {
    "TCD": Codelist(
        name="TCD",
        label="Test codes",
        nci_code="C1",
        code_source="test",
        extensible=True,
        ct_version="test",
        source="test",
        terms=(
            Term(value="AAA", unverified=True),
            Term(value="BBB", unverified=True),
            Term(value="EXTCODE", extended=True),
        ),
    ),
    "CLOSED": Codelist(
        name="CLOSED",
        label="Closed",
        nci_code="C2",
        code_source="test",
        ct_version="test",
        source="test",
        terms=(Term(value="Y", unverified=True),),
    ),
}


def _frame(rows: int = 3, **columns: list[object]) -> pd.DataFrame:
    data: dict[str, list[object]] = {
        "STUDYID": ["S"] * rows,
        "USUBJID": ["S-1"] * rows,
        "XXSEQ": [float(i + 1) for i in range(rows)],
        "XXTESTCD": ["AAA", "BBB", "EXTCODE"][:rows],
        "XXTEST": ["A test", "B test", "Extended"][:rows],
        "XXORRES": ["1", "2", "3"][:rows],
        "XXDTC": ["2021-04-27", "2021-05", "2021-04-27T10:15"][:rows],
        "XXDY": [1.0, math.nan, 1.0][:rows],
    }
    data.update(columns)
    return pd.DataFrame(data)


def _rules(findings: list[Finding]) -> set[str]:
    return {f.rule for f in findings}


def test_a_clean_frame_has_no_finding() -> None:
    assert validate_dataset(_frame(), _spec(), terms=TERMS) == []


def test_variable_name_longer_than_8_fails() -> None:
    frame = _frame().rename(columns={"XXORRES": "XXORRESULT"})
    findings = validate_dataset(frame, _spec(), terms=TERMS)
    located = [f for f in findings if f.rule == "variable-name"]
    assert located and located[0].variable == "XXORRESULT"


def test_label_longer_than_40_fails_and_is_not_truncated() -> None:
    long = "L" * 41
    findings = validate_dataset(_frame(), _spec(), labels={"XXORRES": long}, terms=TERMS)
    located = [f for f in findings if f.rule == "label-length"]
    assert located and located[0].variable == "XXORRES" and "41" in located[0].message


def test_dataset_label_longer_than_40_fails() -> None:
    findings = validate_dataset(_frame(), _spec(), dataset_label="D" * 41, terms=TERMS)
    assert "dataset-label" in _rules(findings)


def test_character_value_over_200_bytes_fails_with_the_record() -> None:
    frame = _frame(XXORRES=["1", "x" * 201, "3"])
    findings = [f for f in validate_dataset(frame, _spec(), terms=TERMS) if f.rule == "value-length"]
    assert findings and findings[0].record == 2 and findings[0].variable == "XXORRES"


def test_200_bytes_counts_bytes_not_characters() -> None:
    """100 two-byte characters = 200 bytes is at the limit (and non-ASCII, a separate finding)."""
    frame = _frame(XXORRES=["1", "é" * 100, "é" * 101])
    findings = validate_dataset(frame, _spec(), terms=TERMS)
    lengths = [f for f in findings if f.rule == "value-length"]
    assert [f.record for f in lengths] == [3]
    ascii_ = [f for f in findings if f.rule == "ascii"]
    assert ascii_ and ascii_[0].record == 2


def test_non_ascii_value_fails() -> None:
    frame = _frame(XXTEST=["A test", "B tést", "Extended"])
    findings = [f for f in validate_dataset(frame, _spec(), terms=TERMS) if f.rule == "ascii"]
    assert findings and findings[0].variable == "XXTEST" and findings[0].record == 2


def test_testcd_longer_than_8_and_test_longer_than_40_fail() -> None:
    frame = _frame(XXTESTCD=["AAA", "ABCDEFGHI", "1ABC"], XXTEST=["A", "T" * 41, "C"])
    findings = validate_dataset(frame, _spec(), terms=TERMS)
    testcd = [f for f in findings if f.rule == "testcd"]
    assert testcd and testcd[0].record == 2 and "3" in testcd[0].message  # record 3 starts with a digit
    assert [f.record for f in findings if f.rule == "test-length"] == [2]


def test_missing_required_variable_and_empty_required_value_fail() -> None:
    frame = _frame().drop(columns=["XXTEST"])
    assert any(
        f.rule == "missing-variable" and f.variable == "XXTEST"
        for f in validate_dataset(frame, _spec(), terms=TERMS)
    )
    frame = _frame(USUBJID=["S-1", "", "S-1"])
    located = [f for f in validate_dataset(frame, _spec(), terms=TERMS) if f.rule == "required-null"]
    assert located and located[0].record == 2


def test_duplicate_keys_fail() -> None:
    frame = _frame(XXTESTCD=["AAA", "AAA", "BBB"], XXDTC=["2021-04-27", "2021-04-27", "2021-04-28"])
    located = [f for f in validate_dataset(frame, _spec(), terms=TERMS) if f.rule == "duplicate-key"]
    assert located and located[0].record == 1 and "2" in located[0].message


@pytest.mark.parametrize(
    "bad", ["2021-13-01", "2021-02-30", "27/04/2021", "2021-4-27", "2021-04-27T25:00", "2021-04-27 10:00"]
)
def test_non_iso8601_dates_fail(bad: str) -> None:
    frame = _frame(XXDTC=["2021-04-27", bad, "2021"])
    located = [f for f in validate_dataset(frame, _spec(), terms=TERMS) if f.rule == "iso8601"]
    assert located and located[0].record == 2


def test_partial_dates_are_valid_iso8601() -> None:
    """ISO 8601 right truncation (SDTMIG 3.4 §4.4.2): year, year-month, date, date+hour, +minutes."""
    for text in ("2021", "2021-05", "2021-05-04", "2021-05-04T10", "2021-05-04T10:15", "2021-05-04T10:15:30"):
        assert is_iso8601(text), text
    for text in ("21", "2021-5", "2021-05-4", "2021-05-04T", "2021-00", "2021-05-04T10:60"):
        assert not is_iso8601(text), text


def test_study_day_zero_fails() -> None:
    frame = _frame(XXDY=[1.0, 0.0, -1.0])
    located = [f for f in validate_dataset(frame, _spec(), terms=TERMS) if f.rule == "day-zero"]
    assert located and located[0].record == 2


def test_seq_not_unique_within_subject_fails() -> None:
    frame = _frame(XXSEQ=[1.0, 1.0, 2.0])
    located = [f for f in validate_dataset(frame, _spec(), terms=TERMS) if f.rule == "seq-unique"]
    assert located and located[0].variable == "XXSEQ" and located[0].record == 1


def test_value_outside_codelist_fails_and_listed_extensions_pass() -> None:
    frame = _frame(XXTESTCD=["AAA", "ZZZ", "EXTCODE"])
    located = [f for f in validate_dataset(frame, _spec(), terms=TERMS) if f.rule == "codelist"]
    assert len(located) == 1 and located[0].record == 2 and "extensible" in located[0].message


def test_value_outside_a_non_extensible_codelist_fails() -> None:
    variables = [*_spec().variables, Variable(name="XXFL", label="Flag", codelist="CLOSED")]
    spec = _spec(variables=variables)
    frame = _frame(XXFL=["Y", "N", ""])
    located = [f for f in validate_dataset(frame, spec, terms=TERMS) if f.rule == "codelist"]
    assert located and located[0].record == 2 and "non-extensible" in located[0].message


def test_numeric_variable_with_text_fails() -> None:
    frame = _frame(XXDY=[1.0, "two", 3.0])
    assert any(f.rule == "type" and f.record == 2 for f in validate_dataset(frame, _spec(), terms=TERMS))


def test_variable_not_in_spec_and_wrong_order_fail() -> None:
    frame = _frame()
    frame["EXTRA"] = "x"
    assert "not-in-spec" in _rules(validate_dataset(frame, _spec(), terms=TERMS))
    swapped = _frame()[["STUDYID", "XXSEQ", "USUBJID", "XXTESTCD", "XXTEST", "XXORRES", "XXDTC", "XXDY"]]
    assert "variable-order" in _rules(validate_dataset(swapped, _spec(), terms=TERMS))


def test_a_finding_never_shows_a_record_value() -> None:
    secret = "PATIENT-NAME-" + "z" * 200
    frame = _frame(XXORRES=["1", secret, "3"])
    for f in validate_dataset(frame, _spec(), terms=TERMS):
        assert "PATIENT-NAME" not in str(f)


@settings(max_examples=property_examples(40), deadline=None)
@given(st.text(min_size=0, max_size=300))
def test_length_and_ascii_rules_agree_with_their_definitions(text: str) -> None:
    """Property: a value is flagged for length iff its UTF-8 encoding exceeds 200 bytes, and for ASCII iff
    it has a character above U+007F (independent of how the validator computes them)."""
    frame = _frame(rows=1, XXORRES=[text])
    findings = validate_dataset(frame, _spec(), terms=TERMS)
    assert ("value-length" in _rules(findings)) == (len(text.encode("utf-8")) > 200)
    assert ("ascii" in _rules(findings)) == any(ord(c) > 127 for c in text)


def test_the_export_writes_nothing_when_a_dataset_has_a_finding(exported, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A non-ASCII adverse-event term in the store makes the export fail before any file is written."""
    import sqlite3

    from cartrial.analysis import analyse
    from cartrial.cdisc.export import CdiscValidationError, export_cdisc
    from cartrial.store.snapshot import read_snapshot

    db = tmp_path / "study.db"
    db.write_bytes(Path(exported.url.removeprefix("sqlite:///")).read_bytes())
    with sqlite3.connect(db) as connection:
        connection.execute(
            "UPDATE adverse_event SET term = 'Allergy to β-lactam' "
            "WHERE id = (SELECT min(id) FROM adverse_event WHERE category = 'hematologic')"
        )
    snapshot = read_snapshot(f"sqlite:///{db}", exported.snapshot.cutoff)
    out = tmp_path / "out"
    with pytest.raises(CdiscValidationError) as caught:
        export_cdisc(snapshot, analyse(snapshot), out, sites={"TJH": "China"})
    assert not out.exists() or not any(out.rglob("*"))
    message = str(caught.value)
    assert "AE.AETERM record" in message and "[ascii]" in message
    assert "lactam" not in message


def test_every_shipped_spec_is_consistent() -> None:
    """Names and labels of the specs themselves obey the v5 limits; every codelist a spec names is shipped."""
    from cartrial.cdisc.spec import codelists

    shipped = codelists()
    for name, spec in dataset_specs().items():
        assert len(name) <= 8 and len(spec.label) <= 40 and spec.label.isascii(), name
        for v in spec.variables:
            assert len(v.name) <= 8 and len(v.label) <= 40 and v.label.isascii(), (name, v.name)
            assert v.codelist is None or v.codelist in shipped, (name, v.name, v.codelist)
            assert v.origin != "Derived" or v.method, (name, v.name)


def test_a_latin_disposition_reason_with_umlauts_is_transliterated_not_refused(  # type: ignore[no-untyped-def]
    exported, tmp_path: Path
) -> None:
    """Before (D-19.166): the store accepts "withdrawn: Rückzug (Übelkeit)" and the export refused the whole
    study (DS.DSTERM [ascii]): `ASCII_MAP` held ü but not Ü (DSTERM is upper-cased after it), nor ß, ñ, å…
    Now every Latin letter with diacritics is exported as its base letter."""
    import sqlite3

    from cartrial.analysis import analyse
    from cartrial.cdisc.export import export_cdisc
    from cartrial.store.snapshot import read_snapshot

    db = tmp_path / "study.db"
    db.write_bytes(Path(exported.url.removeprefix("sqlite:///")).read_bytes())
    with sqlite3.connect(db) as connection:
        subject, consent = connection.execute(
            "SELECT subject_id, consent_date FROM subject ORDER BY subject_id DESC LIMIT 1"
        ).fetchone()
        connection.execute(
            "UPDATE subject SET disposition = 'withdrawn: Rückzug (Übelkeit, Straße)', disposition_date = ? "
            "WHERE subject_id = ?",
            (consent, subject),
        )
    snapshot = read_snapshot(f"sqlite:///{db}", exported.snapshot.cutoff)
    result = export_cdisc(snapshot, analyse(snapshot), tmp_path / "out", sites={"TJH": "China"})
    frames = {name.upper(): frame for name, frame in result.frames.items()}
    assert "WITHDRAWN: RUCKZUG (UBELKEIT, STRASSE)" in set(frames["DS"]["DSTERM"])


@given(st.text(alphabet=st.sampled_from("äöüÄÖÜéèêÉÈñÑçÇåÅáÁíÍóÓúÚšŠžŽčČøØßæÆœŒłŁ abcXYZ"), max_size=40))
def test_latin_text_always_becomes_ascii(text: str) -> None:
    """Every Latin letter with diacritics (base letter by NFKD) and every listed letter becomes ASCII."""
    from cartrial.cdisc.common import ascii_text

    assert ascii_text(text).isascii()
    assert ascii_text(text.upper()).isascii()


def test_a_non_latin_script_is_kept_for_the_validator_to_refuse() -> None:
    from cartrial.cdisc.common import ascii_text

    assert ascii_text("撤回同意") == "撤回同意"
    assert ascii_text("β-lactam") == "β-lactam"
    assert ascii_text("Ünal Øre") == "Unal Ore"


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        # ISO 8601 durations by hand (ISO 8601-1:2019 §5.5.2: PnYnMnDTnHnMnS, or PnW alone; a T only before
        # a time component; at least one component; a leading "-" before the reference, as PCELTM writes it).
        # A fraction only on the seconds: ISO 8601 allows a decimal fraction of the lowest-order component
        # ("P1.5D"), but ODM's durationDatetime (xs:duration) allows one only on the seconds (D-19.660)
        ("P18Y", True),
        ("P1D", True),
        ("P28D", True),
        ("PT2H", True),
        ("-PT30M", True),
        ("P2W", True),
        ("P1Y2M3DT4H5M6.5S", True),
        ("PT0.5S", True),
        ("", True),  # blank: not collected
        ("P", False),
        ("PT", False),
        ("P1DT", False),
        ("P1H", False),  # hours only after T
        ("1D", False),
        ("P18 years", False),
        ("18 years", False),
        ("P1W2D", False),  # weeks do not combine with other components
        ("P1Y2W", False),
        ("P1.5D", False),
    ],
)
def test_a_duration_variable_holds_an_iso_8601_duration(text: str, valid: bool) -> None:
    spec = _spec(
        variables=[
            *_spec().variables,
            Variable(name="XXELTM", label="Elapsed Time", core="Perm", date="duration"),
        ]
    )
    frame = _frame(1, XXELTM=[text])
    rules = [(f.rule, f.variable) for f in validate_dataset(frame, spec, terms=TERMS)]
    assert (("iso8601", "XXELTM") not in rules) is valid, rules


def test_ts_agemin_and_agemax_are_iso_8601_durations() -> None:
    """TS.TSVAL of AGEMIN/AGEMAX is an ISO 8601 duration (SDTMIG 3.4 TS, Appendix C1: "P18Y"), of
    SSTDTC/SENDTC/DCUTDTC an ISO 8601 date: "75 years", "P1W2D" or "20 March 2022" is a finding naming TSVAL
    and the records; another parameter's text is not checked as one."""
    spec = dataset_specs()["TS"]
    rows = [
        ("AGEMIN", 1.0, "P18Y"),
        ("AGEMAX", 1.0, "75 years"),
        ("AGEMIN", 2.0, "P1W2D"),
        ("TITLE", 1.0, "18 years"),
        ("DCUTDTC", 1.0, "2022-03-20"),
        ("SSTDTC", 1.0, "20 March 2022"),
    ]
    frame = pd.DataFrame(
        {
            "STUDYID": "S",
            "DOMAIN": "TS",
            "TSSEQ": [r[1] for r in rows],
            "TSPARMCD": [r[0] for r in rows],
            "TSPARM": "A parameter",
            "TSVAL": [r[2] for r in rows],
        }
    )
    found = [f for f in validate_dataset(frame, spec) if f.rule == "iso8601"]
    assert [(f.variable, f.record) for f in found] == [("TSVAL", 2), ("TSVAL", 6)]
    assert "(records 2, 3)" in found[0].message
    assert "(records 6)" in found[1].message
