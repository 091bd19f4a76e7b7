"""Creating a study database: migrations, the study row from a protocol file, the first admin user."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, select

from cartrial import __version__
from cartrial.errors import ConflictError, InputError, Problem
from cartrial.store import audit as audit_chain
from cartrial.store.audit import AuditEntry
from cartrial.store.database import connect, upgrade
from cartrial.store.models import Site, Study, User, utc_now
from cartrial.store.service import InitResult, StudyService
from cartrial.store.tables import record_json as _record_json
from cartrial.store.tables import table_of as _table_of
from cartrial.store.users import check_password, new_site, new_user


def _protocol_version(protocol: Any, sha256: str) -> str:
    """The protocol's own version field (``study.protocol_version``, ``study.version``,
    ``protocol_version`` or ``version``), else ``sha256:<first 12 hex digits>`` of the file."""
    study = getattr(protocol, "study", None)
    for holder, name in (
        (study, "protocol_version"),
        (study, "version"),
        (protocol, "protocol_version"),
        (protocol, "version"),
    ):
        value = getattr(holder, name, None) if holder is not None else None
        if value not in (None, ""):
            return str(value)
    return f"sha256:{sha256[:12]}"


def init_study(
    url: str | Engine | None,
    protocol_path: str | Path,
    admin_username: str,
    *,
    admin_password: str | None = None,
    admin_site: str | None = None,
    protocol_version: str | None = None,
    birth_date_precision: str = "year",
) -> InitResult:
    """Create (or bring up to date) a study database: run the migrations, store the study from the protocol
    file (validated by `cartrial.protocol.load_protocol`; the YAML text, its SHA-256 and the protocol version
    are kept) and create the first admin user. Every row written is audited (source ``db init``).

    Idempotent: re-running with the same protocol file and admin changes nothing; a different protocol for
    an initialised database is refused (`ConflictError`), since protocol amendments need their own audited
    procedure. `protocol_version` overrides the version read from the protocol; `birth_date_precision`
    (``year``, default, or ``date``) is the privacy setting for subject birth dates.
    """
    from cartrial.protocol import load_protocol

    path = Path(protocol_path)
    protocol = load_protocol(path)
    text = path.read_text(encoding="utf-8")
    sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    version = protocol_version or _protocol_version(protocol, sha256)
    if birth_date_precision not in ("year", "date"):
        raise InputError(
            Problem(
                "unknown birth-date precision",
                field="birth_date_precision",
                value=birth_date_precision,
                allowed="year, date",
            )
        )
    try:  # the rules of `db user add` and `db site add` (a padded name is never matched at sign-in)
        new_user(admin_username, "admin", admin_site, None, None)
        if admin_password is not None:  # the password policy, before anything is created
            check_password(admin_password, admin_username)
        if admin_site is not None:
            new_site(admin_site, None, None)
    except InputError as exc:
        raise exc.renamed(
            {
                "username": "--admin",
                "app_user.username": "--admin",
                "site": "--admin-site",
                "site.site_id": "--admin-site",
            }
        ) from None
    owned = not isinstance(url, Engine)
    engine = url if isinstance(url, Engine) else connect(url, create=True)
    try:
        return _initialise(
            engine,
            path,
            text,
            sha256,
            version,
            admin_username,
            admin_password,
            admin_site,
            birth_date_precision,
            protocol,
        )
    finally:
        if owned:
            engine.dispose()


def _initialise(
    engine: Engine,
    path: Path,
    text: str,
    sha256: str,
    version: str,
    admin_username: str,
    admin_password: str | None,
    admin_site: str | None,
    birth_date_precision: str,
    protocol: Any,
) -> InitResult:
    revision = upgrade(engine)
    study_meta = getattr(protocol, "study", None)
    study_code = str(getattr(study_meta, "id", None) or path.stem)
    title = getattr(study_meta, "title", None)
    service = StudyService(engine)
    with engine.connect() as connection:
        if service.backend == "sqlite":
            from cartrial.store.database import SQLITE_BEGIN_OPTION

            connection.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
        with connection.begin():
            if service.backend == "postgresql":
                from sqlalchemy import text as sql_text

                from cartrial.store.transaction import PG_CHAIN_LOCK_SQL

                connection.execute(sql_text(PG_CHAIN_LOCK_SQL))
            existing = connection.execute(select(Study.__table__)).mappings().first()
            if existing is not None:
                if existing["protocol_sha256"] != sha256:
                    raise ConflictError(
                        f"this database already holds study {existing['study_code']} with protocol version "
                        f"{existing['protocol_version']} (sha256 {existing['protocol_sha256'][:12]}…); "
                        f"{path} differs. Protocol amendments are not applied by `db init`."
                    )
                return InitResult(
                    existing["study_code"],
                    existing["protocol_version"],
                    sha256,
                    admin_username,
                    revision,
                    False,
                )
            head = audit_chain.read_head(connection)
            now = utc_now()
            entries: list[AuditEntry] = []
            source = f"db init {path.name} sha256:{sha256}"

            def write(model: type[Any], values: dict[str, Any]) -> None:
                table = _table_of(model)
                record_id = connection.execute(
                    insert(table).returning(table.c.id),
                    {**values, "created_at": now, "updated_at": now, "version": 1},
                ).scalar_one()
                entries.append(
                    AuditEntry(
                        now,
                        admin_username,
                        "admin",
                        "insert",
                        table.name,
                        int(record_id),
                        None,
                        audit_chain.INSERT_FIELD,
                        None,
                        _record_json(values),
                        None,
                        source,
                        __version__,
                    )
                )

            write(
                Study,
                {
                    "study_code": study_code,
                    "title": title,
                    "protocol_version": version,
                    "protocol_file_name": path.name,
                    "protocol_sha256": sha256,
                    "protocol_yaml": text,
                    "birth_date_precision": birth_date_precision,
                },
            )
            if admin_site is not None:
                known = connection.execute(select(Site.site_id).where(Site.site_id == admin_site)).first()
                if known is None:
                    write(Site, new_site(admin_site, None, None))
            user = connection.execute(select(User.id).where(User.username == admin_username)).first()
            if user is None:
                values = new_user(admin_username, "admin", admin_site, admin_password, None)
                write(User, {"password_hash": None, **values, "active": True})
            audit_chain.append(connection, head, entries)
    return InitResult(study_code, version, sha256, admin_username, revision, True)
