"""POST /api/v1/analyze against a real server: results, every error as JSON with its status."""
import gzip

import pytest
import requests

from helpers import LiveServer

RETAIL = ("Store,Dept,Date,Weekly_Sales,IsHoliday\n"
          + "".join(f"{s},{d},2010-{m:02d}-05,{1000 * s + 10 * d + m},{'TRUE' if m == 2 else 'FALSE'}\n"
                    for s in (1, 2) for d in (1, 2, 3) for m in range(1, 13)))


@pytest.fixture(scope="module")
def api_server(tmp_path_factory):
    srv = LiveServer(tmp_path_factory.mktemp("api"), SIMULATOR="off", MAX_UPLOAD_MB=0.05).start()
    yield srv
    srv.stop()


def post(server, session, data: bytes, name="upload.csv", **form):
    return session.post(server.url + "/api/v1/analyze", files={"file": (name, data, "text/csv")}, data=form)


def test_requires_login(api_server):
    r = requests.post(api_server.url + "/api/v1/analyze", files={"file": ("a.csv", b"x")})
    assert r.status_code == 401


def test_analyzes_a_retail_file(api_server):
    r = post(api_server, api_server.session(), RETAIL.encode())
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["profile"] == "retail" and body["rows"] == 72
    assert body["mapping"] == {"time": "Date", "values": ["Weekly_Sales"], "groups": ["Store", "Dept"],
                               "flag": "IsHoliday"}
    values = [1000 * s + 10 * d + m for s in (1, 2) for d in (1, 2, 3) for m in range(1, 13)]
    assert body["kpis"]["average"] == pytest.approx(sum(values) / len(values), abs=0.01)
    holiday = [1000 * s + 10 * d + 2 for s in (1, 2) for d in (1, 2, 3)]          # February rows
    assert body["kpis"]["holiday_average"] == pytest.approx(sum(holiday) / len(holiday), abs=0.01)
    assert {"count", "share", "top"} <= set(body["anomalies"])
    assert not any((api_server.data_dir / "upload-work").rglob("*"))      # nothing kept (the work file is gone)


def test_explicit_mapping_from_form_fields(api_server):
    text = "day,site,kwh\n2024-01-01,a,5\n2024-01-02,a,7\n2024-01-03,b,9\n"
    r = post(api_server, api_server.session(), text.encode(), time="day", values="kwh", groups="site")
    assert r.status_code == 200, r.text
    assert r.json()["mapping"]["values"] == ["kwh"] and r.json()["kpis"]["max"] == 9


@pytest.mark.parametrize("data, status, code", [
    (gzip.compress(RETAIL.encode()), 415, "compressed"),
    (b"", 400, "empty"),
    (b"Store,Dept,Date,Weekly_Sales\n1,1,2010-01-01,abc\n", 422, "non_numeric"),
    (b"Store,Dept,Date,Weekly_Sales\n1,1,2010-01-01\n", 400, "field_count"),
    (RETAIL.encode() * 40, 413, "file_too_large"),          # ~90 KB against MAX_UPLOAD_MB=0.05
])
def test_errors_are_json_with_status(api_server, data, status, code):
    r = post(api_server, api_server.session(), data)
    assert r.status_code == status and r.json()["code"] == code and r.json()["error"]


def test_missing_file_field(api_server):
    r = api_server.session().post(api_server.url + "/api/v1/analyze", data={"x": "1"})
    assert r.status_code == 400 and r.json()["code"] == "no_file"


EURO = "Datum;Filiale;Umsatz\n" + "".join(f"{d:02d}.01.2024;{site};1.{d:03d},50\n" for d in range(1, 30)
                                          for site in ("Köln", "Bonn"))


def test_european_dates_come_back_day_first_with_their_format(api_server):
    r = post(api_server, api_server.session(), EURO.encode("latin-1"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["encoding"] == "latin-1" and body["kpis"]["date_format"] == "DD.MM.YYYY"
    assert (body["kpis"]["days"], body["kpis"]["last"][:10], body["kpis"]["trend"]) == (29, "2024-01-29", "flat")


@pytest.mark.parametrize("text, check", [
    ("when,revenue\n2024-01-01T10:00:00+01:00,1\n2024-01-02T10:00:00-05:00,2\n2024-01-03T10:00:00+01:00,3\n",
     lambda body: body["kpis"]["first"] == "2024-01-01T09:00:00+00:00"),
    ("when,revenue\n" + "".join(f"2024-01-{i:02d},{v}\n" for i, v in enumerate(
        ["1", "2", "3", "inf", "5", "6", "7", "-inf", "9", "10", "1e309", "12"], 1)),
     lambda body: body["kpis"]["max"] == 12 and body["kpis"]["average"] is not None
     and "lines 5, 9, 12" in " ".join(body["warnings"])),
    ("when;revenue\n01.02.2024;1\n13.01.2024;2\n01.25.2024;4\n",
     lambda body: body["code"] == "mixed_date_order" and body["lines"] == [3, 4]),
])
def test_awkward_values_never_log_a_traceback(api_server, text, check):
    before = api_server.log_path.read_text()
    r = post(api_server, api_server.session(), text.encode())
    assert r.status_code in (200, 422) and check(r.json()), r.text
    after = api_server.log_path.read_text()[len(before):]
    assert "Traceback" not in after and "ERROR" not in after


def test_sensor_types_come_back_with_units_and_the_trend_with_its_basis(api_server, tmp_path):
    from services.simulation.sensor import generate_sensor_csv
    data = generate_sensor_csv(tmp_path / "s.csv", assets=2, hours=12).read_bytes()
    body = post(api_server, api_server.session(), data).json()
    kpis = body["kpis"]
    assert kpis["mixed_units"] and kpis["average"] is None                  # never one mean across units
    assert {k["label"]: k["unit"] for k in kpis["by_type"]} == {
        "current (A)": "A", "pressure (bar)": "bar", "temperature (°C)": "°C", "vibration (mm/s)": "mm/s"}
    assert all(k["count"] == 24 and k["trend"] and k["trend_basis"] for k in kpis["by_type"])
    retail = post(api_server, api_server.session(), RETAIL.encode()).json()["kpis"]
    assert retail["trend"] in ("flat", "increasing", "decreasing") and "weekly means" in retail["trend_basis"]
