"""D-19.859: `accrual.site_time_zone` was checked with bare `zoneinfo.ZoneInfo`: it accepted `localtime`,
`Factory`, `posixrules` and `right/UTC` (zones of no place, or leap seconds counted), which the store refuses
for a site (`cartrial.columns.time_zone_of`, D-19.607), and `America` (a folder of zones) ended in an
IsADirectoryError naming the install path. The scenario now uses the store's one rule: located at the
scenario file, line and field, with what is allowed."""

from __future__ import annotations

import pytest

from cartrial.errors import InputError
from cartrial.simulation import parse_scenario

HEAD = "name: t\nprotocol: protocol.yaml\n"


@pytest.mark.parametrize("zone", ["America", "localtime", "Factory", "posixrules", "right/UTC"])
def test_a_site_time_zone_of_no_place_is_refused_at_its_line(zone: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_scenario(HEAD + f"accrual: {{site_time_zone: {zone}}}\n", "s.yaml")
    text = str(caught.value)
    assert "s.yaml, line 3, accrual.site_time_zone" in text, text
    assert "allowed: an IANA time zone" in text, text
    assert "zoneinfo" not in text and "/usr" not in text, text


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "UTC", "America/Havana"])
def test_a_places_zone_is_accepted(zone: str) -> None:
    assert (
        parse_scenario(HEAD + f"accrual: {{site_time_zone: {zone}}}\n", "s.yaml").accrual.site_time_zone
        == zone
    )
