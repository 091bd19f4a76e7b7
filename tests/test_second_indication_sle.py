"""A third indication end to end, authored from the docs as a trial team would: tests/data/indication-sle is
a phase 1 anti-CD19 CAR-T protocol in refractory systemic lupus erythematosus whose disease endpoints
(SLEDAI-2K change, DORIS remission, anti-dsDNA, B-cell aplasia) are measures no cartrial engine derives.
They must never vanish silently (D-19.202): `protocol check` names them, and `analyse` and the report say
they are not derived."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from cartrial.analysis.outcomes import underived_endpoints
from cartrial.protocol import load_protocol

from .conftest import REPO_ROOT, TEST_PASSWORD, copy_sqlite_file, make_read_only, run_cartrial

FIXTURE = REPO_ROOT / "tests" / "data" / "indication-sle"
PROTOCOL = FIXTURE / "protocol.yaml"
SCENARIO = FIXTURE / "scenario.yaml"
REFERENCE = REPO_ROOT / "src" / "cartrial" / "examples" / "ct103a-nmosd" / "protocol.yaml"
GMG = REPO_ROOT / "tests" / "data" / "indication-gmg" / "protocol.yaml"
#: the fixture's endpoints that no dataset of `cartrial analyse` derives (read from the fixture by hand:
#: SLEDAI-2K, DORIS, B-cell aplasia and anti-dsDNA have no form and no engine in cartrial)
SLE_UNDERIVED = {"sledai_change", "doris_remission", "b_cell_aplasia", "anti_dsdna_change"}


def ok(*args: object) -> str:
    result = run_cartrial(*args)
    assert result.exit_code == 0, (args, result.output)
    return result.stdout


@pytest.fixture(scope="module")
def sle_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The SLE scenario simulated (seed 1) and imported ONCE per module, through the commands a trial team
    runs (`simulate study`, `db init`, `import templates`): the SQLite file it gave, read only
    (`make_read_only`); each test works on its own copy (`_study_url`). The per-test credentials of
    tests/conftest.py are not set up at module scope: the admin's password file is set here as there."""
    root = tmp_path_factory.mktemp("sle_study")
    secret = tmp_path_factory.mktemp("sle_credentials") / "password"
    secret.write_text(TEST_PASSWORD + "\n")
    secret.chmod(0o600)
    study = root / "study"
    url = f"sqlite:///{root / 'study.db'}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CARTRIAL_PASSWORD_FILE", str(secret))
        patch.setenv("CARTRIAL_NEW_PASSWORD_FILE", str(secret))
        patch.setenv("XDG_CONFIG_HOME", str(secret.parent / "config"))
        ok("simulate", "study", "--scenario", SCENARIO, "--seed", "1", "--out", study)
        ok("db", "init", "--url", url, "--protocol", PROTOCOL, "--admin", "admin")
        ok("import", "templates", study, "--user", "admin", "--url", url)
    with make_read_only(root):
        yield root / "study.db"


def _study_url(sle_database: Path, tmp_path: Path) -> str:
    """A private copy of the imported SLE study (`sle_database`)."""
    copy_sqlite_file(sle_database, tmp_path / "study.db")
    return f"sqlite:///{tmp_path / 'study.db'}"


def _with_endpoint(tmp_path: Path, measure: str, intervals: str | None = None) -> Path:
    """The gMG fixture plus one PK endpoint of `measure` (and, optionally, its NCA intervals)."""
    text = GMG.read_text(encoding="utf-8")
    extra = (
        "  car_t_extra:\n    name: Extra PK\n    kind: pk\n    description: extra PK endpoint\n"
        f"    measure: {measure}\n"
    )
    text = text.replace("\nanalysis:\n", "\n" + extra + "\nanalysis:\n", 1)
    if intervals is not None:
        text = text.replace("nca_intervals_days: [[0, 28]]", f"nca_intervals_days: {intervals}")
    path = tmp_path / "protocol.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_every_endpoint_of_the_reference_and_gmg_protocols_is_derived():
    assert underived_endpoints(load_protocol(REFERENCE)) == ()
    assert underived_endpoints(load_protocol(GMG)) == ()


def test_sle_disease_endpoints_are_named_as_not_derived():
    assert set(underived_endpoints(load_protocol(PROTOCOL))) == SLE_UNDERIVED


def test_a_partial_auc_is_derived_only_for_an_analysed_interval(tmp_path: Path):
    # AUC0-14 is an NCA output only when [0, 14] is one of analysis.options.nca_intervals_days
    assert underived_endpoints(load_protocol(_with_endpoint(tmp_path, "auc_0_14"))) == ("car_t_extra",)
    derived = load_protocol(_with_endpoint(tmp_path, "auc_0_14", "[[0, 14], [0, 28]]"))
    assert underived_endpoints(derived) == ()
    # a misspelt measure is not derived either (it was dropped without a word)
    assert underived_endpoints(load_protocol(_with_endpoint(tmp_path, "c_max"))) == ("car_t_extra",)


def test_protocol_check_names_the_endpoints_it_does_not_derive():
    text = ok("protocol", "check", PROTOCOL)
    assert "not derived by cartrial" in text
    for key in SLE_UNDERIVED:
        assert key in text, key
    out = json.loads(ok("protocol", "check", PROTOCOL, "--json"))
    assert set(out["endpoints_not_derived"]) == SLE_UNDERIVED
    assert json.loads(ok("protocol", "check", REFERENCE, "--json"))["endpoints_not_derived"] == []
    assert "not derived" not in ok("protocol", "check", REFERENCE)


def test_screening_sle_candidates():
    out = json.loads(ok("screen", PROTOCOL, *sorted((FIXTURE / "candidates").iterdir()), "--json"))
    results = out if isinstance(out, list) else out["results"]
    verdicts = {r["candidate_id"] if "candidate_id" in r else r["id"]: r["verdict"] for r in results}
    assert verdicts == {"SLE-001": "eligible", "SLE-002": "not_eligible"}


@pytest.mark.slow
def test_analysis_and_report_say_which_endpoints_are_not_derived(sle_database: Path, tmp_path: Path):
    trials = ok("simulate", "trial", "--scenario", SCENARIO, "--trials", "3", "--seed", "1")
    for word in ("relapse", "EDSS", "AQP4"):  # D-19.64: no NMOSD metric for a study that collects none
        assert word not in trials, word
    url = _study_url(sle_database, tmp_path)
    cutoff = "2022-10-01"
    analysis = tmp_path / "analysis"
    ok("analyse", "--url", url, "--user", "admin", "--cutoff", cutoff, "--out", analysis)
    meta = json.loads((analysis / "analysis.json").read_text(encoding="utf-8"))
    noted = [f for f in meta["findings"] if f["domain"] == "endpoints"]
    assert {f["source"] for f in noted} == {f"protocol endpoints.{key}" for key in SLE_UNDERIVED}
    assert all("not derived by cartrial" in f["statement"] for f in noted)
    report = tmp_path / "report"
    ok("report", "--url", url, "--user", "admin", "--cutoff", cutoff, "--out", report, "--no-pdf")
    html = (report / "report.html").read_text(encoding="utf-8")
    for name in ("SLEDAI-2K change from baseline", "DORIS remission", "B-cell aplasia", "Anti-dsDNA change"):
        assert name in html, name


#: NMOSD outcome datasets (their outcome: tests read cartrial.analysis.outcomes.OUTCOME_ASSESSMENT) that a
#: study collecting none of EDSS, OSIS, visual acuity, timed walk or relapses has no record of
NMOSD_OUTCOME_DATASETS = {"qs", "suppqs", "rs", "oe", "ft", "ce", "adedss", "adrs"}
#: ADSL variables of NMOSD populations and baselines (docs/cdisc.md ADSL rows 25-32)
NMOSD_ADSL_VARIABLES = {"EDSSEFL", "VAEFL", "WALKEFL", "BLADEFL", "BEDSS", "PREARR"}


@pytest.mark.slow
def test_cdisc_export_has_no_empty_nmosd_datasets_or_adsl_variables(sle_database: Path, tmp_path: Path):
    """D-19.203: the export of a study without the NMOSD outcomes writes no empty QS/OE/FT/CE/ADEDSS/ADRS and
    no ADSL flag 'N' of a population the analysis does not define (that would read as 'not evaluable')."""
    url = _study_url(sle_database, tmp_path)
    cdisc = tmp_path / "cdisc"
    ok(
        "export",
        "cdisc",
        "--url",
        url,
        "--user",
        "admin",
        "--cutoff",
        "2022-10-01",
        "--out",
        cdisc,
        "--format",
        "json",
    )
    ok("export", "cdisc", "--check", cdisc)
    written = {p.stem for p in cdisc.rglob("*.json") if p.parent.name in ("sdtm", "adam")}
    assert not written & NMOSD_OUTCOME_DATASETS, written & NMOSD_OUTCOME_DATASETS
    assert {"dm", "ae", "lb", "pc", "adsl", "adae", "adpc", "adtte"} <= written
    adsl = json.loads((cdisc / "adam" / "adsl.json").read_text(encoding="utf-8"))
    names = {c["name"] for c in adsl["columns"]}
    assert not names & NMOSD_ADSL_VARIABLES, names & NMOSD_ADSL_VARIABLES
    assert {"SAFFL", "DLTEVLFL", "PKFL"} <= names
    # D-19.205: the verbatim diagnosis is the protocol's indication; no dictionary term is invented for it
    mh = json.loads((cdisc / "sdtm" / "mh.json").read_text(encoding="utf-8"))
    columns = [c["name"] for c in mh["columns"]]
    diagnoses = [dict(zip(columns, row, strict=True)) for row in mh["rows"]]
    assert {r["MHTERM"] for r in diagnoses} == {"Refractory systemic lupus erythematosus (SLE)"}
    assert {r["MHDECOD"] or "" for r in diagnoses} == {""}
    for folder in ("sdtm", "adam"):
        define = (cdisc / folder / "define.xml").read_text(encoding="utf-8")
        for name in ("ADEDSS", "IG.QS", "IG.OE", "EDSSEFL", "PREARR"):
            assert name not in define, (folder, name)


def _diagnosis_rule(tmp_path: Path, rule: str) -> Path:
    text = PROTOCOL.read_text(encoding="utf-8")
    old = "rule: {type: diagnosis, condition: sle, criteria: eular_acr_2019}"
    assert old in text
    path = tmp_path / "protocol.yaml"
    path.write_text(text.replace(old, f"rule: {rule}"), encoding="utf-8")
    return path


def test_a_diagnosis_rule_of_another_condition_must_name_its_criteria(tmp_path: Path):
    """D-19.204: `{type: diagnosis, condition: sle}` silently required the NMOSD criteria ipnd_2015, so every
    lupus candidate was 'not eligible'; it is now refused at its line, asking for the condition's criteria."""
    path = _diagnosis_rule(tmp_path, "{type: diagnosis, condition: sle}")
    lines = path.read_text(encoding="utf-8").splitlines()
    line = 1 + next(i for i, t in enumerate(lines) if "condition: sle" in t)
    result = run_cartrial("protocol", "check", path)
    assert result.exit_code == 2, result.output
    assert f"line {line}" in result.output and "criteria" in result.output
    assert "ipnd_2015" in result.output  # says which default it would have taken
    # the NMOSD default is unchanged: condition and criteria both left out, or nmosd in any case
    for rule in ("{type: diagnosis}", "{type: diagnosis, condition: NMOSD}"):
        protocol = load_protocol(_diagnosis_rule(tmp_path, rule))
        diagnosis = next(c.rule for c in protocol.eligibility.criteria if c.id == "inc_diagnosis")
        assert diagnosis.criteria == "ipnd_2015", rule
    # another condition with its criteria named screens the eligible candidate as eligible
    out = json.loads(ok("screen", PROTOCOL, FIXTURE / "candidates" / "cand-01-eligible.yaml", "--json"))
    results = out if isinstance(out, list) else out["results"]
    assert results[0]["verdict"] == "eligible"


#: the NMOSD forms and subject/PD columns (docs/templates/FIELDS.md) a study without those outcomes lacks
NMOSD_TEMPLATES = {"edss.csv", "visual_acuity.csv", "osis.csv", "timed_walk.csv", "relapses.csv"}
NMOSD_COLUMNS = {"aqp4_igg_status", "aqp4_igg_titre", "aqp4_igg_assay", "relapse_history"}


@pytest.mark.parametrize("example_rows", [False, True])
def test_templates_for_a_protocol_hold_only_its_forms_and_fields(tmp_path: Path, example_rows: bool):
    """D-19.206: `templates write --protocol` writes the study's forms and fields as the web app offers them
    (D-19.70, D-19.82); without --protocol every form is written, as before."""
    flag = ("--example-rows",) if example_rows else ()
    ok("templates", "write", tmp_path / "all", *flag)
    every = {p.name for p in (tmp_path / "all").glob("*.csv")}
    assert every >= NMOSD_TEMPLATES
    ok("templates", "write", tmp_path / "sle", "--protocol", PROTOCOL, *flag)
    written = {p.name for p in (tmp_path / "sle").glob("*.csv")}
    assert written == every - NMOSD_TEMPLATES
    for name in ("subjects.csv", "pd_samples.csv"):
        lines = (tmp_path / "sle" / name).read_text(encoding="utf-8").splitlines()
        full = (tmp_path / "all" / name).read_text(encoding="utf-8").splitlines()
        columns = lines[0].split(",")
        assert not set(columns) & NMOSD_COLUMNS, name
        assert set(full[0].split(",")) - set(columns) == set(full[0].split(",")) & NMOSD_COLUMNS
        assert len(lines) == len(full)  # the example rows are kept, less those columns
        if example_rows:
            assert all(len(line.split(",")) == len(columns) for line in lines[1:] if '"' not in line)
    # the reference protocol collects every form: the same files as without --protocol
    ok("templates", "write", tmp_path / "ref", "--protocol", REFERENCE, *flag)
    assert {p.name for p in (tmp_path / "ref").glob("*.csv")} == every
    assert (tmp_path / "ref" / "subjects.csv").read_text(encoding="utf-8") == (
        tmp_path / "all" / "subjects.csv"
    ).read_text(encoding="utf-8")


@pytest.mark.slow
def test_cdisc_export_names_a_lab_analyte_without_a_test_code(sle_database: Path, tmp_path: Path):
    """D-19.207: a lupus study's anti-dsDNA lab (an analyte without a CDISC test code in cartrial) failed the
    export with codelist findings on LBTESTCD/LBTEST pointing at the package's ct/codelists.yaml; it is now
    refused before anything is written, naming the labs form's analyte field and the analytes cartrial maps,
    never the record's value (D-12.2)."""
    url = _study_url(sle_database, tmp_path)
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "labs.csv").write_text(
        "subject_id,collected_at,analyte,value,unit,lln\nSIM-001,2021-05-23T07:00:00Z,anti_dsdna,250,IU/mL,\n",
        encoding="utf-8",
    )
    ok("import", "templates", extra, "--user", "admin", "--url", url)
    cdisc = tmp_path / "cdisc"
    result = run_cartrial(
        "export", "cdisc", "--url", url, "--user", "admin", "--cutoff", "2022-10-01", "--out", cdisc
    )
    assert result.exit_code == 2, result.output
    assert "labs" in result.stderr and "analyte" in result.stderr
    assert "1 laboratory record" in result.stderr
    assert "hemoglobin" in result.stderr and "neutrophils" in result.stderr  # what cartrial maps
    assert "anti_dsdna" not in result.output and "ANTI_DSD" not in result.output
    assert not cdisc.exists() or not any(cdisc.rglob("*.json"))


def test_the_pd_demo_reads_its_titre_column_from_the_protocol() -> None:
    """The demo's PD fit took "aqp4_igg_titre" as written; it reads the titre the protocol collects
    (`protocol.records.pd_titre_column`), and a protocol collecting none (this SLE study) is refused with
    the file named, not fitted on a column of another indication (D-19.534)."""
    from cartrial.demo.popfit import pd_column
    from cartrial.errors import InputError

    assert pd_column(REFERENCE) == "aqp4_igg_titre"
    with pytest.raises(InputError) as caught:
        pd_column(PROTOCOL)
    assert str(PROTOCOL) in str(caught.value) and "no antibody titre" in str(caught.value)
