"""Stored values written before a one-spelling rule: found, read in their one spelling, respelled with an
audited reason (decisions D-19.76).

Every write path stores a choice, and a known name of a free-text field (a lab test, a PK analyte:
`cartrial.protocol.lab_tests`), in its one spelling whatever the case given (D-19.42), and refuses a site
country that ISO 3166-1 does not know (D-19.59). A database written by an earlier release may still hold
other spellings (a lab result `Neutrophils`) and other countries. Nothing rewrites them silently:

- `stored_spellings(connection)` lists every stored value equal to a spelling but for case (table, record
  id, field, the spelling; the stored value itself is not repeated), each marked when it cannot be
  respelled: ``locked`` (frozen by the data lock) or ``duplicate`` (a record with the spelling and the same
  natural key exists: two records of one result, a data manager's decision);
- `unknown_countries(connection)` lists the sites whose country ISO 3166-1 does not know (no automatic
  fix: the country must be entered, `cartrial db edit site ID --set country=…`);
- `respell(service, actor, reason)` changes each respellable value through the audited service
  (`StudyUser.update_record`: who, when, the reason, old and new value in the audit trail), one record per
  transaction, and returns what it changed and what it refused (with the store's message);
- `read_spellings(table, frame)` is how the study snapshot (`cartrial.store.snapshot.read_snapshot`, the
  one read behind the analysis, the CDISC export and the web dashboards) reads such a value: in its
  spelling, counted, and the count is stated in every output — so the analysis, which selects the graded
  analytes by name, never leaves a stored `Neutrophils` out, and says it read one.

`cartrial db upgrade` reports the counts; `cartrial db respell` lists and fixes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd
from sqlalchemy import Connection, and_, select

from cartrial.errors import CartrialError, PermissionDeniedError, StoredValueError
from cartrial.store.fields import field_rules
from cartrial.store.models import STUDY_TABLES, Site
from cartrial.store.tables import require_reason, table_of

if TYPE_CHECKING:
    from cartrial.store.service import StudyService

RESPELL_SOURCE = "db respell"
"""The audit source of a respelling."""

LOCKED = "locked"
DUPLICATE = "duplicate"


def spelled_fields(table: str) -> dict[str, dict[str, str]]:
    """Field → its spellings (`FieldRule.spellings`), for every field of `table` that has one spelling per
    name."""
    try:
        rules = field_rules(table)
    except KeyError:
        return {}
    out: dict[str, dict[str, str]] = {}
    for name, rule in rules.items():
        mapping = rule.spellings()
        if mapping is not None:
            out[name] = mapping
    return out


@dataclass(frozen=True)
class StoredSpelling:
    """One stored value equal to a spelling but for case."""

    table: str
    record_id: int
    version: int
    field: str
    spelling: str
    hold: str = ""
    """Why it is not respelled: '' (it can be) | 'locked' | 'duplicate'."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "record_id": self.record_id,
            "version": self.version,
            "field": self.field,
            "spelling": self.spelling,
            "hold": self.hold,
        }


@dataclass(frozen=True)
class StoredCountry:
    """A site whose stored country ISO 3166-1 does not know (stored before D-19.59)."""

    record_id: int
    site_id: str
    version: int

    def as_dict(self) -> dict[str, Any]:
        return {"table": "site", "record_id": self.record_id, "site_id": self.site_id, "field": "country"}


def stored_spellings(connection: Connection) -> list[StoredSpelling]:
    """Every stored value equal to a spelling but for case, in table, field and id order (module doc)."""
    from cartrial.store.locking import active_lock, is_locked

    lock = active_lock(connection)
    out: list[StoredSpelling] = []
    for table_name, model in STUDY_TABLES.items():
        fields = spelled_fields(table_name)
        if not fields:
            continue
        table = table_of(model)
        key = list(model.natural_key)
        date_column = model.clinical_date_column
        for name, mapping in fields.items():
            column = table.c[name]
            wanted = [table.c.id, table.c.version, *(table.c[k] for k in key)]
            if name not in key:
                wanted.append(column)
            if date_column and date_column not in key and date_column != name:
                wanted.append(table.c[date_column])
            rows = (
                connection.execute(
                    select(*wanted)
                    .where(column.is_not(None), column.not_in(sorted(mapping.values())))
                    .order_by(table.c.id)
                )
                .mappings()
                .all()
            )  # read whole: the duplicate lookups below run on the same connection
            claimed: set[tuple[Any, ...]] = set()
            for row in rows:
                spelling = mapping.get(str(row[name]).lower())
                if spelling is None:
                    continue  # another text (kept as given), not a spelling
                hold = ""
                if is_locked(model, dict(row), lock):
                    hold = LOCKED
                elif name in key:
                    target = tuple(spelling if k == name else row[k] for k in key)
                    taken = connection.execute(
                        select(table.c.id).where(
                            and_(*(table.c[k] == v for k, v in zip(key, target, strict=True)))
                        )
                    ).first()
                    if taken is not None or target in claimed:
                        hold = DUPLICATE
                    else:
                        claimed.add(target)
                out.append(
                    StoredSpelling(table_name, int(row["id"]), int(row["version"]), name, spelling, hold)
                )
    return out


def unknown_countries(connection: Connection) -> list[StoredCountry]:
    """The sites whose stored country ISO 3166-1 does not know, in id order."""
    from cartrial.countries import country_alpha3

    table = table_of(Site)
    rows = connection.execute(
        select(table.c.id, table.c.site_id, table.c.version, table.c.country)
        .where(table.c.country.is_not(None))
        .order_by(table.c.id)
    ).all()
    return [
        StoredCountry(int(record_id), str(site_id), int(version))
        for record_id, site_id, version, country in rows
        if country_alpha3(str(country)) is None
    ]


@dataclass(frozen=True)
class StoredOutliers:
    """What `legacy_values` found: the values to respell and the countries to enter."""

    spellings: tuple[StoredSpelling, ...] = ()
    countries: tuple[StoredCountry, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.spellings and not self.countries

    def summary(self) -> str:
        """One line for `db upgrade` (counts only), empty when nothing was found."""
        if self.empty:
            return ""
        parts = []
        if self.spellings:
            per_field: dict[str, int] = {}
            for s in self.spellings:
                per_field[f"{s.table}.{s.field}"] = per_field.get(f"{s.table}.{s.field}", 0) + 1
            named = ", ".join(f"{k}: {v}" for k, v in sorted(per_field.items()))
            parts.append(
                f"{len(self.spellings)} stored value(s) in another case than their one spelling ({named}); "
                "the analysis reads them in their spelling and says so"
            )
        if self.countries:
            parts.append(f"{len(self.countries)} site(s) with a country ISO 3166-1 does not know")
        return (
            "written by an earlier release: "
            + "; ".join(parts)
            + ". List them with `cartrial db respell --dry-run`; respell with a reason (audited) by "
            "`cartrial db respell --reason TEXT`; enter a country by `cartrial db edit site ID --set "
            "country=CODE` (decisions D-19.76)"
        )


def legacy_values(connection: Connection) -> StoredOutliers:
    """The stored values that predate a one-spelling rule (`stored_spellings`, `unknown_countries`)."""
    return StoredOutliers(tuple(stored_spellings(connection)), tuple(unknown_countries(connection)))


@dataclass(frozen=True)
class RespellResult:
    """What `respell` did: the values respelled, those held back, and those the store refused."""

    respelled: tuple[StoredSpelling, ...] = ()
    held: tuple[StoredSpelling, ...] = ()
    refused: tuple[tuple[StoredSpelling, str], ...] = ()
    countries: tuple[StoredCountry, ...] = ()
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "respelled": [s.as_dict() for s in self.respelled],
            "held": [s.as_dict() for s in self.held],
            "refused": [s.as_dict() | {"message": message} for s, message in self.refused],
            "countries": [c.as_dict() for c in self.countries],
        }


def respell(
    service: StudyService,
    actor: str,
    reason: str | None,
    *,
    dry_run: bool = False,
    source: str = RESPELL_SOURCE,
) -> RespellResult:
    """Store every respellable value (`stored_spellings`, hold '') in its one spelling, each an audited
    update by `actor` with `reason` (one record per transaction: a record the store refuses is reported
    with the store's message and the others go on). `dry_run`: nothing written, the values that would be
    respelled are listed as respelled. Study-wide: a data manager or an admin (the EDIT permission and not
    restricted to one site); a dry run needs the READ permission, not restricted to one site."""
    from cartrial.store.permissions import SITE_RESTRICTED_ROLES, Action

    user = service.as_user(actor)
    if not dry_run:
        reason = require_reason(reason, "update")
    who = user.check(Action.READ if dry_run else Action.EDIT, "respell stored values")
    if who.role in SITE_RESTRICTED_ROLES:  # the listing, too, names records of every site
        raise PermissionDeniedError(
            f"user {actor!r} (role {who.role}) may not respell: it lists and changes records of every site "
            "(allowed roles: data_manager | admin; monitor | statistician for --dry-run)"
        )
    with service.read() as connection:
        found = legacy_values(connection)
    ready = tuple(s for s in found.spellings if not s.hold)
    held = tuple(s for s in found.spellings if s.hold)
    if dry_run:
        return RespellResult(ready, held, (), found.countries, dry_run=True)
    done: list[StoredSpelling] = []
    refused: list[tuple[StoredSpelling, str]] = []
    for item in ready:
        try:
            user.update_record(
                item.table, item.record_id, {item.field: item.spelling}, item.version, reason, source
            )
        except StoredValueError:  # a stored date no reader reads: the refusal itself, 409 (D-19.556)
            raise
        except CartrialError as exc:
            refused.append((item, str(exc).splitlines()[0]))
        else:
            done.append(item)
    return RespellResult(tuple(done), held, tuple(refused), found.countries)


def read_spellings(table: str, frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """`frame` (a snapshot table of store table `table`, all-string cells) with every value that equals a
    spelling but for case replaced by the spelling, and the number replaced per field (module doc)."""
    counts: dict[str, int] = {}
    fields = spelled_fields(table)
    if not len(frame) or not fields:
        return frame, counts
    out = frame
    for name, mapping in fields.items():
        if name not in frame.columns:
            continue
        cells = frame[name]
        known = set(mapping.values())
        other = (cells != "") & ~cells.isin(known)
        if not other.any():
            continue
        mapped = cells[other].str.lower().map(mapping)
        hit = mapped.notna()
        if not hit.any():
            continue
        if out is frame:
            out = frame.copy()
        out.loc[mapped[hit].index, name] = mapped[hit]
        counts[name] = int(hit.sum())
    return out, counts


def count_text(counts: Mapping[str, Mapping[str, int]]) -> str:
    """``labs.analyte: 3, pk_samples.analyte: 1`` (tables and fields in order)."""
    return ", ".join(f"{t}.{f}: {n}" for t in sorted(counts) for f, n in sorted(counts[t].items()))


__all__ = [
    "DUPLICATE",
    "LOCKED",
    "RESPELL_SOURCE",
    "RespellResult",
    "StoredCountry",
    "StoredOutliers",
    "StoredSpelling",
    "count_text",
    "legacy_values",
    "read_spellings",
    "respell",
    "spelled_fields",
    "stored_spellings",
    "unknown_countries",
]
