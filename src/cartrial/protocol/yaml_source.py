"""YAML (and JSON) input with line numbers: every validation error is reported at its line.

The text is composed with PyYAML (``yaml.compose`` node tree, whose marks carry line and column), turned
into plain Python data node by node, and validated by a pydantic model. Every pydantic error location
(``loc``) is mapped back to the YAML node it came from, so an error reads
``protocol.yaml, line 41, escalation.skeleton[2]: ...``. All errors are reported at once:
syntax errors (the parser's line and column), duplicate keys in a mapping (both lines), unknown keys
(with the keys allowed there), type and range errors, and the cross-field checks of the models (which
raise `semantic_error` with paths relative to the model they check).
"""

from __future__ import annotations

import json
import re
import types
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, TypeVar

import pydantic_core
import yaml
from pydantic import BaseModel, StrictBool, ValidationError
from pydantic_core import PydanticCustomError

from cartrial.allowed import PARSER_ERROR_WORDS, choice_text
from cartrial.errors import InputError, Problem
from cartrial.sources import JSON_MAX_DEPTH, NESTED_TOO_DEEP

ModelT = TypeVar("ModelT", bound=BaseModel)

TrueFalse = StrictBool
"""The type of every true/false field of a YAML/JSON model (and of its Python API): only a real boolean
(YAML ``true`` / ``false``). Pydantic's lax mode read ``"yes"``, ``"no"``, ``"off"``, ``1`` and ``0`` as
booleans, while the option dataclasses (`RelapseOptions.require_adjudicated`, declared ``true | false`` in
`cartrial.allowed`) and the escalation registry refused them: one rule, refused at the key's line as
"not an allowed value; allowed: true | false" (docs/science/decisions.md D-19.21)."""

SEMANTIC_ERROR_TYPE = "cartrial_semantic"

#: A number in exponent notation without a decimal point or without a signed exponent (``1e-3``, ``5e5``,
#: ``2.5e6``): YAML 1.2 and JSON read it as a number; YAML 1.1's float rule (PyYAML) needs both a point and
#: a signed exponent and read it as text, so ``lloq: 1e-3`` was refused as "not a number" and a number in
#: one float field but text in another (docs/science/decisions.md D-19.22).
_EXPONENT_FLOAT = re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+\Z")


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """libyaml's composer when PyYAML was built with it (about 10× faster; same nodes and marks), else
    pure Python; tags resolved by the YAML 1.1 safe schema, plus YAML 1.2's exponent-notation floats."""


_Loader.add_implicit_resolver("tag:yaml.org,2002:float", _EXPONENT_FLOAT, list("-+0123456789."))

#: The most values (mapping keys and values, sequence items, scalars) one YAML document may hold once its
#: aliases are expanded. The reference protocol holds about 1,000; an alias-expansion ("billion laughs")
#: file of a few hundred bytes would expand to 10^9 and exhaust memory, so it is refused when the budget
#: is spent, in well under a second.
MAX_YAML_VALUES = 100_000


@dataclass(frozen=True)
class Issue:
    """One cross-field problem found by a model validator, located relative to that model."""

    path: tuple[str | int, ...]
    message: str
    value: Any = None
    allowed: str | None = None
    #: other places the message refers to; ``{ref0}``, ``{ref1}``… in `message` become "line N"
    refs: tuple[tuple[str | int, ...], ...] = ()


def plain_message(issue: Issue) -> str:
    """`issue`'s message with each ``{refN}`` the path it refers to (``a/b``), for a reader without lines."""
    message = issue.message
    for number, ref in enumerate(issue.refs):
        message = message.replace(f"{{ref{number}}}", "/".join(str(part) for part in ref))
    return message


def semantic_error(issues: Sequence[Issue]) -> PydanticCustomError:
    """A pydantic error carrying several located issues (raise it from a ``model_validator``)."""
    summary = "; ".join(plain_message(issue) for issue in issues)
    return PydanticCustomError(SEMANTIC_ERROR_TYPE, "{summary}", {"summary": summary, "issues": list(issues)})


def option_error(problem: Problem) -> PydanticCustomError:
    """A pydantic error for a value outside its declaration (`cartrial.allowed.Allowed.problem`; raise it
    from a ``field_validator``): the reader shows the declaration's message and allowed text at the key's
    file and line, as every option error reads (``out of range (got 1.5); allowed: …``)."""
    return PydanticCustomError(
        "option_range", "{message}", {"message": problem.message, "expected": problem.allowed}
    )


def option_issues(error: InputError, path: Callable[[str], tuple[str | int, ...]]) -> list[Issue]:
    """The problems of an engine's option check (`cartrial.allowed`: each names the engine's field) as located
    issues: `path` maps a field to its path relative to the model that checks it. Lets a model call the
    consumer's own rule at load time, so that the rule is declared once and its problems get their line."""
    return [Issue(path(p.field or ""), p.message, p.value, p.allowed) for p in error.problems]


@dataclass
class _Located:
    """A composed node with the line of the key that introduced it (1-based)."""

    node: yaml.Node
    line: int
    children: dict[Any, _Located] = field(default_factory=dict)
    items: list[_Located] = field(default_factory=list)


@dataclass(frozen=True)
class YamlPositions:
    """Maps a pydantic ``loc`` to the dotted path and the line of the YAML node it names."""

    root: _Located | None
    #: the display paths of the scalars the builder could not read (a problem of their own already): the
    #: model's error at the same path is the same bad value, reported once (D-19.1456)
    unreadable: frozenset[str] = frozenset()

    def locate(self, loc: Sequence[str | int]) -> tuple[str, int | None]:
        """The display path (``a.b[2].c``) and the best line for `loc`.

        Components that do not name a node (union tags, validator names) are skipped; a missing final
        key (a required field) is shown in the path at the line of its parent mapping.
        """
        path = ""
        current = self.root
        line = current.line if current else None
        for position, part in enumerate(loc):
            if current is None:
                break
            if isinstance(part, int) and not isinstance(part, bool) and current.items:
                if 0 <= part < len(current.items):
                    current = current.items[part]
                    path += f"[{part}]"
                    line = current.line
                continue
            if isinstance(current.node, yaml.MappingNode):
                if part in current.children:
                    current = current.children[part]
                    path += f".{part}" if path else str(part)
                    line = current.line
                    continue
                if position == len(loc) - 1 and isinstance(part, str) and _looks_like_field(part):
                    # a key that is not in the file: a required field, reported at its parent
                    path += f".{part}" if path else part
                    current = None
                continue
        return path or "(top level)", line


def _looks_like_field(part: str) -> bool:
    return part != "[key]" and "[" not in part and "-" not in part


def _explicitly_tagged(node: yaml.Node, lines: Sequence[str]) -> bool:
    """Whether the file gives `node` a tag (``!!timestamp 1975-13-10``): its text, in `lines` of the
    file, starts with ``!`` (libyaml's marks hold no buffer)."""
    mark = node.start_mark
    line = lines[mark.line] if 0 <= mark.line < len(lines) else ""
    return line[mark.column : mark.column + 1] == "!"


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


class _Builder:
    """Turns a composed node tree into Python data, collecting located problems on the way."""

    def __init__(self, loader: Any, source: str, text: str = "") -> None:
        self.loader = loader
        self.source = source
        self.lines = text.split("\n")
        self.problems: list[Problem] = []
        self.unreadable: set[str] = set()

    def build(self, node: yaml.Node, line: int, path: str, depth: int = 0) -> tuple[Any, _Located]:
        located = _Located(node=node, line=line)
        if depth >= JSON_MAX_DEPTH and isinstance(node, yaml.CollectionNode):
            # the one limit and message of JSON too (D-19.509); a recursive alias is refused before this
            self.problems.append(
                Problem(
                    NESTED_TOO_DEEP, file=self.source, line=line, allowed=f"at most {JSON_MAX_DEPTH} levels"
                )
            )
            return None, located
        if isinstance(node, yaml.CollectionNode):
            kind = "map" if isinstance(node, yaml.MappingNode) else "seq"
            if str(node.tag) != YAML_CORE_TAG + kind:
                # a tag changes what a mapping or list is (!!set, !!omap, !!pairs, an application's own tag):
                # refused, never dropped in silence (D-19.1424)
                what = "mapping" if kind == "map" else "list"
                self.problems.append(
                    Problem(
                        f"a tag on a {what} is not read (tag {_tag_text(str(node.tag))})",
                        file=self.source,
                        line=_line(node) if path else line,
                        field=path or None,
                        allowed=f"the {what} without a tag",
                    )
                )
                return None, located
        if isinstance(node, yaml.MappingNode):
            data: dict[Any, Any] = {}
            first_line: dict[Any, int] = {}
            for key_node, value_node in node.value:
                if key_node.tag == MERGE_TAG:
                    self.problems.append(
                        Problem(
                            "a YAML merge key (<<) is not supported",
                            file=self.source,
                            line=_line(key_node),
                            field=path or None,
                            allowed="the keys written out in each mapping",
                        )
                    )
                    continue
                key = self.scalar(key_node)
                key_line = _line(key_node)
                child_path = f"{path}.{key}" if path else str(key)
                if not isinstance(key, str | int | float | bool) or isinstance(key_node, yaml.CollectionNode):
                    self.problems.append(
                        Problem("a mapping key must be a plain value", file=self.source, line=key_line)
                    )
                    continue
                if key in first_line:
                    self.problems.append(
                        Problem(
                            f"duplicate key {key!r} (first given at line {first_line[key]})",
                            file=self.source,
                            line=key_line,
                            field=child_path,
                            allowed="each key once per mapping",
                        )
                    )
                    continue
                first_line[key] = key_line
                value, child = self.build(value_node, key_line, child_path, depth + 1)
                data[key] = value
                located.children[key] = child
            return data, located
        if isinstance(node, yaml.SequenceNode):
            values: list[Any] = []
            for index, item_node in enumerate(node.value):
                value, child = self.build(item_node, _line(item_node), f"{path}[{index}]", depth + 1)
                values.append(value)
                located.items.append(child)
            return values, located
        return self.scalar(node, path), located

    def scalar(self, node: yaml.Node, path: str = "") -> Any:
        if isinstance(node, yaml.CollectionNode):
            return None
        try:
            value = self.loader.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, TypeError, OverflowError, AttributeError, LookupError):
            # PyYAML's constructor of an explicit tag fails on text not of the tag's form with whatever
            # its parsing raises (``!!timestamp x``: AttributeError, ``!!bool x``: KeyError)
            tag = str(node.tag)
            self.unreadable.add(path)
            if tag == YAML_CORE_TAG + "timestamp" and self._implicit(node):
                # date-like text, no calendar date (``1975-13-10``), in a date field or a text field alike
                # (``id: 1975-13-10``): the builder knows no field's type, so the words fit both (D-19.1456)
                # (an explicit ``!!timestamp`` asks for a date: the words of every date)
                tagged = _explicitly_tagged(node, self.lines)
                problem = Problem(
                    "not a calendar date" if tagged else "date-like text that is no calendar date",
                    file=self.source,
                    line=_line(node),
                    value=node.value,
                    field=path or None,
                    allowed=DATE_ALLOWED if tagged else f"{DATE_ALLOWED}, or quote the text",
                )
            elif tag.startswith(YAML_CORE_TAG):
                name = tag.removeprefix(YAML_CORE_TAG)
                problem = Problem(
                    f"not a value of the tag !!{name}",
                    file=self.source,
                    line=_line(node),
                    value=node.value,
                    field=path or None,
                    allowed=f"text of the !!{name} form, or the value without the tag",
                )
            else:  # an application's tag (``!dob``): no constructor; PyYAML's text names its own buffer
                problem = Problem(
                    f"unknown tag {_tag_text(tag)}",
                    file=self.source,
                    line=_line(node),
                    value=node.value,
                    field=path or None,
                    allowed="the value without a tag",
                )
            self.problems.append(problem)
            return node.value
        if isinstance(value, bytes):  # `!!binary`: no field holds bytes; pydantic would decode them as text
            self.problems.append(
                Problem(
                    "binary data (!!binary) is not a value of any field",
                    file=self.source,
                    line=_line(node),
                    field=path or None,
                    allowed="the value as plain text or a number",
                )
            )
            return None
        return value

    def _implicit(self, node: yaml.Node) -> bool:
        """Whether a plain scalar's tag is the one YAML resolves from its text (no tag, or that one)."""
        resolved = self.loader.resolve(yaml.ScalarNode, node.value, (True, False))
        return getattr(node, "style", None) in (None, "") and str(resolved) == str(node.tag)


DATE_ALLOWED = "a calendar date YYYY-MM-DD"
"""What a date field allows, in the words of every YAML reader."""


YAML_CORE_TAG = "tag:yaml.org,2002:"
"""The prefix of the standard tags (``!!int`` is ``tag:yaml.org,2002:int``)."""


MERGE_TAG = "tag:yaml.org,2002:merge"
"""The tag of a ``<<`` merge key: refused (the merged keys would have no line of their own)."""


def _tag_text(tag: str) -> str:
    """A tag as written: ``!!set`` for a YAML core tag, the tag itself otherwise (``!dob``), shortened."""
    written = "!!" + tag.removeprefix(YAML_CORE_TAG) if tag.startswith(YAML_CORE_TAG) else tag
    return written if len(written) <= 60 else written[:57] + "…"


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _expanded_sizes(root: yaml.Node, limit: int) -> dict[int, int] | None:
    """How many values each node of the composed graph expands to once aliases are resolved (capped at
    `limit` + 1), keyed by node id; None when an alias refers to a node that contains it (a cycle).

    Aliases share one composed node, so this walks each distinct node once (memoised, iterative): linear
    in the size of the file however large the expansion would be."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()  # the ancestors of the node being visited
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            total = 1 + sum(sizes[id(child)] for child in _children(node))
            sizes[key] = min(total, limit + 1)
            open_nodes.discard(key)
            continue
        if key in sizes:
            continue
        if key in open_nodes:
            return None
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(_children(node)))
    return sizes


def _refuse_alias_bombs(root: yaml.Node, source: str, limit: int = MAX_YAML_VALUES) -> None:
    """`InputError` when the document is an alias bomb: a cycle of aliases, or more than `limit` values
    once its aliases are expanded. Located at the innermost value that alone expands beyond the limit."""
    sizes = _expanded_sizes(root, limit)
    if sizes is None:
        raise InputError(
            Problem(
                "an alias (*name) refers to a value that contains it (a recursive document); refused",
                file=source,
                allowed="aliases to values defined before and outside them",
            )
        )
    if sizes[id(root)] <= limit:
        return
    culprit = root
    while True:
        bigger = next((c for c in _children(culprit) if sizes[id(c)] > limit), None)
        if bigger is None:
            break
        culprit = bigger
    raise InputError(
        Problem(
            f"the document expands to more than {limit:,} values through its aliases (*name); refused "
            "(an alias-expansion or 'billion laughs' file?)",
            file=source,
            line=_line(culprit),
            allowed=f"at most {limit:,} values once aliases are expanded",
        )
    )


def _syntax_problem(exc: yaml.YAMLError, source: str) -> Problem:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    what = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    context_mark = getattr(exc, "context_mark", None)
    if context and context_mark is not None and mark is not None and context_mark.line != mark.line:
        # the parser notices an unclosed bracket or quote only on a later line: name where it opened
        context += f" started at line {context_mark.line + 1}"
    text = f"malformed YAML: {what}" + (f" ({context})" if context else "")
    if mark is not None:
        return Problem(f"{text} at column {mark.column + 1}", file=source, line=mark.line + 1)
    return Problem(text, file=source)


def read_yaml(text: str, source: str) -> tuple[Any, YamlPositions, list[Problem]]:
    """Parse one YAML document into Python data with positions; returns the non-fatal problems found.

    Raises `InputError` for malformed YAML (with the parser's line and column), an empty document, or one
    that expands beyond `MAX_YAML_VALUES` values through aliases (refused before it can exhaust memory).
    Duplicate keys are returned as problems (the first value is kept) so that validation can go on.
    """
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise InputError(Problem("the file is empty; expected a YAML mapping", file=source, line=1))
        _refuse_alias_bombs(node, source)
        builder = _Builder(loader, source, text)
        data, located = builder.build(node, _line(node), "")
    except yaml.YAMLError as exc:
        raise InputError(_syntax_problem(exc, source)) from None

    finally:
        loader.dispose()
    return data, YamlPositions(located, frozenset(builder.unreadable)), builder.problems


def read_json(text: str, source: str) -> tuple[Any, YamlPositions, list[Problem]]:
    """Parse JSON, reporting syntax errors at their line; positions come from the YAML composer, and so
    does the report of keys given twice: every one, with its field path, its line and the line of its first
    occurrence — the rule of YAML candidates, one report for both (D-19.547)."""
    from cartrial.sources import parse_json

    def parsed(repeated_keys: Literal["refuse", "allow"]) -> Any:
        try:  # too deep or too long a number is a located error too (D-19.496)
            return parse_json(text, repeated_keys=repeated_keys)
        except json.JSONDecodeError as exc:
            raise InputError(
                Problem(f"malformed JSON: {exc.msg} at column {exc.colno}", file=source, line=exc.lineno)
            ) from None

    data = parsed("allow")
    try:
        _, positions, duplicates = read_yaml(text, source)
    except InputError:  # valid JSON that YAML 1.1 cannot compose (rare): keep the data, lose the lines
        parsed("refuse")  # with no report of repeated keys from the composer, refuse the first one here
        positions, duplicates = YamlPositions(None), []
    return data, positions, duplicates


# ---------------------------------------------------------------------------------------------- errors


def _unwrap(annotation: Any) -> Any:
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _model_members(annotation: Any) -> Iterator[Any]:
    annotation = _unwrap(annotation)
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            yield from _model_members(arg)
    else:
        yield annotation


def _descend(annotation: Any, part: str | int) -> Any:
    """The annotation one `loc` step below `annotation` (best effort; None when unknown)."""
    candidates = list(_model_members(annotation))
    for candidate in candidates:
        origin = typing.get_origin(candidate)
        if isinstance(part, int) and origin in (list, tuple, Sequence):
            return typing.get_args(candidate)[0]
        if origin in (dict, Mapping) and isinstance(part, str):
            return typing.get_args(candidate)[1]
        if (
            isinstance(candidate, type)
            and issubclass(candidate, BaseModel)
            and isinstance(part, str)
            and part in candidate.model_fields
        ):
            return candidate.model_fields[part].annotation
    # a discriminated-union tag: pick the member whose literal tag equals `part`
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            for info in candidate.model_fields.values():
                literal = _unwrap(info.annotation)
                if typing.get_origin(literal) is typing.Literal and part in typing.get_args(literal):
                    return candidate
    return annotation if len(candidates) > 1 else None


def _allowed_keys(model: type[BaseModel], loc: Sequence[str | int]) -> str | None:
    annotation: Any = model
    for part in loc:
        annotation = _descend(annotation, part)
        if annotation is None:
            return None
    names: list[str] = []
    for candidate in _model_members(annotation):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            names.extend(candidate.model_fields)
    return choice_text(sorted(set(names))) if names else None


def _basic_allowed(kind: str) -> str | None:
    """What a value of pydantic's basic types allows (`cartrial.allowed.PARSER_ERROR_WORDS`, the one table of
    the parser's error types, D-19.1455), or None: pydantic's message says what was expected but no
    allowed text (``Input should be a valid integer``)."""
    words = PARSER_ERROR_WORDS.get(kind)
    return None if words is None else words.allowed


def _choices(expected: str) -> str:
    """Pydantic's list of the allowed values of an enum, literal or tagged union (``'a', 'b' or 'c'``) in the
    words of every message, `cartrial.allowed.choice_text` (``a | b | c``).

    >>> _choices("'escalation_only' or 'deescalation'")
    'escalation_only | deescalation'
    >>> _choices("1, 2 or 3")
    '1 | 2 | 3'
    """
    items = [item.strip() for item in re.split(r", | or ", expected)]
    return choice_text(item[1:-1] if len(item) > 1 and item[0] == item[-1] == "'" else item for item in items)


def allowed_from_ctx(error: Mapping[str, Any]) -> str | None:
    """What a pydantic error item allows, in the reader's words (``≤ 5``, a choice list, a date …)."""
    if str(error.get("type", "")).startswith("date"):
        return DATE_ALLOWED
    if error.get("type") == "finite_number":
        return "a finite number"
    if (basic := _basic_allowed(str(error.get("type")))) is not None:
        return basic
    ctx = error.get("ctx") or {}
    for key in ("expected", "expected_tags"):
        if key in ctx:
            return _choices(str(ctx[key]))
    for key, sign in (("gt", ">"), ("ge", "≥"), ("lt", "<"), ("le", "≤")):
        if key in ctx:
            return f"{sign} {ctx[key]}"
    unit = "character" if str(error.get("type", "")).startswith("string") else "item"
    for key, bound in (("max_length", "at most"), ("min_length", "at least")):
        if key in ctx:  # a length's limit, in characters of text or items of a list (D-19.1456)
            return f"{bound} {ctx[key]} {unit}{'' if ctx[key] == 1 else 's'}"
    if "pattern" in ctx:
        return f"text matching {ctx['pattern']}"
    return None


_PARSER_TYPES = frozenset(typing.get_args(pydantic_core.core_schema.ErrorType))
"""The parser's (pydantic's) own error types; a validator's own error (`option_error`, `semantic_error`) is
not one of them, nor is its ``value_error`` (a ``ValueError`` raised by a model, in cartrial's words)."""


def parser_message(error: Mapping[str, Any]) -> str:
    """The message of one pydantic error item in cartrial's words: the one table of the parser's error types
    (`cartrial.allowed.PARSER_ERROR_WORDS`, D-19.1455), a date's words, a model's own message (``Value
    error, `` dropped); never the parser's sentence ("Input should be …"): any other of its types reads "not
    an allowed value" with what is allowed (D-19.1456).

    >>> parser_message({"type": "float_parsing", "msg": "Input should be a valid number", "input": "x"})
    'not a number'
    >>> parser_message({"type": "date_parsing", "msg": "Input should be a valid date", "input": "x"})
    'not a calendar date'
    """
    kind = str(error.get("type"))
    message = str(error.get("msg", ""))
    if error.get("input", "") is None and _basic_allowed(kind) is not None:
        return "a value is required"  # null (an empty value) where a value is expected
    if kind in ("bool_type", "bool_parsing"):
        return "not an allowed value"  # the words of `cartrial.allowed.Allowed.problem` for true | false
    if kind == "union_tag_invalid":
        ctx = error.get("ctx") or {}
        discriminator = str(ctx.get("discriminator", "type")).strip("'")
        return f"unknown {discriminator} {ctx.get('tag')!r}"
    if kind == "union_tag_not_found":
        return "the rule needs a 'type'"
    if kind.startswith(("date", "datetime")):
        return "not a calendar date"
    words = PARSER_ERROR_WORDS.get(kind)
    if words is not None and words.message is not None:
        return words.message
    if kind == "value_error" and message.startswith("Value error, "):
        return message[len("Value error, ") :]
    if kind in _PARSER_TYPES:
        return "not an allowed value"
    return message


def _display(value: Any) -> Any:
    if isinstance(value, dict | list):
        return None
    return value


def problems_from_issues(
    issues: Sequence[Issue], positions: YamlPositions, source: str, prefix: tuple[str | int, ...] = ()
) -> list[Problem]:
    """Located problems for `issues` whose paths are relative to `prefix`."""
    problems: list[Problem] = []
    for issue in issues:
        path, line = positions.locate(prefix + issue.path)
        message = issue.message
        for number, ref in enumerate(issue.refs):
            ref_line = positions.locate(prefix + ref)[1]
            message = message.replace(
                f"{{ref{number}}}", f"line {ref_line}" if ref_line is not None else "an unknown line"
            )
        problems.append(
            Problem(
                message,
                file=source,
                line=line,
                field=path,
                value=_display(issue.value),
                allowed=issue.allowed,
            )
        )
    return problems


def _field_loc(loc: Sequence[str | int], data: Any) -> tuple[str | int, ...]:
    """`loc` without the names of union members (``int``, ``list[int]``, a model's name) pydantic puts in it:
    only the parts that name a key or an item of the given `data` are kept, so every member refusing one
    value has one location (the key of one problem per bad field, D-19.1456), however the file was read.

    >>> _field_loc(("v", "list[int]", 0), {"v": ["x"]})
    ('v', 0)
    >>> _field_loc(("v", "int"), {"v": {"a": 1}})
    ('v',)
    """
    kept: list[str | int] = []
    current = data
    for part in loc:
        in_mapping = isinstance(current, dict) and part in current
        in_list = (
            isinstance(current, list)
            and isinstance(part, int)
            and not isinstance(part, bool)
            and 0 <= part < len(current)
        )
        if not (in_mapping or in_list):
            continue  # a union member's name (or a validator's): no key of the data
        current = current[part]
        kept.append(part)
    return tuple(kept)


def _loc_text(loc: Sequence[str | int]) -> str:
    """The display path of `loc` (``a.b[2].c``), for a reader without line positions."""
    text = ""
    for part in loc:
        if isinstance(part, int) and not isinstance(part, bool):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "(top level)"


def problems_from_validation_error(
    error: ValidationError, positions: YamlPositions, source: str, model: type[BaseModel], data: Any = None
) -> list[Problem]:
    """One located `Problem` per bad field (semantic errors expand to one problem per issue), in cartrial's
    words (`parser_message`), never the parser's sentence (D-19.1456). The members of a union refusing one
    value make one problem, located by the error's location without the members' names (`_field_loc`, read
    against the validated `data`), never by its display path; its allowed text joins the members' words
    (``a whole number | text``)."""
    problems: list[Problem] = []
    typed: dict[tuple[str | int, ...], int] = {}
    for item in error.errors():
        loc = tuple(item["loc"])
        kind = item["type"]
        if kind == SEMANTIC_ERROR_TYPE:
            problems.extend(problems_from_issues(item["ctx"]["issues"], positions, source, loc))
            continue
        path, line = positions.locate(loc)
        if kind == "extra_forbidden":
            problems.append(
                Problem(
                    f"unknown key {loc[-1]!r}",
                    file=source,
                    line=line,
                    field=path,
                    allowed=_allowed_keys(model, loc[:-1]),
                )
            )
            continue
        if kind == "missing":
            problems.append(Problem("required key is missing", file=source, line=line, field=path))
            continue
        field_loc = _field_loc(loc, data)
        path, line = positions.locate(field_loc)
        if positions.root is None:
            path = _loc_text(field_loc)  # no line positions (read_json's fallback): the path of the location
        if path in positions.unreadable:
            continue  # the builder reported this value already (a tag's text it could not read): once
        message = parser_message(item)
        allowed = allowed_from_ctx(item)
        index = typed.get(field_loc)
        if index is not None:  # a further member of a union refusing the same value: one problem per field
            first = problems[index]
            allowed_words = (first.allowed or "").split(" | ")
            if allowed is not None and allowed not in allowed_words:
                allowed = f"{first.allowed} | {allowed}" if first.allowed else allowed
            else:
                allowed = first.allowed
            words = first.message if message == first.message else "not an allowed value"
            problems[index] = replace(first, message=words, allowed=allowed)
            continue
        typed[field_loc] = len(problems)
        problems.append(
            Problem(
                message,
                file=source,
                line=line,
                field=path,
                value=_display(item.get("input")),
                allowed=allowed,
            )
        )
    # a member refusing the whole value beside one refusing a part of it (``[x]`` for ``int | list[int]``):
    # the part is the one bad field
    enclosing = {
        typed[loc] for loc in typed for inner in typed if len(loc) < len(inner) and inner[: len(loc)] == loc
    }
    problems = [problem for index, problem in enumerate(problems) if index not in enclosing]
    problems.sort(key=lambda p: p.line if p.line is not None else 0)
    return problems


def _coerced_booleans(
    given: Any, parsed: Any, loc: tuple[str | int, ...]
) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    """The locations where the file gives ``true``/``false`` and the validated model holds something else:
    pydantic's lax mode turns a boolean into 1/0 for a number field (``cells_per_kg: true`` would be one
    cell per kg), a silent wrong value. Walks the given data beside the parsed model (mappings by field
    alias, lists item by item), so no annotation has to be read."""
    if isinstance(given, bool):
        if not isinstance(parsed, bool):
            yield loc, parsed
        return
    if isinstance(given, dict):
        if isinstance(parsed, BaseModel):
            for name, info in type(parsed).model_fields.items():
                key = info.alias or name
                if key in given:
                    yield from _coerced_booleans(given[key], getattr(parsed, name), (*loc, key))
        elif isinstance(parsed, Mapping):
            for key, item in given.items():
                if key in parsed:
                    yield from _coerced_booleans(item, parsed[key], (*loc, key))
    elif isinstance(given, list) and isinstance(parsed, list | tuple) and len(given) == len(parsed):
        for index, (item, value) in enumerate(zip(given, parsed, strict=True)):
            yield from _coerced_booleans(item, value, (*loc, index))


def validate_data(
    model: type[ModelT],
    data: Any,
    positions: YamlPositions,
    source: str,
    prior_problems: Sequence[Problem] = (),
    what: str = "file",
) -> ModelT:
    """Validate `data` with `model`; raise one `InputError` listing every problem with its line."""
    problems = list(prior_problems)
    result: ModelT | None = None
    if not isinstance(data, dict):
        problems.append(
            Problem(
                f"the {what} must be a mapping of keys to values",
                file=source,
                line=positions.root.line if positions.root else None,
                value=_display(data),
            )
        )
    else:
        try:
            result = model.model_validate(data)
        except ValidationError as exc:
            problems.extend(problems_from_validation_error(exc, positions, source, model, data))
        else:
            for loc, parsed in _coerced_booleans(data, result, ()):
                path, line = positions.locate(loc)
                number = isinstance(parsed, int | float)
                problems.append(
                    Problem(
                        "true/false is not a number" if number else "true/false is not allowed here",
                        file=source,
                        line=line,
                        field=path,
                        value="true" if data_at(data, loc) else "false",
                        allowed="a number" if number else None,
                    )
                )
    if problems or result is None:
        problems.sort(key=lambda p: p.line if p.line is not None else 0)
        count = len(problems)
        raise InputError(
            problems, header=f"{source}: {count} problem{'s' if count != 1 else ''} in the {what}"
        )
    return result


def data_at(data: Any, loc: Sequence[str | int]) -> Any:
    """The value at `loc` in plain nested mappings and lists."""
    for part in loc:
        data = data[part]
    return data


def parse_yaml_model(model: type[ModelT], text: str, source: str, what: str = "file") -> ModelT:
    """Parse YAML `text` and validate it as `model`, reporting every problem with its line number."""
    data, positions, problems = read_yaml(text, source)
    return validate_data(model, data, positions, source, problems, what)


def read_text_file(path: Any) -> str:
    """The UTF-8 text of `path` (a leading byte-order mark is dropped), or an `InputError` naming the file
    (missing, a folder, not UTF-8: with the line of the first undecodable byte)."""
    from cartrial.allowed import path_argument

    file = path_argument(path, "path")
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        raise InputError(Problem("file not found", file=str(path))) from None
    except IsADirectoryError:
        raise InputError(Problem("is a folder, expected a file", file=str(path))) from None
    except OSError as exc:
        raise InputError(Problem(f"cannot read the file: {exc.strerror}", file=str(path))) from None
    try:
        # "utf-8-sig": a byte-order mark written by some editors is accepted (json.loads refuses it)
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            Problem(
                f"not UTF-8 text: byte 0x{data[exc.start]:02x} cannot be decoded ({exc.reason})",
                file=str(path),
                line=data.count(b"\n", 0, exc.start) + 1,
                allowed="UTF-8 text",
            )
        ) from None


__all__ = [
    "MAX_YAML_VALUES",
    "SEMANTIC_ERROR_TYPE",
    "Issue",
    "TrueFalse",
    "YamlPositions",
    "allowed_from_ctx",
    "option_error",
    "option_issues",
    "parse_yaml_model",
    "parser_message",
    "plain_message",
    "problems_from_issues",
    "problems_from_validation_error",
    "read_json",
    "read_text_file",
    "read_yaml",
    "semantic_error",
    "validate_data",
]
