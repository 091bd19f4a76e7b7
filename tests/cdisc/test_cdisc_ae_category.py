"""AE.AECAT is a readable category, never the store's internal code (D-19.306): the example's
non-haematological adverse events were AECAT ``NON_HEMATOLOGIC``."""

from __future__ import annotations


def test_aecat_values_are_readable_terms_of_the_codelist(exported) -> None:  # type: ignore[no-untyped-def]
    from cartrial.cdisc.spec import codelists

    terms = {t.value for t in codelists()["AECAT"].terms}
    assert "NON-HEMATOLOGIC" in terms
    assert not any("_" in t for t in terms)
    for name in ("AE", "ADAE"):
        values = set(exported.frames[name]["AECAT"].astype(str))
        assert "NON-HEMATOLOGIC" in values, name  # the example has two non-haematological events
        assert not any("_" in v for v in values), (name, sorted(values))
        assert values <= terms, (name, sorted(values - terms))


def test_every_store_category_has_its_aecat_term() -> None:
    """Each adverse-event category the store accepts maps to one term of the AECAT codelist."""
    from cartrial.cdisc.sdtm import ae_category
    from cartrial.cdisc.spec import codelists
    from cartrial.protocol.dlt import ToxicityCategory

    terms = {t.value for t in codelists()["AECAT"].terms}
    mapped = {c.value: ae_category(c.value) for c in ToxicityCategory}
    assert set(mapped.values()) == terms
    assert mapped["non_hematologic"] == "NON-HEMATOLOGIC"
    assert ae_category(" Non_Hematologic ") == "NON-HEMATOLOGIC"
