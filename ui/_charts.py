"""Charts of the viewer: Altair charts for the screen and matplotlib PNG exports.

The ``*_chart`` functions take the frames that the ``_view_*`` modules build and
return Altair charts. The ``*_png`` functions take stored run tables and return
PNG bytes for downloads. They use a CJK-capable font when the system has one
(Noto Sans CJK from fonts-noto-cjk, among others), so that Chinese labels render.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable
from functools import lru_cache
from typing import Final

import _view_churn
import _view_overview
import _view_trends
import altair as alt
import matplotlib
import pandas as pd
from matplotlib import font_manager
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from painpoints import schema as S
from painpoints.i18n import tr

# Fonts that cover Chinese, preferred first. The Noto files are found by name when
# matplotlib's font cache predates their installation.
CJK_FONTS: Final = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans SC", "Source Han Sans SC",
                    "WenQuanYi Zen Hei", "Microsoft YaHei", "PingFang SC", "SimHei")
_CJK_FILE_NAMES: Final = ("NotoSansCJK-Regular.ttc", "NotoSansCJKsc-Regular.otf", "wqy-zenhei.ttc")
COLOURS: Final = {"significant": "#d62728", "not_significant": "#7f7f7f", "small_group": "#aec7e8",
                  "with_topic": "#d62728", "without_topic": "#1f77b4"}
PNG_DPI: Final = 150
# Topics of the topic map that get a written label, largest first.
MAP_LABELS: Final = 10


# --- Altair charts for the screen -----------------------------------------------------------


def topic_sizes_chart(sizes: pd.DataFrame, language: str) -> alt.Chart:
    """Draw the rows of each topic as horizontal bars, largest on top."""
    return alt.Chart(sizes).mark_bar().encode(
        x=alt.X("rows:Q", title=tr("ui.col_rows", language)),
        y=alt.Y("label:N", sort="-x", title=None, axis=alt.Axis(labelOverlap=False, labelLimit=320)),
        tooltip=[alt.Tooltip("topic_id:Q", title=tr("ui.col_topic_id", language)),
                 alt.Tooltip("label:N", title=tr("ui.col_label", language)),
                 alt.Tooltip("rows:Q", title=tr("ui.col_rows", language), format=","),
                 alt.Tooltip("customers:Q", title=tr("ui.col_customers", language), format=",")],
    ).properties(height=max(120, 24 * len(sizes)))


def topic_map_chart(points: pd.DataFrame, language: str) -> alt.LayerChart:
    """Draw the topic map: one circle per topic, sized by rows and coloured by churn lift when known."""
    base = alt.Chart(points).encode(
        x=alt.X("map_x:Q", axis=None),
        y=alt.Y("map_y:Q", axis=None),
    )
    tooltip = [alt.Tooltip("label:N", title=tr("ui.col_label", language)),
               alt.Tooltip("rows:Q", title=tr("ui.col_rows", language), format=","),
               alt.Tooltip("lift:Q", title=tr("ui.col_lift", language), format=".2f")]
    if points["lift"].notna().any():
        colour = alt.Color("lift:Q", title=tr("ui.col_lift", language),
                           scale=alt.Scale(type="log", scheme="redblue", reverse=True, domainMid=1))
    else:
        colour = alt.value("#4c78a8")
    circles = base.mark_circle(opacity=0.75, stroke="white").encode(
        size=alt.Size("rows:Q", title=tr("ui.col_rows", language), scale=alt.Scale(range=[60, 2000])),
        color=colour, tooltip=tooltip)
    # Only the largest topics get a written label, so that labels do not pile up; tooltips name the rest.
    largest = points.nlargest(MAP_LABELS, "rows")[S.TOPIC_ID].tolist()
    labels = base.mark_text(dy=-14, fontSize=11).encode(text="label:N").transform_filter(
        alt.FieldOneOfPredicate(field=S.TOPIC_ID, oneOf=largest))
    return (circles + labels).properties(height=460)


def forest_chart(forest: pd.DataFrame, language: str, estimate_name: str, estimate: str = "crude") -> alt.LayerChart:
    """Draw the forest plot: each line's estimate with its 95% CI on a log axis, and a reference line at 1.

    ``estimate`` (``"crude"`` or ``"adjusted"``) names the legend of the highlighted points.
    """
    names = _view_churn.forest_group_names(language, estimate)
    data = forest.assign(group=[names[_view_churn.forest_group(row)] for _, row in forest.iterrows()])
    domain = [names[key] for key in ("significant", "not_significant", "small_group")]
    colours = [COLOURS[key] for key in ("significant", "not_significant", "small_group")]
    y = alt.Y("label:N", sort=alt.EncodingSortField("order", order="ascending"), title=None,
              axis=alt.Axis(labelOverlap=False, labelLimit=360))
    # The axis spans the intervals and 1, so the reference line is always in view.
    low = min([1.0, *forest["low"]]) if len(forest) else 0.5
    high = max([1.0, *forest["high"]]) if len(forest) else 2.0
    x_scale = alt.Scale(type="log", domain=[low / 1.1, high * 1.1], nice=False)
    tooltip = [alt.Tooltip("label:N", title=tr("ui.col_label", language)),
               alt.Tooltip("text:N", title=estimate_name),
               alt.Tooltip("q_value:Q", title=tr("ui.col_q_value", language), format=".3g")]
    colour = alt.Color("group:N", title=None, scale=alt.Scale(domain=domain, range=colours),
                       legend=alt.Legend(orient="top"))
    bars = alt.Chart(data).mark_rule(strokeWidth=2).encode(
        x=alt.X("low:Q", scale=x_scale, title=estimate_name), x2="high:Q", y=y, color=colour, tooltip=tooltip)
    points = alt.Chart(data).mark_point(filled=True, size=70).encode(
        x=alt.X("estimate:Q", scale=x_scale), y=y, color=colour, tooltip=tooltip)
    reference = alt.Chart(pd.DataFrame({"one": [1.0]})).mark_rule(strokeDash=[4, 4], color="black").encode(
        x=alt.X("one:Q", scale=x_scale))
    return (bars + points + reference).properties(height=max(140, 24 * len(data)))


def km_chart(curve: pd.DataFrame, language: str, time_title: str) -> alt.LayerChart:
    """Draw Kaplan–Meier step curves with and without the topic, with their 95% CI bands."""
    names = [tr("ui.km_with", language), tr("ui.km_without", language)]
    colour = alt.Color("group_name:N", title=None, legend=alt.Legend(orient="top"),
                       scale=alt.Scale(domain=names, range=[COLOURS["with_topic"], COLOURS["without_topic"]]))
    x = alt.X("time:Q", title=time_title)
    band = alt.Chart(curve).mark_area(opacity=0.15, interpolate="step-after").encode(
        x=x, y=alt.Y("ci_low:Q"), y2="ci_high:Q", color=colour)
    line = alt.Chart(curve).mark_line(interpolate="step-after").encode(
        x=x, y=alt.Y("survival:Q", title=tr("ui.km_survival", language), scale=alt.Scale(domain=[0, 1]),
                     axis=alt.Axis(format="%")),
        color=colour,
        tooltip=[alt.Tooltip("group_name:N", title=tr("ui.km_group", language)),
                 alt.Tooltip("time:Q", title=time_title),
                 alt.Tooltip("survival:Q", title=tr("ui.km_survival", language), format=".1%"),
                 alt.Tooltip("at_risk:Q", title=tr("ui.km_at_risk", language), format=",")])
    return (band + line).properties(height=360)


def trend_chart(points: pd.DataFrame, measure: str, language: str, period: str = "month") -> alt.Chart:
    """Draw one line per topic of ``measure`` (``"share"`` or ``"churn_rate"``) over the periods.

    Periods are labelled with numbers only (``2025-01`` or ``2025-01-06`` for weeks),
    which read the same in Chinese and English.
    """
    title = tr("ui.measure_share" if measure == "share" else "ui.measure_churn", language)
    date_format = "%Y-%m" if period == "month" else "%Y-%m-%d"
    return alt.Chart(points).mark_line(point=True).encode(
        x=alt.X("period:T", title=tr("ui.col_period", language),
                axis=alt.Axis(format=date_format, labelAngle=0, tickCount=min(12, points["period"].nunique() or 1))),
        y=alt.Y(f"{measure}:Q", title=title, axis=alt.Axis(format="%")),
        color=alt.Color("topic:N", title=None, legend=alt.Legend(orient="right", labelLimit=320)),
        tooltip=[alt.Tooltip("topic:N", title=tr("ui.col_topic", language)),
                 alt.Tooltip("period_name:N", title=tr("ui.col_period", language)),
                 alt.Tooltip(f"{measure}:Q", title=title, format=".1%"),
                 alt.Tooltip("customers:Q", title=tr("ui.col_customers", language), format=",")],
    ).properties(height=300)


def heatmap_chart(cells: pd.DataFrame, language: str, measure_name: str) -> alt.LayerChart:
    """Draw the topic-by-segment heatmap with each cell's percentage written in it."""
    base = alt.Chart(cells).encode(
        x=alt.X("segment:N", title=tr("ui.col_segment", language), axis=alt.Axis(labelAngle=0)),
        y=alt.Y("topic:N", sort=None, title=None, axis=alt.Axis(labelOverlap=False, labelLimit=360)),
    )
    rect = base.mark_rect().encode(
        color=alt.Color("value:Q", title=measure_name, scale=alt.Scale(scheme="orangered"),
                        legend=alt.Legend(format="%")),
        tooltip=[alt.Tooltip("topic:N", title=tr("ui.col_topic", language)),
                 alt.Tooltip("segment:N", title=tr("ui.col_segment", language)),
                 alt.Tooltip("text:N", title=measure_name),
                 alt.Tooltip("customers:Q", title=tr("ui.col_customers", language), format=","),
                 alt.Tooltip("segment_customers:Q", title=tr("ui.col_segment_customers", language), format=",")])
    text = base.mark_text(fontSize=10).encode(text="text:N")
    return (rect + text).properties(height=max(160, 22 * cells["topic"].nunique()))


# --- PNG exports (matplotlib) ----------------------------------------------------------------


@lru_cache(maxsize=1)
def cjk_font_family() -> str | None:
    """Return the name of an installed font that covers Chinese, or None when none is found."""
    installed = {entry.name for entry in font_manager.fontManager.ttflist}
    for name in CJK_FONTS:
        if name in installed:
            return name
    for path in font_manager.findSystemFonts():
        if path.rsplit("/", 1)[-1] in _CJK_FILE_NAMES:
            try:
                font_manager.fontManager.addfont(path)
                return font_manager.FontProperties(fname=path).get_name()
            except (OSError, RuntimeError):
                continue
    return None


def _font_settings() -> dict[str, object]:
    family = cjk_font_family()
    return {"font.family": [family, "DejaVu Sans"]} if family else {}


def _with_cjk_font(draw: Callable[..., bytes]) -> Callable[..., bytes]:
    """Run a PNG function with a CJK-capable font as matplotlib's default, when one is installed."""
    @functools.wraps(draw)
    def wrapper(*args, **kwargs) -> bytes:
        with matplotlib.rc_context(_font_settings()):
            return draw(*args, **kwargs)
    return wrapper


def _figure(height: float, width: float = 8.0) -> Figure:
    # Figure() rather than pyplot: no global figure registry, safe in Streamlit's threads.
    return Figure(figsize=(width, height), dpi=PNG_DPI, layout="constrained")


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


@_with_cjk_font
def forest_plot_png(outcomes: pd.DataFrame, language: str, estimate: str = "crude", sort: str = "lift") -> bytes:
    """Draw the forest plot of a stored outcome table (``StoredRun.topic_outcomes``) as PNG bytes.

    Each topic with a known estimate gets one line: the odds ratio (``estimate="crude"``)
    or the adjusted odds ratio (``"adjusted"``) with its 95% CI on a log axis. A dashed
    line marks 1. Lines follow ``sort`` (``"lift"``, ``"revenue"`` or ``"size"``), and
    labels are in ``language``.
    """
    forest = _view_churn.forest_rows(_view_churn.sort_outcomes(outcomes, sort), language, estimate)
    figure = _figure(height=max(2.0, 0.32 * len(forest) + 1.2))
    axes = figure.add_subplot()
    positions = list(range(len(forest)))[::-1]
    for position, (_, row) in zip(positions, forest.iterrows()):
        colour = COLOURS[_view_churn.forest_group(row)]
        axes.plot([row["low"], row["high"]], [position, position], color=colour, linewidth=2)
        axes.plot(row["estimate"], position, "o", color=colour)
    axes.axvline(1.0, color="black", linestyle="--", linewidth=1)
    axes.set_xscale("log")
    axes.set_yticks(positions, forest["label"].tolist())
    axes.set_xlabel(tr("ui.estimate_crude" if estimate == "crude" else "ui.estimate_adjusted_short", language))
    axes.set_title(tr("ui.forest_heading", language))
    return _png(figure)


@_with_cjk_font
def topic_sizes_png(topics: pd.DataFrame, language: str) -> bytes:
    """Draw the rows of each topic (``StoredRun.topics``, topics >= 0) as horizontal bars, as PNG bytes."""
    sizes = _view_overview.topic_sizes(topics, language)
    figure = _figure(height=max(2.0, 0.3 * len(sizes) + 1.2))
    axes = figure.add_subplot()
    axes.barh(sizes["label"][::-1], sizes["rows"][::-1], color="#4c78a8")
    axes.set_xlabel(tr("ui.col_rows", language))
    axes.set_title(tr("ui.topic_sizes", language))
    return _png(figure)


@_with_cjk_font
def km_plot_png(curves: pd.DataFrame, topic_id: int, language: str, *, label: str | None = None,
                time_title: str | None = None) -> bytes:
    """Draw the Kaplan–Meier curves of one topic from the stored ``survival_curves`` table as PNG bytes.

    Both groups (with and without the topic) as step functions with their 95% CI bands.
    ``label`` (the topic's label) goes into the title and ``time_title`` (see
    ``_view_churn.km_time_title``) under the time axis.
    """
    curve = _view_churn.km_curve(curves, topic_id, language)
    figure = _figure(height=4.5)
    axes = figure.add_subplot()
    for group in ("with_topic", "without_topic"):
        part = curve[curve["group"] == group]
        if part.empty:
            continue
        axes.step(part["time"], part["survival"], where="post", color=COLOURS[group],
                  label=part["group_name"].iloc[0])
        axes.fill_between(part["time"], part["ci_low"], part["ci_high"], step="post", alpha=0.15,
                          color=COLOURS[group])
    axes.set_ylim(0, 1.02)
    axes.set_ylabel(tr("ui.km_survival", language))
    axes.set_title(tr("ui.km_heading", language) + f" · {topic_id}" + (f": {label}" if label else ""))
    if time_title:
        axes.set_xlabel(time_title)
    axes.legend(loc="lower left")
    return _png(figure)


@_with_cjk_font
def trend_png(trends: pd.DataFrame, language: str, topic_ids: list[int] | None = None,
              period: str = "month") -> bytes:
    """Draw the share of customers per period of each topic from the stored ``trends`` table as PNG bytes.

    ``topic_ids`` None draws the largest topics (``_view_trends.DEFAULT_TREND_TOPICS``).
    ``period`` is the run's trend period (``"month"`` or ``"week"``), for the tick labels.
    """
    choices = _view_trends.trend_topic_choices(trends, language)
    chosen = topic_ids if topic_ids is not None else _view_trends.default_trend_topics(choices)
    points = _view_trends.trend_points(trends, chosen, period, language)
    figure = _figure(height=4.5)
    axes = figure.add_subplot()
    periods = sorted(points["period"].unique())
    names = [_view_trends.format_period(value, period, language) for value in periods]
    for topic, part in points.groupby("topic", sort=False):
        axes.plot([periods.index(value) for value in part["period"]], part["share"], marker="o", label=topic)
    axes.set_xticks(range(len(periods)), names, rotation=45, ha="right")
    axes.yaxis.set_major_formatter(PercentFormatter(1.0))
    axes.set_ylabel(tr("ui.measure_share", language))
    axes.set_title(tr("ui.trends_heading", language))
    axes.legend(fontsize="small")
    return _png(figure)
