"""The curves of a soak run (bench/soak.py) as a PNG: plotly, drawn by Chromium, no other dependency.

    .venv/bin/python bench/soak_chart.py --from-json soak.json --out docs/soak.png

Why this way: neither matplotlib nor kaleido is installed and the project adds no dependency for a
chart, but plotly and a Chromium driven by Playwright are there already. The figure is written as a
standalone HTML file (plotly.js embedded, so it draws offline from file://) in a temporary folder and
screenshotted at 1200x900. bench/soak.py calls `write_png` with the browser it already has; the
command above re-charts a saved run (`bench/soak.py --json`) with a Chromium of its own.

Panels, one point per interval (a minute by default) at the interval's end, warm-up shaded: web
process RSS; open file descriptors and threads (their minimum and maximum over the interval); the
Live page's JS heap after a forced GC and its long-task ms per second; event -> frame p99 and frames
per client per second; events offered and processed per second.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

WIDTH, HEIGHT = 1200, 900


def figure(summary: dict):
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots
    rows = summary["intervals"]
    x = [r["t_min"] for r in rows]
    col = lambda key: [r.get(key) for r in rows]          # noqa: E731
    fig = make_subplots(rows=3, cols=2, horizontal_spacing=0.09, vertical_spacing=0.11,
                        specs=[[{}, {}], [{"secondary_y": True}, {"secondary_y": True}], [{}, {}]],
                        subplot_titles=("web process RSS (MB)", "open fds and threads (web process)",
                                        "Live page: JS heap after GC (MB), long tasks (ms/s, right)",
                                        "event -> frame p50/p99 (ms), frames/client/s (right)",
                                        "events per second", "CPU (% of one core)"))

    def line(name, y, row, column, secondary=False, dash=None, color=None):
        fig.add_trace(go.Scatter(x=x, y=y, name=name, mode="lines+markers", line={"dash": dash, "color": color},
                                 marker={"size": 4}, legendgroup=f"{row}{column}"), row=row, col=column,
                      **({"secondary_y": secondary} if (row, column) in ((2, 1), (2, 2)) else {}))

    line("RSS median", col("rss_mb"), 1, 1, color="#1f77b4")
    line("RSS max", col("rss_mb_max"), 1, 1, dash="dot", color="#1f77b4")
    for name in summary.get("other_processes") or []:
        line(f"{name} RSS", [(r.get("others") or {}).get(name, {}).get("rss_mb") for r in rows], 1, 1, dash="dash")
    line("fds max", col("fds_max"), 1, 2, color="#d62728")
    line("fds min", col("fds_min"), 1, 2, dash="dot", color="#d62728")
    line("threads max", col("threads_max"), 1, 2, color="#2ca02c")
    line("threads min", col("threads_min"), 1, 2, dash="dot", color="#2ca02c")
    line("JS heap after GC", col("heap_live_mb"), 2, 1, color="#9467bd")
    line("JS heap max", col("heap_max_mb"), 2, 1, dash="dot", color="#9467bd")
    line("DOM heap after GC", col("dom_heap_live_mb"), 2, 1, dash="dash", color="#9467bd")
    line("long tasks ms/s", col("long_task_ms_s"), 2, 1, secondary=True, color="#ff7f0e")
    line("p99 ms", col("latency_ms_p99"), 2, 2, color="#8c564b")
    line("p50 ms", col("latency_ms_p50"), 2, 2, dash="dot", color="#8c564b")
    line("frames/client/s", col("frames_per_client_s"), 2, 2, secondary=True, color="#17becf")
    line("offered ev/s", col("offered_events_s"), 3, 1, color="#7f7f7f")
    line("processed ev/s", col("processed_events_s"), 3, 1, dash="dot", color="#000000")
    line("server CPU", col("server_cpu_pct"), 3, 2, color="#1f77b4")
    line("client CPU", col("client_cpu_pct"), 3, 2, color="#e377c2")
    line("Chromium CPU", col("browser_cpu_pct"), 3, 2, color="#bcbd22")

    warm = [r["t_min"] for r in rows if r.get("warmup")]
    if warm:
        start = rows[0]["t_min"] - rows[0]["seconds"] / 60
        for row in (1, 2, 3):
            for column in (1, 2):
                fig.add_vrect(x0=start, x1=max(warm), fillcolor="#cccccc", opacity=0.25, line_width=0,
                              row=row, col=column)
    for row in (1, 2, 3):
        for column in (1, 2):
            fig.update_xaxes(title_text="minutes" if row == 3 else None, row=row, col=column)
            if (row, column) != (1, 1):      # RSS: zoomed in, or a 5 % growth would be a flat line
                fig.update_yaxes(rangemode="tozero", row=row, col=column)
    for column in (1, 2):       # the right-hand axes: their own ticks, no second grid
        fig.update_yaxes(rangemode="tozero", secondary_y=True, showgrid=False, tickmode="auto", nticks=6,
                         row=2, col=column)
    verdict = "PASSED" if not summary.get("failures") else f"FAILED ({len(summary['failures'])})"
    fig.update_layout(
        width=WIDTH, height=HEIGHT, template="plotly_white", font={"size": 11},
        margin={"l": 60, "r": 30, "t": 80, "b": 50}, legend={"orientation": "h", "y": -0.08, "font": {"size": 10}},
        title={"text": (f"Soak, {summary.get('mode')} mode: {summary.get('clients_connected')} clients + 1 Chromium, "
                        f"{summary.get('rate_nominal'):,.0f} events/s nominal, {summary.get('minutes'):.3g} min "
                        f"(warm-up {summary.get('warmup_minutes'):.3g} min, shaded) — {verdict}"),
               "x": 0.5, "font": {"size": 14}})
    return fig


def write_png(summary: dict, out: Path, browser=None) -> Path:
    """Draw `summary` into `out` (a PNG), with `browser` (a Playwright Browser) or a Chromium of its own."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="soak-chart-") as folder:
        html = Path(folder) / "soak.html"
        figure(summary).write_html(html, include_plotlyjs=True, full_html=True,
                                   config={"displayModeBar": False, "staticPlot": True})
        if browser is not None:
            _shoot(browser, html, out)
        else:
            from playwright.sync_api import sync_playwright

            from soak_watch import launch
            with sync_playwright() as p:
                own = launch(p)
                try:
                    _shoot(own, html, out)
                finally:
                    own.close()
    return out


def _shoot(browser, html: Path, out: Path) -> None:
    context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
    try:
        page = context.new_page()
        page.goto(html.as_uri())
        # drawn: every subplot's SVG is in place (plotly builds them synchronously once plotly.js has run)
        page.wait_for_function("() => { const g = document.querySelector('.js-plotly-plot');"
                               " return g && g._fullLayout && g.querySelectorAll('.scatterlayer .trace').length > 0; }",
                               timeout=30000)
        page.screenshot(path=str(out), full_page=True)
    finally:
        context.close()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--from-json", type=Path, required=True, help="a run saved with bench/soak.py --json")
    p.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "docs" / "soak.png")
    args = p.parse_args(argv)
    print(write_png(json.loads(args.from_json.read_text()), args.out))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.exit(main())
