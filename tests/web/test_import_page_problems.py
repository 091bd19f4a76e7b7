"""The web import page lists what the API lists for the same upload (D-19.1351, D-19.1352):

- a data lock's refusal: each frozen record (the store's id, ``table.column``, what is allowed; never a
  value), answered 409 as the API answers it. Before: only the ConflictError's message, with 422;
- row-level problems: at most `MAX_PROBLEMS_SHOWN` listed with the total (the API's cap), each value
  shortened as the API shortens it. Before: every problem listed, each value whole."""

from __future__ import annotations

import datetime as dt
import html
import io
import re
import zipfile


def _rows(page: str, table_id: str) -> list[list[str]]:
    match = re.search(rf'<table[^>]*id="{table_id}"[^>]*>(.*?)</table>', page, re.S)
    assert match, table_id
    body = re.search(r"<tbody>(.*?)</tbody>", match.group(1), re.S)
    assert body
    rows = re.findall(r"<tr>(.*?)</tr>", body.group(1), re.S)
    cells = [re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, re.S) for r in rows]
    return [[html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in row] for row in cells]


def test_the_import_page_lists_each_frozen_record_as_the_api_does(web_study) -> None:
    admin = web_study.bearer("admin")
    archive = zipfile.ZipFile(io.BytesIO(admin.get("/api/v1/export/templates.zip").content))
    crs = archive.read("crs_assessments.csv").decode().splitlines()
    header = crs[0].split(",")
    temperature = header.index("temperature_c")
    changed, keys = [], []
    for line in crs[1:3]:  # two stored records changed
        cells = line.split(",")
        keys.append((cells[header.index("subject_id")], cells[header.index("assessed_at")][:10]))
        cells[temperature] = "38.1" if cells[temperature] != "38.1" else "38.2"
        changed.append(",".join(cells))
    upload = "\n".join([crs[0], *changed, *crs[3:]]).encode() + b"\n"
    web_study.service.as_user("admin").lock(dt.date(2030, 1, 1), "interim analysis")
    files = [("files", ("crs_assessments.csv", upload, "text/csv"))]
    api = admin.post("/api/v1/import/templates", files=files, data={"reason": "re-import"})
    assert api.status_code == 409, api.text
    page = web_study.session("admin").post(
        "/data/import", files=files, data={"kind": "templates", "reason": "re-import"}
    )
    assert page.status_code == 409, page.text[:500]
    assert "frozen by data lock #1" in page.text
    listed = _rows(page.text, "import-frozen")
    expected = [[p["record"], p["field"], p["message"], p["allowed"]] for p in api.json()["problems"]]
    assert len(expected) == 2
    assert listed == expected
    assert all(
        r[0].startswith("crs_assessment record ") and r[1] == "crs_assessment.assessed_at" for r in listed
    )
    assert "2 frozen record(s)" in page.text
    result = re.search(
        r'<div class="alert" role="alert" id="import-result".*?</table></div>', page.text, re.S
    )
    assert result
    for subject_id, day in keys:  # the records' values: in no message, no cell
        assert subject_id not in result.group(0) and day not in result.group(0)


def test_the_import_page_caps_the_problems_and_shortens_the_values_as_the_api(web_study) -> None:
    rows = [f"CT-{i:04d},{'x' * 300},antipyretic,paracetamol,500,mg" for i in range(1200)]
    upload = ("subject_id,given_at,therapy,agent,dose,unit\n" + "\n".join(rows) + "\n").encode()
    files = [("files", ("therapies.csv", upload, "text/csv"))]
    api = web_study.bearer("admin").post("/api/v1/import/templates", files=files, data={"dry_run": "true"})
    assert api.status_code == 422, api.text[:300]
    body = api.json()
    assert body["problems_total"] > 1000 and len(body["problems"]) == 1000
    page = web_study.session("admin").post(
        "/data/import", files=files, data={"kind": "templates", "dry_run": "1"}
    )
    assert page.status_code == 422
    listed = _rows(page.text, "import-problems")
    assert len(listed) == 1000
    assert f"{body['problems_total']} problem(s), the first 1000 listed" in page.text
    shown_values = [r[3] for r in listed]
    assert shown_values == [p["value"] or "" for p in body["problems"]]
    assert all(len(v) < 300 for v in shown_values)


def test_the_import_page_names_the_uploaded_file_not_the_servers_folder(web_study) -> None:
    """A REDCap upload whose dictionary has no data rows: one problem without a header, so the page's message
    is the problem located by its file — which was the server's temporary folder
    (``/tmp/cartrial-upload-…/dictionary.csv: no data rows``). The API takes the folder out of every answer
    (test_uploads.py); the page now too."""
    files = [
        ("files", ("records.csv", b"record_id\n1\n", "text/csv")),
        ("files", ("dictionary.csv", b"x\n", "text/csv")),
        ("files", ("mapping.yaml", b"a: 1\n", "text/yaml")),
    ]
    page = web_study.session("admin").post(
        "/data/import", files=files, data={"kind": "redcap", "dry_run": "1"}
    )
    assert page.status_code == 422
    assert "no data rows" in page.text
    assert "cartrial-upload" not in page.text
    assert "dictionary.csv: no data rows (header only)" in html.unescape(page.text)


def test_the_import_page_lists_the_soft_edit_checks_as_the_api_does(web_study) -> None:
    """An infusion whose total_car_t_cells is 99e6 for 60 kg × 5e5/kg (30e6 by hand): the soft check
    TOTAL-CELLS-MISMATCH fires, listed in the API's ``edit_checks`` (and by `cartrial import`); the page
    said only "1 form(s) checked", nothing of the data query the import raises (D-19.1354)."""
    admin = web_study.bearer("admin")
    archive = zipfile.ZipFile(io.BytesIO(admin.get("/api/v1/export/templates.zip").content))
    infusions = archive.read("infusions.csv").decode().splitlines()
    header, first = infusions[0].split(","), infusions[1].split(",")
    assert (first[header.index("weight_kg")], first[header.index("cells_per_kg")]) == ("60.0", "500000.0")
    first[header.index("total_car_t_cells")] = "99000000"
    upload = "\n".join([infusions[0], ",".join(first), *infusions[2:]]).encode() + b"\n"
    files = [("files", ("infusions.csv", upload, "text/csv"))]
    api = admin.post("/api/v1/import/templates", files=files, data={"dry_run": "true", "reason": "x"})
    assert api.status_code == 200, api.text[:300]
    page = web_study.session("admin").post(
        "/data/import", files=files, data={"kind": "templates", "dry_run": "1", "reason": "x"}
    )
    assert page.status_code == 200
    listed = _rows(page.text, "import-edit-checks")
    expected = [
        [c["check"], c["file"], str(c["row"]), c["field"], c["value"] or "", c["message"]]
        for c in api.json()["edit_checks"]
    ]
    assert [r[0] for r in expected] == ["TOTAL-CELLS-MISMATCH"]
    assert listed == expected
    assert "would raise 1 data query" in page.text


def test_more_than_a_hundred_frozen_new_records_are_counted_with_the_rest_in_a_footer(web_study) -> None:
    """150 new CRS assessments dated before the lock's cut-off: the store lists the first 100
    (`MAX_LOCKED_LISTED`) and counts the other 50 in one more problem. The page's caption said "101 frozen
    record(s)" (it counted problems), the message 150, and the "50 more" was a row with a blank record cell;
    now the caption has the true count and the 50 are a footer (D-19.1364). Each new record has no id: its
    message promises no key the page does not show (D-19.1366)."""
    admin = web_study.bearer("admin")
    archive = zipfile.ZipFile(io.BytesIO(admin.get("/api/v1/export/templates.zip").content))
    crs = archive.read("crs_assessments.csv").decode().splitlines()
    header = crs[0].split(",")
    first = crs[1].split(",")
    at = header.index("assessed_at")
    subject = first[header.index("subject_id")]
    day = dt.date.fromisoformat(first[at][:10]) + dt.timedelta(days=1)
    new = []
    for minute in range(150):  # one day's new assessments, a minute apart, none stored
        cells = list(first)
        moment = dt.datetime.combine(day, dt.time(0, 0)) + dt.timedelta(minutes=minute)
        cells[at] = moment.strftime("%Y-%m-%dT%H:%M:%S") + first[at][19:]
        new.append(",".join(cells))
    upload = "\n".join([*crs, *new]).encode() + b"\n"
    web_study.service.as_user("admin").lock(dt.date(2030, 1, 1), "interim analysis")
    files = [("files", ("crs_assessments.csv", upload, "text/csv"))]
    page = web_study.session("admin").post(
        "/data/import", files=files, data={"kind": "templates", "reason": "re-import"}
    )
    assert page.status_code == 409, page.text[:500]
    assert "150 record(s) of crs_assessment" in page.text
    assert "150 frozen record(s), the first 100 listed" in page.text
    listed = _rows(page.text, "import-frozen")
    assert len(listed) == 100
    assert all(r[0] == "" and r[1] == "crs_assessment.assessed_at" for r in listed)
    assert all(r[2].startswith("a new crs_assessment record (not stored yet: no record id)") for r in listed)
    assert "key as given" not in page.text
    footer = re.search(r"<tfoot>(.*?)</tfoot>", page.text, re.S)
    assert footer and "50 more record(s) of crs_assessment" in footer.group(1)
    assert "more record(s)" not in " ".join(" ".join(r) for r in listed)
    result = re.search(
        r'<div class="alert" role="alert" id="import-result".*?</table></div>', page.text, re.S
    )
    assert result and subject not in result.group(0) and day.isoformat() not in result.group(0)
