"""The mapping tables of docs/cdisc.md, generated from the dataset specs and the codelists (written once).

``python -m cartrial.cdisc.docs docs/cdisc.md`` rewrites the block between the markers; a test checks that
the committed document matches `render_mapping()`.
"""

from __future__ import annotations

import sys
from pathlib import Path

from cartrial.cdisc.spec import Variable, codelists, ct_package, ct_sources, dataset_specs

BEGIN = "<!-- BEGIN GENERATED MAPPING (python -m cartrial.cdisc.docs docs/cdisc.md) -->"
END = "<!-- END GENERATED MAPPING -->"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _how(variable: Variable) -> str:
    parts = []
    if variable.source:
        parts.append(f"`{variable.source}`")
    if variable.method:
        parts.append(variable.method)
    if variable.may_be_null:
        parts.append(f"may be null: {variable.may_be_null}")
    return _cell("; ".join(parts))


def _codelist_cell(variable: Variable) -> str:
    """The codelist, or the value-level codelists by the selecting variable (DSDECOD by DSCAT; D-15.9)."""
    if variable.value_codelists:
        pairs = "; ".join(f"{value}: {name}" for value, name in variable.value_codelists)
        return _cell(f"by {variable.codelist_by} ({pairs})")
    return variable.codelist or ""


def render_mapping() -> str:
    """Markdown of every dataset spec (variables, labels, type, core, origin, codelist, source/method) and of
    the shipped codelists, between the BEGIN/END markers."""
    lines = [BEGIN, ""]
    specs = dataset_specs()
    for standard, title in (
        ("SDTMIG", "SDTM datasets (SDTMIG 3.4)"),
        ("ADaMIG", "ADaM datasets (ADaMIG 1.3)"),
    ):
        lines += [f"### {title}", ""]
        for spec in (s for s in specs.values() if s.standard == standard):
            lines += [
                f"#### {spec.name} — {spec.label}",
                "",
                f"Class: {spec.klass}. Structure: {spec.structure}. Keys: {', '.join(spec.keys)}.",
                "",
            ]
            for note in spec.notes:
                lines.append(f"- {_cell(note)}")
            if spec.notes:
                lines.append("")
            lines += [
                "| # | variable | label | type | core | origin | codelist | source / method |",
                "|---|---|---|---|---|---|---|---|",
            ]
            for i, v in enumerate(spec.variables, start=1):
                kind = v.type + (
                    " (date)"
                    if v.date == "sasdate"
                    else " (datetime)"
                    if v.date == "sasdatetime"
                    else " (ISO 8601)"
                    if v.date == "iso8601"
                    else " (ISO 8601 duration)"
                    if v.date == "duration"
                    else ""
                )
                lines.append(
                    f"| {i} | {v.name} | {_cell(v.label)} | {kind} | {v.core} | {v.origin} "
                    f"| {_codelist_cell(v)} | {_how(v)} |"
                )
            lines.append("")
    packages = ", ".join(f"{k}: {v}" for k, v in ct_package().items())
    lines += [
        "### Controlled terminology shipped",
        "",
        f"CT packages: {packages}. `ext` = extensible; terms marked `*` are sponsor extensions (Define-XML "
        "`def:ExtendedValue`); codelists without an NCI code are sponsor-defined (`def:IsNonStandard`). "
        "A C-code in brackets was checked against the public CT copy named in the source column (keys "
        "below); `[U]` marks a CDISC code that could not be found in any public copy and stays unverified "
        "(D-15.6).",
        "",
        "| codelist | NCI code | ext | CT version | terms | source |",
        "|---|---|---|---|---|---|",
    ]
    for name, cl in sorted(codelists().items()):
        terms = ", ".join(
            t.value
            + ("*" if t.extended else "")
            + (f" ({t.nci_code})" if t.nci_code else "")
            + (" [U]" if t.unverified else "")
            for t in cl.terms
        )
        code = cl.nci_code or ("[U]" if cl.unverified else "sponsor")
        if cl.nci_code and cl.unverified:
            code += " [U]"
        checked = sorted({t.source for t in cl.terms if t.source})
        source = cl.source
        if cl.code_source:
            source += f"; codelist code: {cl.code_source}"
        if checked:
            source += f"; term codes: {', '.join(checked)}"
        if cl.note:
            source += f". {cl.note}"
        lines.append(
            f"| {name} | {code} | {'yes' if cl.extensible else 'no'} | {cl.ct_version} "
            f"| {_cell(terms)} | {_cell(source)} |"
        )
    lines += ["", "Sources of the C-codes:", "", "| key | public copy |", "|---|---|"]
    lines += [f"| {key} | {_cell(text)} |" for key, text in ct_sources().items()]
    lines += ["", END]
    return "\n".join(lines)


def update_document(path: Path) -> bool:
    """Replace the generated block of `path`; True when the file changed."""
    text = path.read_text(encoding="utf-8")
    start, end = text.index(BEGIN), text.index(END) + len(END)
    new = text[:start] + render_mapping() + text[end:]
    if new != text:
        path.write_text(new, encoding="utf-8")
        return True
    return False


def generated_block(path: Path) -> str:
    """The generated block as committed in `path`."""
    text = path.read_text(encoding="utf-8")
    return text[text.index(BEGIN) : text.index(END) + len(END)]


if __name__ == "__main__":  # pragma: no cover - a maintenance script
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/cdisc.md")
    print(f"{target}: {'updated' if update_document(target) else 'up to date'}")


__all__ = ["BEGIN", "END", "generated_block", "render_mapping", "update_document"]
