"""Every command of the CLI has its Python API: the function (or `StudyService` method) a notebook calls
for the same result, importable from its package root (named in the package's `__all__`) and documented
by a docstring. The command parses, calls it and prints (ARCHITECTURE.md §1; docs/api/walkthrough.md
walks through a whole study with them).

Before, `read_snapshot` (every command reading the store at a cut-off), `simulate_study`, `run_sweep`,
`export_cdisc`'s `read_sites`, the popfit and MAP files (`popfit_files`, `map_files`), `analysis_files`, the
MAP from an estimates.json (`map_from_fit`), the inputs of a PD fit (`pd_fit_inputs`) and the OC of a run
(`summarise_run`) were reachable from their modules only or not at all."""

from __future__ import annotations

import importlib
import inspect

import pytest
import typer.main

from cartrial.cli import app
from cartrial.commands import COMMANDS

#: command → the API it calls ("package:name" or "package:Class.method"; `StudyService.x(actor, ...)` is
#: `StudyUser.x` of that actor, where the method is documented); None: an interface-only command
#: (a server, a terminal session, the demo of everything).
COMMAND_API: dict[str, str | None] = {
    "demo": None,
    "examples list": "cartrial.examples:names",
    "examples copy": "cartrial.examples:copy",
    "templates write": "cartrial.templates:write",
    "protocol check": "cartrial.protocol:load_protocol",
    "protocol show": "cartrial.protocol:protocol_summary",
    "screen": "cartrial.protocol:screen",
    "escalate next": "cartrial.escalation:assemble_design",
    "escalate table": "cartrial.escalation:decision_table",
    "escalate paths": "cartrial.escalation:dose_pathways",
    "escalate simulate": "cartrial.escalation:simulate",
    "escalate replay": "cartrial.escalation:replay_decisions",
    "simulate trial": "cartrial.simulation:summarise_run",
    "simulate study": "cartrial.simulation:simulate_study",
    "simulate sweep": "cartrial.simulation:run_sweep",
    "import templates": "cartrial.store.importing:import_templates",
    "import redcap": "cartrial.store.importing:import_redcap",
    "db init": "cartrial.store:init_study",
    "db upgrade": "cartrial.store:upgrade",
    "db respell": None,  # a one-off repair of stored spellings (cartrial.store.spellings.respell)
    "db summary": "cartrial.store:StudyService.table_counts",
    "db records": "cartrial.store:StudyUser.find_records",
    "db edit": "cartrial.store:StudyUser.update_record",
    "db delete": "cartrial.store:StudyUser.delete_record",
    "db derive": "cartrial.store:derive_crs_grades",
    "db lock": "cartrial.store:StudyUser.lock",
    "db unlock": "cartrial.store:StudyUser.unlock",
    "db roles": "cartrial.store:PERMISSIONS",
    "db roles-sql": None,  # SQL for the database administrator
    "db user add": "cartrial.store:StudyUser.add_user",
    "db user role": "cartrial.store:StudyUser.set_role",
    "db user password": "cartrial.store:StudyUser.set_password",
    "db user list": "cartrial.store:StudyUser.find_records",
    "db site add": "cartrial.store:StudyUser.add_site",
    "db query raise": "cartrial.store:StudyUser.raise_query",
    "db query answer": "cartrial.store:StudyUser.answer_query",
    "db query close": "cartrial.store:StudyUser.close_query",
    "db query list": "cartrial.store:StudyUser.find_records",
    "audit verify": "cartrial.store:StudyService.verify_audit",
    "audit log": "cartrial.store:StudyUser.audit_rows",
    "audit checkpoint": None,  # key files and a signed checkpoint (cartrial.store.tamper)
    "audit keygen": None,
    "login": None,
    "logout": None,
    "serve": None,
    "password": "cartrial.store:StudyUser.set_password",
    "grade crs": "cartrial.grading:derive_crs_grades",
    "grade icans": "cartrial.grading:derive_icans_grades",
    "grade labs": "cartrial.grading:derive_lab_grades",
    "grade episodes": "cartrial.grading:derive_crs_episodes",
    "grade icaht": "cartrial.grading:derive_icaht",
    "score edss": "cartrial.neuro:derive_edss",
    "score va": "cartrial.neuro:derive_visual_acuity",
    "score osis": "cartrial.neuro:derive_osis",
    "score responders": "cartrial.neuro:derive_responders",
    "relapses": "cartrial.neuro:derive_relapses",
    "nca": "cartrial.kinetics:derive_nca",
    "kinetics simulate": "cartrial.kinetics:simulate_stein2019_chunks",
    "kinetics fit": "cartrial.kinetics:derive_stein2019_fits",
    "kinetics popfit": "cartrial.kinetics.popfit:fit_population",
    "kinetics map": "cartrial.kinetics.popfit:map_from_fit",
    "analyse": "cartrial.analysis:analyse",
    "report": "cartrial.report:report_files",
    "export cdisc": "cartrial.cdisc:export_cdisc",
}

#: the API a command reading the store at a cut-off, or writing files, also needs
SHARED_API = (
    "cartrial.store:read_snapshot",
    "cartrial.cdisc:read_sites",
    "cartrial.cdisc:check_folder_issues",  # export cdisc --check
    "cartrial.analysis:analysis_files",
    "cartrial.report:popfit_files",
    "cartrial.report:map_files",
    "cartrial.simulation:load_grid",
    "cartrial.kinetics.popfit:pd_fit_inputs",
    "cartrial.kinetics.popfit:pd_population_data",
)


def _leaf_commands() -> set[str]:
    group = typer.main.get_command(app)
    for module in sorted({entry.module for entry in COMMANDS if entry.module}):
        group.load_module(module)  # type: ignore[attr-defined]
    found: set[str] = set()

    def walk(command: object, path: tuple[str, ...]) -> None:
        children = getattr(command, "commands", None)
        if children:
            for name, child in children.items():
                walk(child, (*path, name))
        else:
            found.add(" ".join(path))

    walk(group, ())
    return found


def test_every_command_is_listed() -> None:
    assert _leaf_commands() == set(COMMAND_API)


@pytest.mark.parametrize("target", sorted({t for t in COMMAND_API.values() if t} | set(SHARED_API)))
def test_the_api_is_public_at_the_package_root_and_documented(target: str) -> None:
    package_name, _, dotted = target.partition(":")
    package = importlib.import_module(package_name)
    head, _, method = dotted.partition(".")
    assert head in package.__all__, f"{head} is not in {package_name}.__all__"
    obj = getattr(package, head)
    if method:
        obj = getattr(obj, method)
    if callable(obj):
        assert (inspect.getdoc(obj) or "").strip(), f"{target} has no docstring"
