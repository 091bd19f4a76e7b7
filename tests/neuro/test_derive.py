"""The neuro frame functions (decisions §11): one derivation path for the CLI, the demo and Python; typed
frames,
CSV text and files give the same result and the same row numbers; each rule exists once; the command
module holds no science. Decisions §12: rate ratio, reverse Kaplan-Meier, adjudication, protocol-set options.
Decisions §19: ragged rows, option ranges, conflicting duplicates."""

from __future__ import annotations

import ast
import itertools
import json
import math
import statistics
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from tests.conftest import property_examples

import cartrial.neuro as neuro
from cartrial.errors import ConfigurationError, InputError
from cartrial.neuro import (
    Adjudication,
    Phenotype,
    RelapseEpisode,
    RelapseOptions,
    conditional_rate_ratio,
    derive_edss,
    derive_osis,
    derive_relapses,
    derive_responders,
    derive_visual_acuity,
    merge_attacks,
    relapse_options_from_protocol,
    responder_definitions_from_protocol,
    reverse_km_median,
)
from cartrial.protocol import group_onsets, load_protocol, merge_onset_dates
from cartrial.tabular import read_csv

from ..conftest import run_cartrial

CUTOFF = date(2022, 3, 20)


def cli(*args: str) -> tuple[int, str, str]:
    """(exit code, stdout, message) as `cartrial.cli.main` reports them (a CartrialError is exit 2); the
    message is everything printed, stdout then stderr."""
    result = run_cartrial(*args)
    return result.exit_code, result.stdout, result.output


@pytest.fixture
def study(examples_dir: Path) -> Path:
    return examples_dir / "ct103a-nmosd" / "study"


# --- one path: API (typed frame, CSV text) == CLI ---------------------------------------------------------


def test_edss_typed_frame_csv_text_and_cli_agree(study: Path, tmp_path: Path) -> None:
    path = study / "edss.csv"
    typed = derive_edss(pd.read_csv(path), cutoff=CUTOFF).table
    text = derive_edss(path.read_text(), cutoff=CUTOFF).table
    code, stdout, message = cli("score", "edss", str(path), "--cutoff", "2022-03-20", "--json")
    assert code == 0, message
    rows = pd.DataFrame(json.loads(stdout)["rows"])
    assert typed["edss"].tolist() == text["edss"].tolist() == rows["edss"].tolist()
    assert typed["edss_rule"].tolist() == rows["edss_rule"].tolist()


def test_visual_acuity_and_osis_api_equal_cli(study: Path) -> None:
    va = derive_visual_acuity(read_csv(study / "visual_acuity.csv")).table
    code, stdout, _ = cli("score", "va", str(study / "visual_acuity.csv"), "--json")
    rows = pd.DataFrame(json.loads(stdout)["rows"])
    assert code == 0
    assert va["logmar"].fillna(-9).tolist() == rows["logmar"].fillna(-9).tolist()
    osis = derive_osis(pd.read_csv(study / "osis.csv")).table
    code, stdout, _ = cli("score", "osis", str(study / "osis.csv"), "--json")
    assert osis["visual_worse_eye"].tolist() == [r["visual_worse_eye"] for r in json.loads(stdout)["rows"]]


def test_relapses_api_equals_cli(study: Path) -> None:
    api = derive_relapses(
        pd.read_csv(study / "relapses.csv"),
        pd.read_csv(study / "infusions.csv"),
        assessments=[pd.read_csv(study / "edss.csv")],
        subjects=pd.read_csv(study / "subjects.csv"),
        cutoff=CUTOFF,
    )
    code, stdout, message = cli(
        "relapses", str(study / "relapses.csv"), "--infusion-dates", str(study / "infusions.csv"),
        "--assessments", str(study / "edss.csv"), "--subjects", str(study / "subjects.csv"),
        "--cutoff", "2022-03-20", "--json",
    )  # fmt: skip
    assert code == 0, message
    payload = json.loads(stdout)
    assert payload["pooled"]["pre"]["arr"] == api.arr.pre.rate  # type: ignore[union-attr]
    assert payload["rate_ratio_post_vs_pre"]["ratio"] == api.rate_ratio.ratio  # type: ignore[union-attr]
    assert "regression to the mean" in payload["rate_ratio_post_vs_pre"]["note"]
    assert [s["post_attacks"] for s in payload["subjects"]] == api.table["post_attacks"].tolist()
    assert api.metadata()["options"]["follow_up_method"] == "reverse_km"


def test_responders_api_equals_cli_and_gives_all_infused_denominator(study: Path, tmp_path: Path) -> None:
    """Decisions §12: each row also gives the share of all infused patients (non-evaluable =
    non-responder)."""
    api = derive_responders(
        pd.read_csv(study / "infusions.csv"),
        edss=pd.read_csv(study / "edss.csv"),
        visual_acuity=read_csv(study / "visual_acuity.csv"),
    ).table.set_index("definition")
    out = tmp_path / "r.csv"
    code, _, message = cli(
        "score", "responders", "--infusions", str(study / "infusions.csv"), "--edss", str(study / "edss.csv"),
        "--va", str(study / "visual_acuity.csv"), "--out", str(out),
    )  # fmt: skip
    assert code == 0, message
    frame = pd.read_csv(out).set_index("definition")
    for name in ("logmar_improved_0_2", "bowel_bladder_fs_decrease_1"):
        assert frame.loc[name, "percent"] == api.loc[name, "percent"]
    # 6 bladder responders of 12 infused = 50 %; vision 4 of 12 = 33.3 %
    assert frame.loc["bowel_bladder_fs_decrease_1", "percent_of_infused"] == 50.0
    assert frame.loc["logmar_improved_0_2", "percent_of_infused"] == 33.3
    assert (frame["n_infused"] == 12).all()


def test_row_numbers_are_the_same_through_the_api_and_the_cli(tmp_path: Path) -> None:
    """The bad value on the second data row is spreadsheet row 3 both ways."""
    text = "subject_id,assessed_at,eye,acuity\nS1,2021-01-01,OD,20/20\nS1,2021-01-01,OS,20/banana\n"
    with pytest.raises(InputError) as caught:
        derive_visual_acuity(text)
    assert caught.value.problems[0].row == 3
    path = tmp_path / "va.csv"
    path.write_text(text)
    code, _, message = cli("score", "va", str(path))
    assert code == 2 and "row 3" in message


# --- each rule once -------------------------------------------------------------------------------------


@settings(max_examples=property_examples(100), deadline=None)
@given(
    st.lists(st.integers(0, 400), min_size=0, max_size=12),
    st.integers(0, 60),
    st.sampled_from(["first", "chain"]),
)
def test_screening_and_neuro_merge_onsets_the_same_way(days: list[int], window: int, anchor: str) -> None:
    """The eligibility rule (protocol) and the relapse engine (neuro) count the same attacks."""
    start = date(2020, 1, 1)
    onsets = [start + timedelta(days=d) for d in days]
    episodes = [RelapseEpisode("S1", d, frozenset({Phenotype.MYELITIS})) for d in onsets]
    attacks = merge_attacks(episodes, RelapseOptions(merge_window_days=window, merge_anchor=anchor))  # type: ignore[arg-type]
    assert [a.onset for a in attacks] == merge_onset_dates(onsets, window, anchor)
    assert sum(len(g) for g in group_onsets(onsets, window, anchor)) == len(onsets)


def test_merge_window_is_strict_and_anchored() -> None:
    """Thompson 2018 convention: onsets < 30 days apart are one attack (29 merges, 30 does not); 'first'
    measures from the attack's first onset, 'chain' from the latest merged onset."""
    d0 = date(2021, 1, 1)
    assert merge_onset_dates([d0, d0 + timedelta(days=29)], 30) == [d0]
    assert len(merge_onset_dates([d0, d0 + timedelta(days=30)], 30)) == 2
    chain = [d0, d0 + timedelta(days=20), d0 + timedelta(days=40)]
    assert len(merge_onset_dates(chain, 30, "first")) == 2
    assert len(merge_onset_dates(chain, 30, "chain")) == 1


def test_same_name_means_one_thing() -> None:
    """Decisions §11: RelapseRecord, parse_titre and merge_attacks each have one meaning."""
    import cartrial.kinetics as kinetics
    import cartrial.protocol as protocol

    assert not hasattr(neuro, "RelapseRecord") and hasattr(protocol, "RelapseRecord")
    assert not hasattr(neuro, "parse_titre") and hasattr(kinetics, "parse_titre")
    assert not hasattr(protocol, "merge_attacks") and hasattr(neuro, "merge_attacks")
    assert neuro.MergeAnchor is protocol.MergeAnchor


def test_off_chart_ordering_is_one_rule() -> None:
    """NLP < LP < HM < CF < any chart acuity, in acuity_rank and therefore in eye_change."""
    levels = ["NLP", "LP", "HM", "CF", "20/800", "20/20"]
    ranks = [neuro.acuity_rank(neuro.parse_acuity(v)) for v in levels]
    assert ranks == sorted(ranks, reverse=True)
    for worse, better in itertools.pairwise(levels):
        change = neuro.eye_change(neuro.parse_acuity(worse), neuro.parse_acuity(better))
        assert change.category is neuro.AcuityChange.IMPROVED


def test_command_module_holds_no_science_and_imports_lazily() -> None:
    """Only stdlib, typer, rich, cartrial.errors and the option-name helper at module top; no engine,
    pandas or numpy."""
    source = Path(neuro.__file__).parents[1] / "commands" / "neuro_commands.py"
    tree = ast.parse(source.read_text())
    top = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
    modules = {n.module if isinstance(n, ast.ImportFrom) else n.names[0].name for n in top}
    allowed = {
        "__future__",
        "contextlib",
        "csv",
        "dataclasses",
        "datetime",
        "functools",
        "pathlib",
        "typing",
        "typer",
        "cartrial.errors",
        "cartrial.commands.option_names",
    }
    assert modules <= allowed


def test_responder_names_in_the_help_are_the_definitions() -> None:
    from cartrial.commands.neuro_commands import RESPONDER_NAMES

    assert set(RESPONDER_NAMES) == set(neuro.RESPONDER_DEFINITIONS)


# --- decisions §12: rate ratio, reverse KM, adjudication, protocol
# ---------------------------------------------


def test_pooled_rate_ratio_matches_clopper_pearson() -> None:
    """Independent derivation: given n = 5 attacks, post ~ Binomial(5, p) with p = theta*T1/(T0 + theta*T1);
    Clopper-Pearson for x = 1 (beta quantiles) mapped to theta = p/(1-p) * T0/T1 with T0 = 2, T1 = 1."""
    ratio = conditional_rate_ratio([(4, 2.0, 1, 1.0)], method="pooled_conditional")
    low_p, high_p = stats.beta.ppf(0.025, 1, 5), stats.beta.ppf(0.975, 2, 4)
    assert ratio.ci_low == pytest.approx(low_p / (1 - low_p) * 2.0, rel=1e-6)
    assert ratio.ci_high == pytest.approx(high_p / (1 - high_p) * 2.0, rel=1e-6)
    assert ratio.ratio == pytest.approx((1 / 1.0) / (4 / 2.0))


def test_stratified_rate_ratio_removes_between_patient_rates() -> None:
    """Two patients with very different own rates and the same within-patient ratio 0.5: the stratified
    (conditional) MLE is 0.5 exactly; pooling the counts mixes the exposures and does not give 0.5."""
    strata = [(20, 1.0, 10, 1.0), (1, 1.0, 2, 4.0)]
    stratified = conditional_rate_ratio(strata)
    assert stratified.ratio == pytest.approx(0.5, rel=1e-6)
    pooled = conditional_rate_ratio(strata, method="pooled_conditional")
    assert pooled.ratio == pytest.approx((12 / 5.0) / (21 / 2.0))
    single = conditional_rate_ratio([strata[0]])
    assert single.ci_low == pytest.approx(
        conditional_rate_ratio([strata[0]], method="pooled_conditional").ci_low
    )


def test_rate_ratio_edge_cases() -> None:
    none = conditional_rate_ratio([(0, 2.0, 0, 1.0)])
    assert none.ratio is None and none.n_informative == 0
    zero = conditional_rate_ratio([(3, 2.0, 0, 1.0)])
    assert zero.ratio == 0.0 and zero.ci_low == 0.0 and zero.ci_high is not None and zero.ci_high > 0
    only_post = conditional_rate_ratio([(0, 2.0, 2, 1.0)])
    assert only_post.ratio == math.inf and only_post.ci_high == math.inf


@settings(max_examples=property_examples(60), deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 8), st.floats(0.1, 3.0), st.integers(0, 8), st.floats(0.1, 3.0)),
        min_size=1,
        max_size=6,
    ),
    st.sampled_from(["stratified_conditional", "pooled_conditional"]),
)
def test_rate_ratio_ci_contains_the_estimate(
    strata: list[tuple[int, float, int, float]], method: str
) -> None:
    ratio = conditional_rate_ratio(strata, method=method)
    if ratio.ratio is None:
        assert sum(s[0] + s[2] for s in strata) == 0
        return
    assert ratio.ci_low is not None and ratio.ci_high is not None
    assert 0.0 <= ratio.ci_low <= ratio.ratio * (1 + 1e-6) + 1e-12
    assert ratio.ratio <= ratio.ci_high * (1 + 1e-6) or ratio.ci_high == math.inf


@settings(max_examples=property_examples(100), deadline=None)
@given(st.lists(st.tuples(st.integers(1, 1000), st.booleans()), min_size=1, max_size=20))
def test_reverse_km_median_is_within_the_observed_range(data: list[tuple[int, bool]]) -> None:
    durations = [d for d, _ in data]
    events = [e for _, e in data]
    median = reverse_km_median(durations, events)
    assert median is None or 0 <= median <= max(durations)  # None: not reached (D-19.100)


@settings(max_examples=property_examples(100), deadline=None)
@given(st.lists(st.integers(1, 1000), min_size=1, max_size=20))
def test_reverse_km_median_without_relapses_is_the_median_of_the_durations(durations: list[int]) -> None:
    """With no relapse every subject's follow-up ends by censoring, the reverse curve is the empirical
    survival of the durations. Its median by the midpoint rule (default; R survival `quantile.survfit`, SAS
    LIFETEST: a flat at exactly 0.5 gives the midpoint of the flat) is the ordinary median of the
    durations; by the smallest rule (lifelines) it is the order statistic at position ceil(n/2) (D-19.201)."""
    lower = sorted(durations)[math.ceil(len(durations) / 2) - 1]
    assert reverse_km_median(durations, [False] * len(durations)) == statistics.median(durations)
    assert reverse_km_median(durations, [False] * len(durations), median_rule="smallest") == lower


def test_a_flat_at_one_half_to_the_end_takes_the_midpoint_to_the_last_time() -> None:
    """R survival's rule for a curve that stays at exactly 0.5 to its end: the midpoint of the flat's start
    and the last time of the data (`findq`, "a flat at the end of the curve"): ends at 100 and 200 (S = 3/4,
    then 1/2), the deaths at 300 and 400 censored — (200 + 400) / 2."""
    durations, died = [100, 200, 300, 400], [False, False, True, True]
    assert reverse_km_median(durations, died) == 300.0
    assert reverse_km_median(durations, died, median_rule="smallest") == 200.0


RELAPSE_HEADER = "subject_id,onset_date,phenotype,severity,adjudicated\n"


def test_require_adjudicated_counts_only_confirmed_attacks(tmp_path: Path) -> None:
    """Decisions §12: three post-infusion episodes, one confirmed, one rejected, one pending: all three count
    by
    default, only the confirmed one with require_adjudicated (the others listed with the reason)."""
    text = (
        RELAPSE_HEADER
        + "S1,2021-03-01,myelitis,severe,confirmed\n"
        + "S1,2021-05-01,optic_neuritis,mild,not_confirmed\n"
        + "S1,2021-07-01,myelitis,moderate,pending\n"
    )
    infusions = {"S1": date(2021, 1, 1)}
    everything = derive_relapses(text, infusions, cutoff=date(2021, 12, 31))
    assert everything.table.loc[0, "post_attacks"] == 3
    confirmed = derive_relapses(
        text, infusions, cutoff=date(2021, 12, 31), options=RelapseOptions(require_adjudicated=True)
    )
    assert confirmed.table.loc[0, "post_attacks"] == 1
    reasons = [r["reason"] for r in confirmed.payload()["not_relapses"]]
    assert any("not_confirmed" in r for r in reasons) and any("pending" in r for r in reasons)
    path = tmp_path / "r.csv"
    path.write_text(text)
    inf = tmp_path / "i.csv"
    inf.write_text("subject_id,infused_at\nS1,2021-01-01T09:00:00Z\n")
    code, stdout, message = cli(
        "relapses", str(path), "--infusion-dates", str(inf), "--cutoff", "2021-12-31", "--json",
        "--require-adjudicated",
    )  # fmt: skip
    assert code == 0, message
    assert json.loads(stdout)["subjects"][0]["post_attacks"] == 1


def test_unknown_adjudication_is_a_located_error() -> None:
    with pytest.raises(InputError) as caught:
        derive_relapses(RELAPSE_HEADER + "S1,2021-03-01,myelitis,severe,maybe\n", {"S1": date(2021, 1, 1)})
    problem = caught.value.problems[0]
    assert (problem.row, problem.field) == (2, "adjudicated") and "confirmed" in (problem.allowed or "")


def test_episode_adjudication_enum() -> None:
    episode = RelapseEpisode(
        "S1", date(2021, 1, 1), frozenset({Phenotype.MYELITIS}), adjudicated=Adjudication.PENDING
    )
    assert not neuro.qualifies(episode, RelapseOptions(require_adjudicated=True))[0]
    assert neuro.qualifies(episode)[0]


def test_protocol_sets_relapse_options_and_a_priori_responders(examples_dir: Path) -> None:
    protocol = load_protocol(examples_dir / "ct103a-nmosd" / "protocol.yaml")
    options = relapse_options_from_protocol(protocol)
    assert options.require_adjudicated is False and options.pre_window_months == 24
    chosen = responder_definitions_from_protocol(protocol)
    assert {d for d, _ in chosen.values()} == {
        "logmar_improved_0_2",
        "t25fw_20pct_faster",
        "bowel_bladder_fs_decrease_1",
    }
    for key in chosen:
        assert protocol.endpoints[key].sources, key  # every a-priori definition cites its literature
    text = (examples_dir / "ct103a-nmosd" / "protocol.yaml").read_text()
    changed = load_protocol(examples_dir / "ct103a-nmosd" / "protocol.yaml").model_copy(
        update={
            "endpoints": {
                **protocol.endpoints,
                "relapse_free": protocol.endpoints["relapse_free"].model_copy(
                    update={"parameters": {"require_adjudicated": True}}
                ),
            }
        }
    )
    assert "require_adjudicated" in text
    with pytest.raises(ConfigurationError):  # two endpoints disagree: refused, not silently one of them
        relapse_options_from_protocol(changed)


def test_example_readme_says_synthetic_and_shaped(study: Path) -> None:
    text = (study / "README.md").read_text()
    assert "Synthetic, and shaped after the published summary" in text
    assert "a priori" in text


# --- decisions §19: ragged rows, ranges, duplicates
# ------------------------------------------------------------


def _infusions(tmp_path: Path) -> Path:
    path = tmp_path / "inf.csv"
    path.write_text("subject_id,infused_at\nS1,2021-01-01T09:00:00Z\n")
    return path


def test_short_ragged_row_is_refused_in_relapses(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text(
        "subject_id,onset_date,phenotype,severity,lasted_over_24h\n"
        "S1,2020-03-01,myelitis,severe,true\n"
        "S1,2020-06-01,myelitis\n"  # row 3: 3 cells of 5 (would be padded with blanks)
    )
    code, _, message = cli(
        "relapses", str(path), "--infusion-dates", str(_infusions(tmp_path)), "--cutoff", "2021-06-01"
    )
    assert code == 2 and "row 3" in message and "3 cells" in message


def test_short_and_long_ragged_rows_are_refused_in_responders(tmp_path: Path) -> None:
    header = (
        "subject_id,assessed_at,visual,brainstem,pyramidal,cerebellar,sensory,bowel_bladder,cerebral,"
        "ambulation\n"
    )
    for row, cells in (
        ("S1,2021-01-01,0,0,0,0,0,0,0\n", "9 cells"),
        ("S1,2021-01-01,0,0,0,0,0,0,0,0,5\n", "11 cells"),
    ):
        path = tmp_path / "e.csv"
        path.write_text(header + row)
        code, _, message = cli(
            "score", "responders", "--infusions", str(_infusions(tmp_path)), "--edss", str(path)
        )
        assert code == 2 and "row 2" in message and cells in message, message


RANGE_CASES = [
    ("--pre-window-months", "100000"),
    ("--pre-window-months", "0"),
    ("--merge-window-days", "-1"),
    ("--merge-window-days", "100000"),
]


@pytest.mark.parametrize(("option", "value"), RANGE_CASES)
def test_relapse_option_ranges_are_checked_first(tmp_path: Path, option: str, value: str) -> None:
    """Decisions §19: `relapses --pre-window-months 100000` gave a traceback; now exit 2 naming the option,
    the value and the range (the engine's declaration, D-19.19), before any file is read (the relapse file
    here does not even exist)."""
    code, _, message = cli(
        "relapses", str(tmp_path / "missing.csv"), "--infusion-dates", "x.csv", option, value
    )
    text = " ".join(message.replace("│", " ").split())
    assert code == 2 and text.startswith(f"error: {option}: out of range (got {value}); allowed: "), text
    with pytest.raises(ConfigurationError):
        RelapseOptions(pre_window_months=121)


def test_conflicting_duplicates_are_refused_by_relapses_and_responders(tmp_path: Path) -> None:
    rel = tmp_path / "r.csv"
    rel.write_text(
        "subject_id,onset_date,phenotype,severity\nS1,2020-03-01,myelitis,severe\nS1,2020-03-01,optic_neuritis,mild\n"
    )
    code, _, message = cli(
        "relapses", str(rel), "--infusion-dates", str(_infusions(tmp_path)), "--cutoff", "2021-06-01"
    )
    assert code == 2 and "row 3" in message and "duplicate" in message
    edss = tmp_path / "e.csv"
    edss.write_text(
        "subject_id,assessed_at,visual,brainstem,pyramidal,cerebellar,sensory,bowel_bladder,cerebral,ambulation\n"
        "S1,2021-01-01,0,0,1,0,0,0,0,0\nS1,2021-01-01,0,0,3,0,0,0,0,0\n"
    )
    code, _, message = cli(
        "score", "responders", "--infusions", str(_infusions(tmp_path)), "--edss", str(edss)
    )
    assert code == 2 and "row 3" in message and "duplicate" in message


def test_reverse_km_median_agrees_with_lifelines_where_the_curve_crosses_one_half() -> None:
    """Independent implementation (lifelines KaplanMeierFitter on the reversed indicator) where the curve
    does not sit exactly at 0.5 (there the conventions differ: lifelines takes the next time)."""
    from lifelines import KaplanMeierFitter

    durations = [95, 110, 120, 125, 140, 150, 153, 182, 200, 222, 265, 280]
    events = [False, False, True, *([False] * 9)]
    fitter = KaplanMeierFitter().fit(durations, event_observed=[not e for e in events])
    assert reverse_km_median(durations, events) == fitter.median_survival_time_ == 153
    for rule in ("midpoint", "smallest"):  # the rules agree where the curve crosses 0.5
        assert reverse_km_median(durations, events, median_rule=rule) == 153


def test_the_smallest_rule_is_lifelines_median_on_a_flat() -> None:
    """lifelines' `median_survival_time_` is the smallest time with S(t) <= 0.5, also on a flat at exactly
    0.5 — the `smallest` rule; R and SAS take the midpoint of the flat (D-19.201)."""
    from lifelines import KaplanMeierFitter

    durations = [95, 110, 125, 140, 150, 153, 182, 200, 222, 245, 269, 280]
    fitter = KaplanMeierFitter().fit(durations, event_observed=[True] * len(durations))
    assert reverse_km_median(durations, [False] * 12, median_rule="smallest") == fitter.median_survival_time_
    assert reverse_km_median(durations, [False] * 12) == (153 + 182) / 2


def test_relapses_protocol_sets_adjudication_and_the_command_line_wins(study: Path, tmp_path: Path) -> None:
    """Decisions §12: the protocol sets require_adjudicated. The example has no adjudicated attack, so with
    the protocol's relapse endpoints set to require adjudication no post-infusion attack counts (the
    CT-003 relapse is listed as not adjudicated); --all-qualifying on the command line overrides."""
    text = (
        (study.parent / "protocol.yaml")
        .read_text()
        .replace("require_adjudicated: false", "require_adjudicated: true")
    )
    protocol = tmp_path / "protocol.yaml"
    protocol.write_text(text)
    args = ["relapses", str(study / "relapses.csv"), "--infusion-dates", str(study / "infusions.csv"),
            "--assessments", str(study / "edss.csv"), "--cutoff", "2022-03-20", "--json",
            "--protocol", str(protocol)]  # fmt: skip
    code, stdout, message = cli(*args)
    assert code == 0, message
    payload = json.loads(stdout)
    assert payload["options"]["require_adjudicated"] is True
    assert payload["pooled"]["post"]["attacks"] == 0 and payload["pooled"]["pre"]["attacks"] == 0
    assert any("not adjudicated" in r["reason"] for r in payload["not_relapses"])
    code, stdout, message = cli(*args, "--all-qualifying")
    assert json.loads(stdout)["pooled"]["post"]["attacks"] == 1


@settings(max_examples=property_examples(60), deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 700), st.sampled_from([None, *Adjudication])),
        min_size=0,
        max_size=10,
        unique_by=lambda v: v[0],
    )
)
def test_requiring_adjudication_never_adds_attacks(episodes: list[tuple[int, Adjudication | None]]) -> None:
    """Counting only confirmed attacks gives a subset of the attacks counted without the requirement."""
    start = date(2019, 1, 1)
    records = [
        RelapseEpisode("S1", start + timedelta(days=d), frozenset({Phenotype.MYELITIS}), adjudicated=a)
        for d, a in episodes
    ]
    every = merge_attacks(records)
    confirmed = merge_attacks(records, RelapseOptions(require_adjudicated=True))
    assert len(confirmed) <= len(records)
    assert sum(len(a.onsets) for a in confirmed) <= sum(len(a.onsets) for a in every)
    kept = {o for a in confirmed for o in a.onsets}
    assert kept <= {start + timedelta(days=d) for d, a in episodes if a is Adjudication.CONFIRMED}


@settings(max_examples=property_examples(40), deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 6), st.floats(0.2, 2.0), st.integers(0, 6), st.floats(0.2, 2.0)),
        min_size=1,
        max_size=5,
    ),
    st.floats(0.5, 4.0),
)
def test_rate_ratio_does_not_depend_on_the_time_unit(
    strata: list[tuple[int, float, int, float]], factor: float
) -> None:
    """Expressing every exposure in another unit (days instead of years) leaves the ratio unchanged."""
    scaled = [(a, t * factor, b, u * factor) for a, t, b, u in strata]
    one, other = conditional_rate_ratio(strata), conditional_rate_ratio(scaled)
    if one.ratio is None or one.ratio in (0.0, math.inf):
        assert other.ratio == one.ratio
    else:
        assert other.ratio == pytest.approx(one.ratio, rel=1e-6)
        assert other.ci_low == pytest.approx(one.ci_low, rel=1e-5, abs=1e-12)


@settings(max_examples=property_examples(60), deadline=None)
@given(st.lists(st.tuples(st.integers(0, 400), st.integers(-30, 400) | st.none()), min_size=1, max_size=6))
def test_relapse_follow_up_never_runs_past_a_death(subjects: list[tuple[int, int | None]]) -> None:
    """D-19.107 (D-19.94): with `deaths` the follow-up after infusion ends at the death, never at a record
    dated after it, and is never negative (a death dated before the infusion: 0 days); without a death it
    runs to the last assessment."""
    from cartrial.neuro.derive import derive_relapses

    day0 = date(2021, 1, 1)
    infusions = {f"S{i}": day0 for i in range(len(subjects))}
    last = {f"S{i}": day0 + timedelta(days=seen) for i, (seen, _) in enumerate(subjects)}
    deaths = {f"S{i}": day0 + timedelta(days=d) for i, (_, d) in enumerate(subjects) if d is not None}
    result = derive_relapses(
        "subject_id,onset_date,phenotype,severity\n", infusions, last_assessment=last, deaths=deaths
    )
    post = dict(zip(result.table["subject_id"], result.table["post_days"], strict=True))
    for i, (seen, died) in enumerate(subjects):
        expected = seen if died is None else max(min(seen, died), 0)
        assert post[f"S{i}"] == expected
    assert result.km is not None and result.km.n_deaths == len(deaths)


@settings(max_examples=property_examples(60), deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 400), st.integers(-30, 400) | st.none(), st.integers(-30, 400) | st.none()),
        min_size=1,
        max_size=6,
    ),
    st.integers(0, 400),
)
def test_relapse_follow_up_never_runs_past_a_dated_end_of_study(
    subjects: list[tuple[int, int | None, int | None]], cut: int
) -> None:
    """D-19.133 (D-19.110): with `ends_of_study` the follow-up after infusion ends at the earliest of the last
    assessment, the dated end of study and the death on or before the cut-off, never before day 0; an end of
    study is not a death for the reverse Kaplan-Meier (only `deaths` are censored as such)."""
    from cartrial.neuro.derive import derive_relapses

    day0 = date(2021, 1, 1)
    cutoff = day0 + timedelta(days=cut)
    ids = [f"S{i}" for i in range(len(subjects))]
    last = {
        sid: day0 + timedelta(days=min(seen, cut)) for sid, (seen, _, _) in zip(ids, subjects, strict=True)
    }
    ends = {
        sid: day0 + timedelta(days=e) for sid, (_, e, _) in zip(ids, subjects, strict=True) if e is not None
    }
    deaths = {
        sid: day0 + timedelta(days=d) for sid, (_, _, d) in zip(ids, subjects, strict=True) if d is not None
    }
    result = derive_relapses(
        "subject_id,onset_date,phenotype,severity\n",
        dict.fromkeys(ids, day0),
        last_assessment=last,
        cutoff=cutoff,
        deaths=deaths,
        ends_of_study=ends,
    )
    post = dict(zip(result.table["subject_id"], result.table["post_days"], strict=True))
    for sid, (seen, end, died) in zip(ids, subjects, strict=True):
        known = [day for day in (end, died) if day is not None and day <= cut]  # after the cut-off: unknown
        assert post[sid] == max(min([min(seen, cut), *known]), 0)
    assert result.km is not None
    assert result.km.n_deaths == sum(1 for _, _, died in subjects if died is not None and died <= cut)
