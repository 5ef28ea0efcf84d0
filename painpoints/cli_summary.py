"""The summary that ``painpoints analyze`` prints after a run, in the interface language.

Rows used and not used, what came from the cache, the topics, sentiment and the
topic-vs-churn table with its notes. run.json and the output files hold the full detail.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Final

from rich.console import Console
from rich.table import Table

from painpoints import schema as S
from painpoints.i18n import get_language, load_catalogue, quote, reason_text, tr
from painpoints.settings import MIN_TEXTS_FOR_TOPICS

SUMMARY_ROWS = 10
# Row numbers printed per reason of the rows not used for topics. rejected_rows.csv lists all.
SUMMARY_ROWS_PER_REASON = 3
# List separators (items, groups of items) per interface language. They sit here and
# not in the catalogue because every zh catalogue entry must contain a Chinese character.
LIST_SEPARATORS: Final = {"en": (", ", "; "), "zh": ("、", "；")}
# Outcome notes printed under the table. run.json contains all of them.
SUMMARY_NOTES = 8


def _format_ratio(value: float, low: float, high: float) -> str:
    if any(map(lambda number: number is None or (isinstance(number, float) and math.isnan(number)), (value, low, high))):
        return "–"
    return f"{value:.2f} ({low:.2f}–{high:.2f})"


def _print_rows(output: Console, result, out_dir: Path) -> None:
    info = result.info
    mapping = {key: value or "–" for key, value in info["column_mapping"].items()}
    output.print(tr("cli.mapping", **mapping))
    output.print(tr("cli.status_counts", total=info["rows"], **info["rows_by_status"]))
    repaired = info["input"].get("repaired_quote_rows") or []
    if repaired:
        output.print(tr("cli.repaired_quotes", rows=_row_numbers(repaired)), style="yellow")

    _print_event_value(output, info)
    skipped = result.skipped_rows
    if len(skipped):
        output.print(tr("cli.skipped_rows", count=skipped[S.ROW_NUMBER].nunique(), groups=_skipped_groups(skipped),
                        file=out_dir / "rejected_rows.csv"), style="yellow")


def _print_event_value(output: Console, info: dict) -> None:
    """With --event-value, say how many rows hold it and which other values count as not churned."""
    counts = info.get("outcome_values")
    if not counts or not counts["other_rows"]:
        return
    item_separator, _ = LIST_SEPARATORS[get_language()]
    values = item_separator.join(tr("cli.value_count", value=value, count=count)
                                 for value, count in counts["other_values"].items())
    if sum(counts["other_values"].values()) < counts["other_rows"]:
        values += item_separator + "…"
    mapping = info["customers_column_mapping"] or {}
    column = mapping.get("outcome") or info["column_mapping"]["outcome"]
    output.print(tr("cli.event_value_counts", column=column, event_rows=counts["event_rows"],
                    event_value=counts["event_value"], other_rows=counts["other_rows"], values=values),
                 markup=False, highlight=False)


def _row_numbers(rows: list[int]) -> str:
    """Name the first ``SUMMARY_ROWS_PER_REASON`` of sorted row numbers: "row 3", "rows 3, 5, …"."""
    item_separator, _ = LIST_SEPARATORS[get_language()]
    first_rows = item_separator.join(str(row) for row in rows[:SUMMARY_ROWS_PER_REASON])
    if len(rows) == 1:
        return tr("cli.skipped_row_number", rows=first_rows)
    if len(rows) <= SUMMARY_ROWS_PER_REASON:
        return tr("cli.skipped_row_numbers", rows=first_rows)
    return tr("cli.skipped_row_numbers_more", rows=first_rows)


def _skipped_groups(skipped) -> str:
    """Describe the rows not used for topics per reason: row count and first row numbers.

    The most frequent reason comes first. A rejected row with two problems counts under
    both reasons, so the counts can add up to more than the number of rows.
    """
    _, group_separator = LIST_SEPARATORS[get_language()]
    pairs = skipped[[S.REASON, S.ROW_NUMBER]].drop_duplicates()
    rows_by_reason = [(str(reason), sorted(int(row) for row in rows))
                      for reason, rows in pairs.groupby(S.REASON, sort=False)[S.ROW_NUMBER]]
    rows_by_reason.sort(key=lambda item: (-len(item[1]), item[1][0]))

    groups = []
    for reason, rows in rows_by_reason:
        numbers = _row_numbers(rows)
        key = f"cli.skipped_reason.{reason}"
        if key in load_catalogue():
            groups.append(tr(key, count=len(rows), rows=numbers, values=_first_values(skipped, reason)))
        else:
            groups.append(tr("cli.skipped_reason_other", count=len(rows), reason=reason_text(reason), rows=numbers))
    return group_separator.join(groups)


def _first_values(skipped, reason: str) -> str:
    """Quote the first distinct values of the rows skipped for ``reason``, for the entries that name them."""
    if "value" not in skipped.columns:
        return ""
    item_separator, _ = LIST_SEPARATORS[get_language()]
    found = skipped.loc[skipped[S.REASON] == reason, "value"].astype(str).unique()
    values = item_separator.join(quote(value) for value in found[:SUMMARY_ROWS_PER_REASON])
    if len(found) > SUMMARY_ROWS_PER_REASON:
        values += item_separator + "…"
    return values


def _join_items(items: list[str]) -> str:
    """Join ``items`` as a sentence does: "a, b and c" in English, "a、b和c" in Chinese."""
    if len(items) == 1:
        return items[0]
    item_separator, _ = LIST_SEPARATORS[get_language()]
    return tr("cli.list_and", items=item_separator.join(items[:-1]), last=items[-1])


def _print_reused(output: Console, info: dict) -> None:
    """Name what this run read from the cache: text vectors, sentiment scores, topic model."""
    items = []
    embedding = info.get("embedding") or {}
    if embedding.get("from_cache"):
        items.append(tr("cli.reused_vectors", cached=embedding["from_cache"], total=embedding["texts_embedded"]))
    # reused_results is a subset of "sentiment" and "topics", sorted.
    items += [tr(f"cli.reused_{stage}") for stage in info.get("reused_results") or []]
    if items:
        output.print(tr("cli.reused_results", items=_join_items(items)), style="dim")


def _print_sentiment(output: Console, info: dict) -> None:
    sentiment = info.get("sentiment") or {}
    if not sentiment or not any(sentiment.get("rows_by_label", {}).values()):
        return  # no row was scored, for example when no row has text
    key = f"cli.sentiment_method.{sentiment['method']}"
    # Methods without a catalogue name (snownlp, vader, char-ngram …) keep their option value.
    method = tr(key) if key in load_catalogue() else sentiment["method"]
    output.print(tr("cli.sentiment_rows", method=method, **sentiment["rows_by_label"]))
    if "cv_balanced_accuracy" in sentiment:
        output.print(tr("cli.sentiment_fitted", column=sentiment["label_column"], rows=sentiment["labelled_rows"],
                        accuracy=sentiment["cv_balanced_accuracy"], folds=sentiment["folds"]))
    candidates = sentiment.get("label_column_candidates") or []
    if candidates:
        output.print(tr("cli.sentiment_label_hint", columns=", ".join(candidates), column=candidates[0]),
                     style="yellow")


def _print_topics(output: Console, info: dict) -> None:
    topics = info["topics"]
    if topics.get("empty_seed_topics"):
        output.print(tr("cli.empty_seed_topics", names=_join_items(topics["empty_seed_topics"])), style="yellow")
    if topics["note"] == "topics.too_few_texts" and info["embedding"]["texts_embedded"] == 0:
        output.print(tr("cli.no_texts", column=info["column_mapping"]["text"]), style="yellow")
        return
    if topics["note"]:
        minimum = MIN_TEXTS_FOR_TOPICS if topics["note"] == "topics.too_few_texts" else topics["min_topic_size"]
        output.print(tr(topics["note"], count=info["embedding"]["texts_embedded"], minimum=minimum), style="yellow")
        return
    output.print(tr("cli.topics_found", count=topics["count"],
                    outliers=topics["outlier_share_after_reduction"],
                    before=topics["outlier_share_before_reduction"]))
    sample = topics.get("fitted_on_sample")
    if sample:
        output.print(tr("cli.topics_sampled", sample=sample["sample_size"], texts=info["embedding"]["texts_embedded"],
                        seed=sample["seed"]))


def _outcome_table(outcomes) -> Table:
    """Build the top rows of the topic-vs-churn table, sorted by lift as the table is."""
    table = Table(title=tr("cli.summary_title", customers=outcomes.n_customers, rate=outcomes.overall_rate))
    for key in ("col_topic", "col_label", "col_customers", "col_churned", "col_rate", "col_lift", "col_or", "col_q"):
        if key == "col_label":
            table.add_column(tr(f"cli.{key}"), max_width=40, overflow="ellipsis", no_wrap=True)
        else:
            table.add_column(tr(f"cli.{key}"), no_wrap=True)

    for _, row in outcomes.to_frame().head(SUMMARY_ROWS).iterrows():
        flag = " *" if bool(row["small_group"]) else ""
        table.add_row(
            str(row[S.TOPIC_ID]),
            str(row["label"]),
            f"{int(row['customers'])}{flag}",
            str(int(row["churned"])),
            f"{row['churn_rate']:.1%}",
            "–" if math.isnan(row["lift"]) else f"{row['lift']:.2f}",
            _format_ratio(row["odds_ratio"], row["or_ci_low"], row["or_ci_high"]),
            "–" if math.isnan(row["q_value"]) else f"{row['q_value']:.3g}",
        )
    return table


def _print_outcome_notes(output: Console, info: dict, out_dir: Path) -> None:
    """Print the first outcome notes of run.json in the interface language, dimmed."""
    from painpoints.outcomes._messages import stored_message_text

    notes = (info.get("outcomes") or {}).get("messages") or []
    language = get_language()
    for note in notes[:SUMMARY_NOTES]:
        # Notes contain brackets, as in "topic(s) [5]", which Rich would read as markup.
        output.print(f"  · {stored_message_text(note, language)}", style="dim", markup=False, highlight=False)
    if len(notes) > SUMMARY_NOTES:
        more = tr("cli.outcome_notes_more", count=len(notes) - SUMMARY_NOTES, file=out_dir / "run.json")
        output.print(f"  {more}", style="dim", markup=False, highlight=False)


def print_summary(result, out_dir: Path, store: Path) -> None:
    """Print the summary of a finished run: rows, reuse, topics, sentiment, the outcome table and its notes."""
    # Piped output defaults to 80 columns, which folds the table; 140 keeps one line per topic.
    output = Console() if Console(stderr=True).is_terminal else Console(width=140)
    _print_rows(output, result, out_dir)
    _print_reused(output, result.info)
    _print_topics(output, result.info)
    _print_sentiment(output, result.info)

    if result.outcomes is None:
        output.print(tr("cli.no_outcome"), style="yellow")
    else:
        output.print(_outcome_table(result.outcomes))
        if result.outcomes.to_frame().head(SUMMARY_ROWS)["small_group"].any():
            output.print(tr("cli.small_group_note"))
        _print_outcome_notes(output, result.info, out_dir)
    output.print(tr("cli.outputs_written", folder=out_dir, run_id=result.run_id, store=store))
