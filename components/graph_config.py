"""The one Plotly config every chart uses: no Plotly logo, and a short mode bar.

Plotly's full mode bar is about 265 px wide and sits in the chart's top-right corner, where it covered
the legend of a two-series chart at 1024 px. Kept are the buttons an analyst uses (zoom, pan, reset,
download as PNG): 144 px, measured. Phones hide the mode bar altogether (assets/pulseboard.css).
"""
GRAPH_CONFIG = {"displaylogo": False,
                "modeBarButtonsToRemove": ["select2d", "lasso2d", "zoomIn2d", "zoomOut2d", "autoScale2d",
                                           "toggleSpikelines", "hoverClosestCartesian", "hoverCompareCartesian"]}
