"""The analysis page in headless Chromium: upload (mouse and keyboard), KPIs per sensor type, the trend
headline, sortable grids, exports as written, the empty state, accessibility, light and dark."""
import csv
import time

import numpy as np
import pandas as pd
import pytest
from axe_playwright_python.sync_playwright import Axe

from helpers import LiveServer, logged_in_page, page_state, wait_for
from services.simulation.sensor import generate_sensor_csv

A11Y_RULES = ["label", "select-name", "aria-progressbar-name", "button-name", "page-has-heading-one",
              "nested-interactive", "color-contrast"]


def make_csv(path):
    rng = np.random.default_rng(0)
    s, d, w = np.meshgrid(np.arange(1, 7), np.arange(1, 4), np.arange(30), indexing="ij")
    dates = pd.Timestamp("2011-01-07") + pd.to_timedelta(w.ravel() * 7, unit="D")
    values = (1000 * s.ravel() * rng.normal(1, 0.05, s.size)).round(2)
    pd.DataFrame({"Store": s.ravel(), "Dept": d.ravel(), "Date": dates.strftime("%Y-%m-%d"),
                  "Weekly_Sales": values, "IsHoliday": np.where(w.ravel() == 5, "TRUE", "FALSE")}).to_csv(path, index=False)
    return path


def make_flat_csv(path):
    """A flat year of daily sales starting on a Friday: partial first and last weeks."""
    days = pd.date_range("2010-01-15", "2010-12-20", freq="D")
    path.write_text("Date,Sales\n" + "".join(f"{d:%Y-%m-%d},100\n" for d in days))
    return path


def kpis(page):
    return [e.inner_text().strip() for e in page.query_selector_all("[data-testid=kpi-value]")]


def analysis_page(browser, server, **options):
    """The logged-in Analysis page, subscribed to file choosers from the start: a subscription that
    only begins with expect_file_chooser can reach the browser after a quick key press (a chooser that
    opened but was never reported, about every other time)."""
    page, errors = logged_in_page(browser, server, "/analysis", **options)
    page.on("filechooser", lambda _chooser: None)
    return page, errors


GC_AFTER_CLICK = """() => { if (!window.__gcAfterClick) { window.__gcAfterClick = true;
    window.addEventListener('click', () => { gc(); setTimeout(gc, 0); }); } }"""


def upload(page, path, how="click"):
    """Open the file picker with the mouse, or with the keyboard (focus the zone, press Enter or Space).
    The page collects its garbage right after each click: the picker's <input> must stay referenced
    while its dialog is open (an unreferenced one was collected at random, and its dialog lost)."""
    page.evaluate(GC_AFTER_CLICK)
    zone = page.locator("[data-testid=upload-zone]")
    with page.expect_file_chooser() as chooser:
        if how == "click":
            zone.click()
        else:
            zone.focus()
            assert page.evaluate("() => document.activeElement.dataset.testid") == "upload-zone"
            page.keyboard.press(how)
    chooser.value.set_files(str(path))


def no_page_overflow(page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")


def grid_column(page, grid_id, col_id):
    return page.eval_on_selector_all(f"#{grid_id} .ag-center-cols-container .ag-row",
                                     f"""rows => rows.sort((a, b) => a.getAttribute('row-index') - b.getAttribute('row-index'))
                                         .map(r => r.querySelector('[col-id={col_id}]').innerText)""")


SETTLED = "() => document.getAnimations().filter(a => a instanceof CSSTransition && a.playState === 'running').length === 0"


def assert_accessible(page) -> None:
    """One h1, every field and button named, the progress bar named, readable contrast: light and dark,
    and the grids follow the theme (their background is the page's)."""
    assert page.evaluate("() => document.querySelectorAll('h1').length") == 1
    backgrounds = {}
    for theme in ("light", "dark"):
        page.evaluate(f"() => document.documentElement.setAttribute('data-bs-theme', '{theme}')")
        wait_for(lambda: page.evaluate(SETTLED), 5, f"colour transitions to {theme} finished", page)
        found = Axe().run(page, context="#_pages_content",
                          options={"runOnly": {"type": "rule", "values": A11Y_RULES}}).response["violations"]
        assert found == [], [(theme, v["id"], [(n["html"][:90], n.get("any", [{}])[0].get("message", "")[:400]) for n in v["nodes"]]) for v in found]
        backgrounds[theme] = page.evaluate("""() => [getComputedStyle(document.body).backgroundColor,
            getComputedStyle(document.querySelector('#analysis-risk .ag-root-wrapper')).backgroundColor]""")
        assert backgrounds[theme][0] == backgrounds[theme][1], (theme, backgrounds[theme])
    assert backgrounds["light"] != backgrounds["dark"]
    page.evaluate("() => document.documentElement.setAttribute('data-bs-theme', 'light')")


def test_upload_analyse_filter_export(browser, tmp_path):  # noqa: F811
    csv_path = make_csv(tmp_path / "stores.csv")
    server = LiveServer(tmp_path / "srv", SIMULATOR="off").start()
    try:
        page, errors = analysis_page(browser, server, viewport={"width": 1400, "height": 1200}, accept_downloads=True)
        page.wait_for_selector("[data-testid=analysis-empty]")
        with page.expect_download() as download:                        # the empty state offers a sample
            page.click("#analysis-sample")
        sample = open(download.value.path()).read().splitlines()
        assert sample[0] == "timestamp,asset_id,sensor_id,sensor_type,value,unit,quality" and len(sample) > 1000
        started = time.monotonic()
        upload(page, csv_path)
        wait_for(lambda: "540 rows" in page.inner_text("[data-testid=upload-status]"), 30, "upload done")
        wait_for(lambda: len(kpis(page)) == 8 and kpis(page)[5] == "540", 30, "KPI cards")
        print(f"drop to KPIs visible: {time.monotonic() - started:.2f} s")
        assert "(dates read as YYYY-MM-DD)" in kpis(page)[6]                # the date format beside the span
        wait_for(lambda: page.locator(".js-plotly-plot").count() == 4, 15, "the four charts", page)
        wait_for(lambda: page.locator("#analysis-segments .ag-center-cols-container .ag-row").count() >= 2, 10,
                 "the segments", page)
        assert "Anomaly share" in page.inner_text("#analysis-risk .ag-header")           # human headers
        assert all(v.endswith("%") for v in grid_column(page, "analysis-risk", "anomaly_share"))   # 1.67 %, not 0.0167

        page.click("#analysis-groups")                                  # filter: only store 1
        page.get_by_role("option", name="1", exact=True).click()
        page.keyboard.press("Escape")
        wait_for(lambda: kpis(page)[5] == "90", 30, "filtered row count")   # 3 depts x 30 weeks

        with page.expect_download() as download:
            page.click("#analysis-export-rows")
        raw = open(download.value.path(), "rb").read()
        assert raw.endswith(b"\r\n") and raw.count(b"\r\n") == raw.count(b"\n") == 91   # RFC 4180 line ends
        content = raw.decode().splitlines()
        assert content[0].startswith('"Store"') and len(content) == 91
        assert all(line.startswith("1,") for line in content[1:])
        first = next(csv.reader(content[1:2]))
        assert first[2] == "2011-01-07" and first[4] == "FALSE"         # as the file wrote them

        page.fill("#analysis-date-from", "2011-03-04")                  # labelled native date fields
        wait_for(lambda: kpis(page)[5] == "66", 30, "rows from 4 March")   # 22 weeks x 3 depts
        page.fill("#analysis-date-from", "")
        wait_for(lambda: kpis(page)[5] == "90", 30, "the date filter cleared")
        assert errors == [], errors                                      # clean while all is well

        bad = tmp_path / "bad.csv"                                       # a bad file: a clear message
        bad.write_text("Store,Dept,Date,Weekly_Sales\n1,1,2011-01-07,10\n1,2,2011-01-07\n")
        upload(page, bad)
        wait_for(lambda: "line 3" in page.inner_text("[data-testid=upload-status]"), 20, "field-count message")

        custom = tmp_path / "meters.csv"                                 # unknown layout: mapping step
        custom.write_text("reading_day,site,kwh\n" + "".join(f"2024-01-{d:02d},{s},{d * 10 + len(s)}\n"
                                                             for d in range(1, 29) for s in ("=north", "south")))
        upload(page, custom)
        wait_for(lambda: "56 rows" in page.inner_text("[data-testid=upload-status]"), 20, "custom upload")
        wait_for(lambda: page.locator("#analysis-mapping.show").count() == 1, 20, "mapping step shown")
        wait_for(lambda: kpis(page)[5] == "56", 20, "KPIs from the suggested mapping")
        wait_for(lambda: sorted(grid_column(page, "analysis-risk", "group")) == ["=north", "south"], 20, "risk rows")
        with page.expect_download() as grid_csv:                        # the grid's own CSV export
            page.click("#analysis-risk-csv")
        exported = list(csv.reader(open(grid_csv.value.path(), newline="", encoding="utf-8-sig")))   # BOM: Excel
        assert exported[0][:2] == ["Group", "Risk"] and "Anomaly share" in exported[0]
        assert sorted(row[0] for row in exported[1:]) == ["'=north", "south"]      # no formula reaches a sheet
        assert page.locator("[data-testid=analysis-warnings]").count() == 0

        odd = tmp_path / "odd.csv"              # a value that is no finite number: left out, and said so
        odd.write_text("Store,Dept,Date,Weekly_Sales\n" + "".join(
            f"1,1,2011-01-{d:02d},{'inf' if d == 5 else d * 10}\n" for d in range(1, 29)))
        upload(page, odd)
        warning = page.locator("[data-testid=analysis-warnings]")
        wait_for(lambda: warning.count() == 1 and "not a finite number" in warning.inner_text(), 20, "the warning shown")
        assert "6" in warning.inner_text()                               # names the line (header is line 1)

        def names():
            return [u["name"] for u in page.evaluate("fetch('/api/v1/uploads').then(r => r.json())")["uploads"]]
        dialog = page.get_by_role("dialog")                          # Delete asks first, naming the file
        page.click("#analysis-delete")
        wait_for(lambda: dialog.count() == 1 and "odd.csv" in dialog.inner_text(), 10, "the question", page)
        page.click("#analysis-confirm-cancel")
        wait_for(lambda: dialog.count() == 0, 10, "the dialog closed", page)
        assert "odd.csv" in names()                                      # Cancel changed nothing
        page.click("#analysis-delete")
        wait_for(lambda: dialog.count() == 1, 10, "the question again", page)
        page.click("#analysis-confirm-ok")
        wait_for(lambda: "Upload deleted" in page.inner_text("[data-testid=analysis-message]"), 10, "deleted", page)
        assert sorted(names()) == ["meters.csv", "stores.csv"]
        assert all("400" in e for e in errors), errors                   # only the refused bad upload
    finally:
        server.stop()


@pytest.mark.parametrize("width, height", [(1440, 900), (390, 844)])
def test_keyboard_upload_sensor_types_flat_trend_and_grids(browser, tmp_path, width, height):
    sensors = generate_sensor_csv(tmp_path / "sensors.csv", assets=3, hours=24 * 5)
    flat = make_flat_csv(tmp_path / "flat.csv")
    server = LiveServer(tmp_path / "srv", SIMULATOR="off").start()
    try:
        page, errors = analysis_page(browser, server, viewport={"width": width, "height": height})
        empty = page.locator("[data-testid=analysis-empty]")
        empty.wait_for()                                   # before any upload: what to do, not blank axes
        assert "Weekly_Sales" in empty.inner_text() and "sensor_type" in empty.inner_text()
        assert page.locator("#analysis-results").is_hidden()            # no empty axes, no endless spinners
        assert page.locator(".js-plotly-plot:visible, .kpi-value:visible, .dash-spinner:visible").count() == 0
        assert page.locator("#analysis-sample").is_visible()
        assert no_page_overflow(page), page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")

        upload(page, sensors, how="Enter")                 # keyboard: the zone is a focusable button
        cards = page.locator("[data-testid=analysis-type-kpis]")
        wait_for(lambda: cards.count() == 4, 30, "a KPI card per sensor type", page)
        assert empty.is_hidden()
        text = {cards.nth(i).locator("h3").inner_text(): cards.nth(i).inner_text() for i in range(4)}
        assert set(text) == {"current (A)", "pressure (bar)", "temperature (°C)", "vibration (mm/s)"}
        assert all("Mean" in t and "Max" in t and "Anomalies" in t for t in text.values())
        wait_for(lambda: "…" not in cards.nth(0).inner_text(), 30, "anomaly counts per type", page)
        assert kpis(page)[0].startswith("—") and "per sensor type" in kpis(page)[0]   # no average across units
        axes = page.evaluate("""() => Object.keys(document.querySelector('#analysis-chart-time .js-plotly-plot').layout)
            .filter(k => k.startsWith('yaxis')).sort().map(k => document.querySelector('#analysis-chart-time .js-plotly-plot')
            .layout[k].title.text)""")
        assert sorted(axes) == ["A", "bar", "mm/s", "°C"], axes                   # each type on its own axis

        risk_rows = "#analysis-risk .ag-center-cols-container .ag-row"
        wait_for(lambda: page.locator(risk_rows).count() >= 3, 30, "the risk grid", page)
        page.locator("#analysis-risk .ag-header-cell[col-id=risk]").click()      # sort ascending
        wait_for(lambda: (lambda v: v == sorted(v) and len(v) >= 3)(
            [float(x) for x in grid_column(page, "analysis-risk", "risk")]), 10, "risk sorted ascending", page)
        page.locator("#analysis-risk .ag-header-cell[col-id=risk]").click()      # and descending
        wait_for(lambda: (lambda v: v == sorted(v, reverse=True))(
            [float(x) for x in grid_column(page, "analysis-risk", "risk")]), 10, "risk sorted descending", page)
        assert no_page_overflow(page), page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert_accessible(page)

        upload(page, flat, how="Space")                     # flat data with partial first and last weeks
        wait_for(lambda: kpis(page)[5] == "340", 30, "the flat file's KPIs", page)
        assert kpis(page)[7] == "flat (+0.00\u00a0%)", page_state(page)
        basis = page.inner_text("[data-testid=analysis-trend-basis]")
        assert basis == "Trend of weekly means, 2010-01-21 – 2010-12-15 (47 complete weeks)", basis
        assert page.locator("[data-testid=analysis-type-kpis]").count() == 0
        assert no_page_overflow(page), page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert errors == [], errors
    finally:
        server.stop()
