"""CLI command groups, one module per area. Each module exposes `register(app)` and `demo(ctx)`.

`cartrial demo` calls every area's `demo` in the order of `AREAS`, so each capability shows itself on the
shipped example data and writes what it produced under `demo-output/`.
"""

from __future__ import annotations

from types import ModuleType

from cartrial.commands import (
    audit_commands,
    auth_commands,
    escalation_commands,
    grading_commands,
    import_commands,
    kinetics_commands,
    neuro_commands,
    protocol_commands,
    store_commands,
)

AREAS: tuple[ModuleType, ...] = (
    protocol_commands,
    grading_commands,
    neuro_commands,
    escalation_commands,
    kinetics_commands,
    import_commands,
    store_commands,
    audit_commands,  # after store_commands: adds sub-commands to its `audit` group
    auth_commands,
)

__all__ = ["AREAS"]
