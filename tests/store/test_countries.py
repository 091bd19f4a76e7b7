"""Countries by ISO 3166-1 (`cartrial.countries`): a site's country as the store accepts it is one the CDISC
export can write as DM.COUNTRY (decisions D-19.59)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pycountry
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import property_examples

from cartrial.countries import alpha3_codes, country_alpha3
from cartrial.errors import InputError
from cartrial.store import StudyService, connect
from cartrial.store.importing import import_templates

COUNTRIES = list(pycountry.countries)


@given(
    country=st.sampled_from(COUNTRIES),
    form=st.sampled_from(["alpha_2", "alpha_3", "name"]),
    upper=st.booleans(),
)
@settings(max_examples=property_examples(200), deadline=None)
def test_every_iso_country_by_code_or_name_gives_its_alpha3(country: object, form: str, upper: bool) -> None:
    text = str(getattr(country, form))
    text = text.upper() if upper else text.lower()
    assert country_alpha3(f" {text} ") == country.alpha_3  # type: ignore[attr-defined]
    assert country.alpha_3 in alpha3_codes()  # type: ignore[attr-defined]


@pytest.mark.parametrize("text", ["N/A", "", "Narnia", "XX", "Europe"])
def test_what_iso_does_not_know_is_none(text: str) -> None:
    assert country_alpha3(text) is None


def test_the_country_codelist_is_every_alpha3_code() -> None:
    from cartrial.cdisc.spec import codelists

    assert [t.value for t in codelists()["COUNTRY"].terms] == list(alpha3_codes())
    assert len(alpha3_codes()) == len(COUNTRIES) >= 249


@pytest.fixture
def sqlite_study(sqlite_template: Path, tmp_path: Path) -> str:
    target = tmp_path / "study.db"
    shutil.copyfile(sqlite_template, target)
    return f"sqlite:///{target}"


def test_a_site_country_iso_does_not_know_is_refused_at_its_row(sqlite_study: str, tmp_path: Path) -> None:
    """The store took any text as a country, and the export then refused the study (DM.COUNTRY is required
    and came from a table of nine names): a site in Canada, or `CN` as the store's own tests wrote it, could
    not be exported. Now any ISO 3166-1 name or code is taken, and anything else refused where it enters."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "sites.csv").write_text("site_id,name,country\nMGH,Boston,USA\nTOR,Toronto,Narnia\n", "utf-8")
    with pytest.raises(InputError) as caught:
        import_templates(sqlite_study, folder, "admin", dry_run=True)
    (problem,) = caught.value.problems
    assert (problem.row, problem.field, problem.value) == (3, "country", "Narnia")
    service = StudyService(connect(sqlite_study))
    service.add_site("admin", "TOR", "Toronto", "Canada")
    with pytest.raises(InputError, match="ISO 3166-1"):
        service.add_site("admin", "XXX", "Nowhere", "N/A")
