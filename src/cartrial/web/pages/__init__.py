"""The HTML pages of the web application (owned by the pages branch).

`ROUTERS` lists the routers that `cartrial.web.app.create_app` includes. Each route declares the store
action it needs with `dependencies=[Depends(permit(Action.X))]` (or `page_user` for any logged-in user),
so that the role x route matrix test can enumerate it.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from cartrial.store.permissions import Action
from cartrial.web.security import WebUser, permit
from cartrial.web.templating import render

home = APIRouter()


@home.get("/", response_class=HTMLResponse, name="home")
def study_home(request: Request, user: WebUser = Depends(permit(Action.READ))) -> HTMLResponse:
    """The study home (placeholder until the pages branch fills it)."""
    return render(request, "base.html", {"title": "Study home"})


ROUTERS: list[APIRouter] = [home]
