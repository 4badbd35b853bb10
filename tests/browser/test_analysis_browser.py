"""The analysis page in headless Chromium: upload, KPIs and charts, filter, export."""
import time

import numpy as np
import pandas as pd

from helpers import LiveServer, logged_in_page, wait_for


def make_csv(path):
    rng = np.random.default_rng(0)
    s, d, w = np.meshgrid(np.arange(1, 7), np.arange(1, 4), np.arange(30), indexing="ij")
    dates = pd.Timestamp("2011-01-07") + pd.to_timedelta(w.ravel() * 7, unit="D")
    values = (1000 * s.ravel() * rng.normal(1, 0.05, s.size)).round(2)
    pd.DataFrame({"Store": s.ravel(), "Dept": d.ravel(), "Date": dates.strftime("%Y-%m-%d"),
                  "Weekly_Sales": values, "IsHoliday": np.where(w.ravel() == 5, "TRUE", "FALSE")}).to_csv(path, index=False)
    return path


def kpis(page):
    return [e.inner_text().strip() for e in page.query_selector_all("[data-testid=kpi-value]")]


def test_upload_analyse_filter_export(browser, tmp_path):  # noqa: F811
    csv_path = make_csv(tmp_path / "stores.csv")
    server = LiveServer(tmp_path / "srv", SIMULATOR="off").start()
    try:
        page, errors = logged_in_page(browser, server, "/analysis", viewport={"width": 1400, "height": 1200},
                                      accept_downloads=True)
        page.wait_for_selector("[data-testid=upload-zone]")
        started = time.monotonic()
        with page.expect_file_chooser() as chooser:
            page.click("[data-testid=upload-zone]")
        chooser.value.set_files(str(csv_path))
        wait_for(lambda: "540 rows" in page.inner_text("[data-testid=upload-status]"), 30, "upload done")
        wait_for(lambda: len(kpis(page)) == 8 and kpis(page)[5] == "540", 30, "KPI cards")
        print(f"drop to KPIs visible: {time.monotonic() - started:.2f} s")
        assert "(dates read as YYYY-MM-DD)" in kpis(page)[6]                # the date format beside the span
        wait_for(lambda: page.locator(".js-plotly-plot").count() == 4, 15, "the four charts", page)
        wait_for(lambda: page.locator(".segment-item").count() >= 2, 10, "the segments", page)

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
        assert errors == [], errors                                      # clean while all is well

        bad = tmp_path / "bad.csv"                                       # a bad file: a clear message
        bad.write_text("Store,Dept,Date,Weekly_Sales\n1,1,2011-01-07,10\n1,2,2011-01-07\n")
        with page.expect_file_chooser() as chooser:
            page.click("[data-testid=upload-zone]")
        chooser.value.set_files(str(bad))
        wait_for(lambda: "line 3" in page.inner_text("[data-testid=upload-status]"), 20, "field-count message")

        custom = tmp_path / "meters.csv"                                 # unknown layout: mapping step
        custom.write_text("reading_day,site,kwh\n" + "".join(f"2024-01-{d:02d},{s},{d * 10 + len(s)}\n"
                                                             for d in range(1, 29) for s in ("north", "south")))
        with page.expect_file_chooser() as chooser:
            page.click("[data-testid=upload-zone]")
        chooser.value.set_files(str(custom))
        wait_for(lambda: "56 rows" in page.inner_text("[data-testid=upload-status]"), 20, "custom upload")
        wait_for(lambda: page.locator("#analysis-mapping.show").count() == 1, 20, "mapping step shown")
        wait_for(lambda: kpis(page)[5] == "56", 20, "KPIs from the suggested mapping")
        assert page.locator("[data-testid=analysis-warnings]").count() == 0

        odd = tmp_path / "odd.csv"              # a value that is no finite number: left out, and said so
        odd.write_text("Store,Dept,Date,Weekly_Sales\n" + "".join(
            f"1,1,2011-01-{d:02d},{'inf' if d == 5 else d * 10}\n" for d in range(1, 29)))
        with page.expect_file_chooser() as chooser:
            page.click("[data-testid=upload-zone]")
        chooser.value.set_files(str(odd))
        warning = page.locator("[data-testid=analysis-warnings]")
        wait_for(lambda: warning.count() == 1 and "not a finite number" in warning.inner_text(), 20, "the warning shown")
        assert "6" in warning.inner_text()                               # names the line (header is line 1)
        assert all("400" in e for e in errors), errors                   # only the refused bad upload
    finally:
        server.stop()
