"""No problem message ever quotes a record's value (the project rule: an error, log or note names the file,
row, field and what is allowed — never the value).

Every engine table parser is fed bad rows holding distinctive sentinel values (987654.321, 'ZZSENTINEL',
dates and in-range numbers no constant of the engines uses), and the text of every problem it reports —
message, allowed values, field — and every note or warning it returns is searched for them. The value
given stays only in `Problem.value` (shown by the command line as "(got …)" for the user's own file, and
removed by the analysis, `cartrial.analysis.safety`). Each case also checks that the bad rows were found,
so that a parser that stopped reporting would fail here rather than pass unseen.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import pandas as pd
import pytest

from cartrial.columns import RowProblems
from cartrial.errors import CartrialError, InputError, Problem

NUMBER = "987654.321"
TEXT = "ZZSENTINEL"
DATE = "2031-07-19"
"""A date later than every other date of the cases (and than any constant of the engines)."""


@dataclass(frozen=True)
class Found:
    """What a parser reported for bad input: its located problems and any notes or warnings."""

    problems: list[Problem]
    notes: tuple[str, ...] = ()


def _frame(rows: list[dict[str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, dtype=object).fillna("")


def _parsed(parse: Callable[..., object], rows: list[dict[str, str]], **options: object) -> Found:
    problems = RowProblems("form.csv")
    parse(_frame(rows), problems, **options)
    return Found(problems.all())


def _raised(call: Callable[[], object]) -> Found:
    with pytest.raises(InputError) as info:
        call()
    return Found(info.value.problems)


CRS_OK = {
    "subject_id": "S1",
    "assessed_at": "2024-01-11T08:00:00Z",
    "temperature_c": "38.5",
    "fever_masked": "false",
    "hypotension": "false",
    "vasopressors": "0",
    "vasopressin": "false",
    "oxygen": "none",
    "oxygen_l_min": "",
}
ICANS_OK = {
    "subject_id": "S1",
    "assessed_at": "2024-01-11T08:00:00Z",
    "ice_orientation": "4",
    "ice_naming": "3",
    "ice_command": "1",
    "ice_writing": "1",
    "ice_attention": "1",
    "ice_total": "",
    "consciousness": "alert",
    "seizure": "none",
    "motor": "none",
    "cerebral_edema": "none",
}
LAB_OK = {
    "subject_id": "S1",
    "collected_at": "2024-01-11T07:00:00Z",
    "analyte": "neutrophils",
    "value": "1.2",
    "unit": "10^9/L",
    "lln": "1.8",
}


def grading_crs() -> Found:
    from cartrial.grading.tables import parse_crs_frame

    return _parsed(
        parse_crs_frame,
        [
            {**CRS_OK, "temperature_c": NUMBER},
            {**CRS_OK, "assessed_at": TEXT, "oxygen": TEXT, "vasopressin": TEXT},
            # both temperatures given, disagreeing (39.987 °C is not 98.7654 °F)
            {**CRS_OK, "temperature_c": "39.987", "temperature_f": "98.7654"},
            {**CRS_OK, "vasopressors": "3"},  # vasopressors without hypotension
            {**CRS_OK, "oxygen_l_min": "7.654"},  # flow with oxygen=none
        ],
        sbp_threshold_mmhg=90,
    )


def grading_icans() -> Found:
    from cartrial.grading.tables import parse_icans_frame

    return _parsed(
        parse_icans_frame,
        [
            {**ICANS_OK, "ice_orientation": NUMBER, "consciousness": TEXT},
            # items summing to 8 with a total of 3
            {**ICANS_OK, "ice_naming": "2", "ice_attention": "0", "ice_total": "3"},
            # an unarousable patient scoring 7
            {**ICANS_OK, **dict.fromkeys(("ice_orientation", "ice_naming", "ice_command"), "")}
            | {"ice_writing": "", "ice_attention": "", "ice_total": "7", "consciousness": "unarousable"},
        ],
    )


def grading_labs() -> Found:
    from cartrial.grading import derive_lab_grades

    result = derive_lab_grades(
        _frame(
            [
                {**LAB_OK, "value": NUMBER},  # implausible, graded with a warning
                {**LAB_OK, "unit": TEXT, "analyte": "platelets"},
                {**LAB_OK, "lln": TEXT, "collected_at": "2024-01-12T07:00:00Z"},
            ]
        ),
        keep_going=True,
        file="labs.csv",
    )
    return Found(list(result.problems), tuple(result.notes))


def grading_infusions() -> Found:
    from cartrial.grading.tables import parse_infusions_frame

    return _parsed(
        parse_infusions_frame,
        [{"subject_id": TEXT, "infused_at": "2024-01-10"}, {"subject_id": TEXT, "infused_at": NUMBER}],
    )


def grading_therapies() -> Found:
    from cartrial.grading.tables import parse_therapies_frame

    row = {"subject_id": "S1", "given_at": "2024-01-12T10:00Z", "therapy": "tocilizumab", "dose": "8"}
    return _parsed(
        parse_therapies_frame, [{**row, "therapy": TEXT}, {**row, "dose": NUMBER, "given_at": TEXT}]
    )


def neuro_edss() -> Found:
    from cartrial.neuro.tables import parse_edss_table

    row = {"subject_id": "S1", "assessed_at": "2024-01-10", "visual": "1", "brainstem": "1", "pyramidal": "1"}
    row |= {"cerebellar": "1", "sensory": "1", "bowel_bladder": "1", "cerebral": "1", "ambulation": "0"}
    return _parsed(
        parse_edss_table,
        [
            {**row, "assessed_at": DATE},
            {**row, "assessed_at": "2024-01-10", "pyramidal": NUMBER},  # before the row above
            {**row, "assessed_at": "2024-02-10", "ambulation": TEXT},
            {**row, "assessed_at": "2024-03-10", "visual": "17"},
        ],
    )


def neuro_visual_acuity() -> Found:
    from cartrial.neuro.tables import parse_va_table

    row = {"subject_id": "S1", "assessed_at": "2024-01-10", "eye": "OD", "acuity": "20/40"}
    return _parsed(
        parse_va_table,
        [
            {**row, "acuity": TEXT},
            {**row, "assessed_at": "2024-02-10", "eye": TEXT},
            {**row, "assessed_at": "2024-03-10", "acuity": NUMBER},
            {**row, "assessed_at": "2024-03-10"},  # the same subject, eye and date twice
        ],
    )


def neuro_osis() -> Found:
    from cartrial.neuro.tables import parse_osis_table

    row = {"subject_id": "S1", "assessed_at": "2024-01-10", "visual_od": "1", "visual_os": "1", "motor": "1"}
    row |= {"sensory": "1", "sphincter": "1"}
    return _parsed(
        parse_osis_table,
        [{**row, "motor": NUMBER}, {**row, "assessed_at": DATE, "sensory": TEXT}],
        cutoff=date(2030, 1, 1),
    )


def neuro_relapses() -> Found:
    from cartrial.neuro.tables import parse_relapse_table

    row = {"subject_id": "S1", "onset_date": "2020-07-10", "phenotype": "myelitis", "severity": "severe"}
    return _parsed(
        parse_relapse_table,
        [
            {**row, "phenotype": TEXT, "birth_date": ""},
            {**row, "onset_date": "2020-08-10", "severity": TEXT, "birth_date": ""},
            {**row, "onset_date": "1980-01-01", "birth_date": "1987-06-05"},  # before birth
            {
                **row,
                "subject_id": "S2",
                "onset_date": "1979-02-03",
                "birth_date": "",
            },  # before the subjects file
        ],
        birth_dates={"S1": date(1987, 6, 5), "S2": date(1986, 4, 3)},
    )


def neuro_timed_walk() -> Found:
    from cartrial.neuro.tables import parse_timed_walk_table

    row = {
        "subject_id": "S1",
        "assessed_at": "2024-01-10",
        "trial_1_seconds": "9.8",
        "trial_2_seconds": "10.2",
    }
    return _parsed(
        parse_timed_walk_table,
        [
            {**row, "trial_1_seconds": NUMBER, "unable_to_walk": "false"},
            {**row, "assessed_at": "2024-02-10", "trial_2_seconds": "12.345", "unable_to_walk": "true"},
            {**row, "assessed_at": "2024-03-10", "unable_to_walk": TEXT},
        ],
    )


def neuro_infusions() -> Found:
    from cartrial.neuro.tables import parse_infusion_table

    return _parsed(
        parse_infusion_table,
        [{"subject_id": TEXT, "infused_at": DATE}, {"subject_id": TEXT, "infused_at": NUMBER}],
    )


def neuro_birth_dates() -> Found:
    from cartrial.neuro.tables import parse_birth_dates

    return _parsed(parse_birth_dates, [{"subject_id": "S1", "birth_year": NUMBER}])


def neuro_follow_up() -> Found:
    from cartrial.neuro.relapses import SubjectFollowUp, annualised_relapse_rates

    follow_up = [SubjectFollowUp("S1", date(2031, 7, 19), date(2029, 3, 17))]
    return _raised(lambda: annualised_relapse_rates([], follow_up))


def neuro_titre() -> Found:
    from cartrial.neuro.titres import parse_titre_step

    return _raised(lambda: parse_titre_step(TEXT))


def kinetics_profiles() -> Found:
    from cartrial.kinetics.frames import validate_profiles

    frame = _frame(
        [
            {"subject_id": "S1", "day": "1", "value": NUMBER[1:] + "-", "unit": "copies/ug"},
            {"subject_id": "S1", "day": TEXT, "value": "5", "unit": "copies/ug"},
            {"subject_id": TEXT, "day": "2", "value": "5", "unit": "copies/ug"},
            {"subject_id": TEXT, "day": "2", "value": "6", "unit": "copies/ug"},  # duplicate time
        ]
    )
    _, problems = validate_profiles(
        frame, subject="subject_id", time="day", conc="value", unit_column="unit", keep_going=True
    )
    return Found(problems.all())


def kinetics_nca() -> Found:
    from cartrial.kinetics.nca import nca

    frame = pd.DataFrame(
        {"id": [TEXT, TEXT, "S2", "S2"], "t": [0.0, 0.0, 1.0, 2.0], "c": [1.0, 2.0, -987654.321, TEXT]}
    )
    return _raised(
        lambda: nca(frame, subject="id", time="t", conc="c", time_unit="day", conc_unit="copies/ug")
    )


def kinetics_titre() -> Found:
    from cartrial.kinetics.pd import parse_titre

    with pytest.raises(CartrialError) as info:
        parse_titre(TEXT)
    return Found([Problem(str(info.value))])


def escalation_outcomes() -> Found:
    from cartrial.escalation.outcomes import parse_outcomes

    return _raised(lambda: parse_outcomes(f"1NNN 1{TEXT} 9NNN 1NQN", 5))


CASES: dict[str, tuple[Callable[[], Found], tuple[str, ...], set[int | None]]] = {
    # name: (parser on bad input, sentinels, spreadsheet rows that must have a problem)
    "grading crs": (grading_crs, (NUMBER, TEXT, "39.987", "98.7654", "7.654", "987654"), {2, 3, 4, 5, 6}),
    "grading icans": (grading_icans, (NUMBER, TEXT, "987654", "(8)", "ICE 7"), {2, 3, 4}),
    "grading labs": (grading_labs, (NUMBER, TEXT, "987654"), {3, 4}),
    "grading infusions": (grading_infusions, (NUMBER, TEXT), {3}),
    "grading therapies": (grading_therapies, (NUMBER, TEXT), {2, 3}),
    "neuro edss": (neuro_edss, (NUMBER, TEXT, DATE), {3, 4, 5}),
    "neuro visual acuity": (neuro_visual_acuity, (NUMBER, TEXT, "and OD"), {2, 3, 4, 5}),
    "neuro osis": (neuro_osis, (NUMBER, TEXT, DATE), {2, 3}),
    "neuro relapses": (neuro_relapses, (TEXT, "1987-06-05", "1986-04-03", "1980", "1979"), {2, 3, 4, 5}),
    "neuro timed walk": (neuro_timed_walk, (NUMBER, TEXT, "12.345"), {2, 3, 4}),
    "neuro infusions": (neuro_infusions, (NUMBER, TEXT, DATE), {3}),
    "neuro birth dates": (neuro_birth_dates, (NUMBER,), {2}),
    "neuro follow-up": (neuro_follow_up, ("2031-07-19", "2029-03-17", "S1"), {None}),
    "neuro titre": (neuro_titre, (TEXT,), {None}),
    # a repeated key is refused at the second row only (D-19.18): rows 5 and 3 are the duplicates
    "kinetics profiles": (kinetics_profiles, (NUMBER[1:], TEXT), {2, 3, 5}),
    "kinetics nca": (kinetics_nca, (NUMBER, TEXT), {3, 4, 5}),
    "kinetics titre": (kinetics_titre, (TEXT,), {None}),
    "escalation outcomes": (escalation_outcomes, (TEXT, "9", "Q"), {None}),
}


def _texts(found: Found) -> list[str]:
    texts = [t for p in found.problems for t in (p.message, p.allowed or "", str(p.field or ""))]
    return texts + list(found.notes)


@pytest.mark.parametrize("name", sorted(CASES))
def test_no_problem_message_quotes_a_record_value(name: str) -> None:
    parse, sentinels, bad_rows = CASES[name]
    found = parse()
    assert found.problems, f"{name}: the bad input was not refused"
    assert bad_rows <= {p.row for p in found.problems}, f"{name}: a bad row was not reported"
    for text in _texts(found):
        for sentinel in sentinels:
            assert sentinel not in text, f"{name}: {sentinel!r} quoted in {text!r}"


def test_the_value_given_is_kept_in_the_problem_value() -> None:
    """The value is not lost: the command line still shows it, as "(got …)", for the user's own file."""
    found = grading_crs()
    assert any(p.value == NUMBER and f"(got {NUMBER!r})" in str(p) for p in found.problems)


def test_the_lab_plausibility_warning_names_row_analyte_and_range() -> None:
    """The warning for an implausible lab value says where and what is allowed, without the value."""
    (note,) = [n for n in grading_labs().notes if "plausible range" in n]
    assert "labs.csv row 2" in note and "neutrophils" in note and "0-100 10^9/L" in note
