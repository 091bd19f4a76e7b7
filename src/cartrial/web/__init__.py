"""The study web application and REST API (issue 14): FastAPI over the store services.

- `cartrial.web.app.create_app(url)`: the ASGI application (pages, `/api/v1`, `/static`);
- `cartrial.web.security`: sessions, bearer tokens, CSRF, the per-route permission (`permit`);
- `cartrial.web.forms`: the form registry derived from the store's field rules (`cartrial.store.fields`);
- `cartrial.web.preview`: what the engines conclude from a form before it is saved.

Every read and write goes through `cartrial.store.StudyService` (roles, site restriction, reason for
change, lock, audit chain), exactly as on the command line. Run it with `cartrial serve` (docs/web.md).
"""
