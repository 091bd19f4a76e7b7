"""Countries by ISO 3166-1: a site's country as entered (name or code) → its alpha-3 code.

The study database stores a site's country as entered; the CDISC export writes DM.COUNTRY as the ISO 3166-1
alpha-3 code (SDTMIG 3.4 DM; codelist COUNTRY). One lookup serves both, so that a country the store accepts
is one the export can write (decisions D-19.59). The ISO table is `pycountry`'s (ISO 3166-1, from Debian's
iso-codes): alpha-2 and alpha-3 codes, numeric codes, short, official and common names, without case.
"""

from __future__ import annotations

from functools import cache

from cartrial.columns import trim_blanks

COMMON_NAMES: dict[str, str] = {"uk": "GBR", "great britain": "GBR", "russia": "RUS", "turkey": "TUR"}
"""English names in common use that ISO 3166-1 does not list (lower case → alpha-3)."""

COUNTRY_ALLOWED = "a country by its ISO 3166-1 name or code, e.g. China, CN or CHN"
"""What a site's country may be, in words."""


@cache
def country_alpha3(text: str) -> str | None:
    """The ISO 3166-1 alpha-3 code of a country given by name or code (any case), or None when ISO
    3166-1 does not know it.

    >>> country_alpha3("China"), country_alpha3("cn"), country_alpha3("DEU"), country_alpha3("UK")
    ('CHN', 'CHN', 'DEU', 'GBR')
    >>> country_alpha3("N/A") is None
    True
    """
    import pycountry

    key = trim_blanks(text)  # a no-break space is kept: not a code, so refused (D-19.446)
    if not key:
        return None
    alias = COMMON_NAMES.get(key.lower())
    if alias is not None:
        return alias
    try:
        return str(pycountry.countries.lookup(key).alpha_3)
    except LookupError:
        return None


@cache
def alpha3_codes() -> tuple[str, ...]:
    """Every ISO 3166-1 alpha-3 code, sorted (the terms of the CDISC COUNTRY codelist)."""
    import pycountry

    return tuple(sorted(str(c.alpha_3) for c in pycountry.countries))


__all__ = ["COMMON_NAMES", "COUNTRY_ALLOWED", "alpha3_codes", "country_alpha3"]
