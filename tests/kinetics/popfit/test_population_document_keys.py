"""`PopulationModel.from_dict` (an estimates.json read by `kinetics map --population`): each refusal names the
file, the key and what is allowed, and quotes no value of the file — as every other key of the reader does
(D-19.531). Before: `iiv` given as a text was read letter by letter (a ConfigurationError without the file
naming one letter), as a mapping it passed to a catch-all "non-finite or non-positive values" check; a
log-normal typical value ≤ 0 reached that check too; `format`, `blq` and `error.kind`/`error.scale` quoted the
file's value (`format` up to 80 characters)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from cartrial.errors import InputError
from cartrial.kinetics.popfit import PopulationModel

ESTIMATES = Path(__file__).resolve().parents[3] / "tests" / "data" / "popfit" / "estimates.json"
SECRET = "Q" * 40  # stands for any text of the file: never shown


def _document() -> dict[str, Any]:
    return dict(json.loads(ESTIMATES.read_text(encoding="utf-8")))


def _refusal(document: dict[str, Any]) -> str:
    with pytest.raises(InputError) as caught:
        PopulationModel.from_dict(document, "model.json")
    return str(caught.value)


def test_the_document_itself_is_read() -> None:
    assert PopulationModel.from_dict(_document(), "model.json").spec.model.name == "stein2019"


@pytest.mark.parametrize("value", ["cmax", {"cmax": 1.0}, 3])
@pytest.mark.parametrize("key", ["iiv", "fixed"])
def test_a_parameter_list_that_is_not_a_list_is_refused_at_its_key(key: str, value: Any) -> None:
    document = _document()
    document[key] = value
    if key == "iiv":
        document["omega"] = [[float("nan")]]
    text = _refusal(document)
    assert text.startswith(f"model.json, {key}: not a list"), text
    assert "a list of parameter names" in text


@pytest.mark.parametrize("value", [0, -1.0])
def test_a_log_normal_typical_value_not_above_zero_is_refused_at_its_key(value: float) -> None:
    document = _document()
    document["typical"]["cmax"] = value
    text = _refusal(document)
    assert text.startswith("model.json, typical.cmax: not greater than 0"), text
    assert "non-finite" not in text


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        (("format",), "cartrial.popfit/1"),
        (("blq",), "m3 | m1"),
        (("error", "kind"), "additive | proportional | combined"),
        (("error", "scale"), "linear"),
    ],
)
def test_an_option_of_the_file_is_named_not_quoted(path: tuple[str, ...], allowed: str) -> None:
    document = copy.deepcopy(_document())
    target: Any = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = SECRET
    text = _refusal(document)
    assert text.startswith(f"model.json, {'.'.join(path)}: "), text
    assert allowed in text and "Q" * 5 not in text and "got" not in text, text
