"""The HTML pages of the web application (server-rendered Jinja2 templates, htmx for partial updates).

`ROUTERS` lists the routers that `cartrial.web.app.create_app` includes. Every route declares the store
action it needs with ``Depends(permit(Action.X))`` (the role x route matrix test enumerates them) and every
form POST verifies the CSRF token (`cartrial.web.security.CSRF`). What a page shows is computed by the
plain-data functions of `cartrial.web.views` through the store services; templates only format it.

- `study`: study home, subject list, casebook;
- `entry`: new record, saved record (view / edit with a reason / queries), live form check (htmx);
- `queries`: query list, raise, answer, close;
- `audit`: audit trail of a subject and of a record, chain verification;
- `dashboards`: escalation (safety review committee) and safety;
- `data`: import (CSV templates or REDCap) and export links;
- `admin`: users.
"""

from __future__ import annotations

from fastapi import APIRouter

from cartrial.web.pages import admin, audit, dashboards, data, entry, queries, study

ROUTERS: list[APIRouter] = [
    entry.router,  # first: /subjects/new before study's /subjects/{subject_id}
    study.router,
    queries.router,
    audit.router,
    dashboards.router,
    data.router,
    admin.router,
]

__all__ = ["ROUTERS"]
