"""The one result convention of cartrial's frame-level derivations.

Every `derive_*` function of an engine package (grading, neuro, kinetics, escalation) returns a `Result`:

- ``result.table`` — a tidy `pandas.DataFrame`, one row per input row / subject / episode / parameter, with
  plain column names (units in the names where they have one: ``onset_day``, ``duration_days``);
- ``result.metadata()`` — a JSON-ready dict: the derivation's name, the cartrial version, the option values
  used (so the result can be reproduced and regraded), the units of the columns, the sources implemented,
  notes (for example "2 rows excluded") and the located problems of rows left out with ``keep_going``.

The command line writes ``result.table`` as CSV and ``result.metadata()`` beside it in ``--json``; the store
persists both as derived values; the analysis layer reads ``result.table``. The idea follows lifelines and
scikit-learn: the same object in a notebook as behind every interface.

>>> import pandas as pd
>>> r = Result(pd.DataFrame({"subject_id": ["S1"], "max_grade": [2]}), derivation="example",
...            options={"scale": "ASTCT 2019"}, sources=("Lee DW et al., BBMT 2019;25:625",))
>>> r.table.max_grade.tolist()
[2]
>>> r.metadata()["options"]
{'scale': 'ASTCT 2019'}
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from cartrial.errors import Problem


def plain(value: Any) -> Any:
    """An option value in JSON-ready form: enums by value, dataclasses as dicts, tuples as lists."""
    if isinstance(value, enum.Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | frozenset | set):
        items = [plain(v) for v in value]
        return sorted(items, key=str) if isinstance(value, frozenset | set) else items
    return value


@dataclass(frozen=True)
class Result:
    """A derived table and what is needed to reproduce it (see the module docstring).

    `options` may hold an options dataclass or a mapping; `metadata()` flattens it to JSON-ready values.
    `problems` are the located problems of input rows that were left out (``keep_going``): they are never
    dropped silently.
    """

    table: pd.DataFrame
    derivation: str
    options: Any = None
    sources: tuple[str, ...] = ()
    units: Mapping[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    problems: tuple[Problem, ...] = ()

    def metadata(self) -> dict[str, Any]:
        """JSON-ready description: derivation, cartrial version, options, units, sources, notes, problems."""
        from cartrial import __version__

        return {
            "derivation": self.derivation,
            "cartrial_version": __version__,
            "options": plain(self.options) if self.options is not None else {},
            "units": dict(self.units),
            "sources": list(self.sources),
            "notes": list(self.notes),
            "problems": [p.as_dict() for p in self.problems],
        }

    def __len__(self) -> int:
        return len(self.table)


__all__ = ["Result", "plain"]
