"""Run the stages in order: ingest → clean → embed → topics → outcomes.

Saving (store and files) is separate, see :mod:`painpoints.report` and
:mod:`painpoints.store`, so callers can inspect a result before writing it.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from painpoints import schema as S
from painpoints.clause_vectors import (
    LateClauseRecorder,
    membership_stage,
    offers_late_clauses,
)
from painpoints.clean import clean_documents, skipped_rows
from painpoints.codebook import Codebook, apply_codebook
from painpoints.embed import (
    Embedder,
    cache_key,
    choose_backend_name,
    embed_texts,
    load_embedder,
)
from painpoints.engine_ray import RayEngine
from painpoints.errors import InputDataError, SettingsError
from painpoints.guided import fit_guided_topics, read_seed_topics
from painpoints.hierarchy import topic_hierarchy
from painpoints.i18n import tr
from painpoints.ingest import load_customers, load_feedback
from painpoints.membership import row_memberships
from painpoints.outcomes import OutcomeAnalysis, OutcomeTable, analyse_outcomes
from painpoints.outcomes._sentiment import topic_sentiment
from painpoints.result_cache import ResultCache, package_versions, result_key
from painpoints.sampling import SampledTopicResult, fit_topics_sampled
from painpoints.sentiment import LEXICON_METHODS
from painpoints.sentiment_stage import (
    add_sentiment,
    sentiment_plan,
    start_lexicon_scores,
)
from painpoints.settings import AnalysisSettings, default_cache_dir
from painpoints.topic_map import add_map_coordinates
from painpoints.topics import TopicResult, TopicSettings, fit_topics
from painpoints.vector_cache import EmbeddingCache

logger = logging.getLogger(__name__)

# Called with (stage, done, total); total is 0 while a stage's size is unknown.
ProgressCallback = Callable[[str, int, int], None]
STAGES = ("read", "clean", "embed", "topics", "assign", "outcomes")
# Stages whose (done, total) count texts, so that a rate in texts per second means something.
TEXT_STAGES = frozenset({"clean", "embed", "assign"})


@dataclass
class RunResult:
    """Everything one analysis produced.

    Attributes
    ----------
    run_id : str
    documents : pandas.DataFrame
        ``schema.DOCUMENT_COLUMNS``, one row per input row, in input order, followed
        by the segment columns of ``settings.segment_cols``.
    topics : pandas.DataFrame
        ``schema.TOPIC_COLUMNS``, one row per topic including -1 (unclustered).
    outcomes : OutcomeTable or None
        None when the data has no outcome column.
    info : dict
        The content of run.json.
    skipped_rows : pandas.DataFrame
        ``schema.SKIPPED_ROW_COLUMNS``: each ``rejected`` or ``no_content`` row with
        the input column, the value (redacted like the texts) and the reason.
    analysis : OutcomeAnalysis or None
        Every outcome analysis: its ``outcomes`` is the same table as `outcomes`, plus
        survival, scores, trends and segments where the settings and data allow.
    hierarchy : pandas.DataFrame or None
        ``hierarchy.HIERARCHY_COLUMNS``: the parent theme of every topic >= 0; None
        when the run found no topic.
    memberships : pandas.DataFrame or None
        ``schema.MEMBERSHIP_COLUMNS``: every topic of each clustered row, its primary
        topic and the others it also belongs to (:mod:`painpoints.membership`).
    """

    run_id: str
    documents: pd.DataFrame
    topics: pd.DataFrame
    outcomes: OutcomeTable | None
    info: dict = field(default_factory=dict)
    skipped_rows: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(S.SKIPPED_ROW_COLUMNS)))
    analysis: OutcomeAnalysis | None = None
    hierarchy: pd.DataFrame | None = None
    memberships: pd.DataFrame | None = None


def _new_run_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]


def _topics_table(documents: pd.DataFrame, topic_result: TopicResult, labels: dict[int, str],
                  memberships: pd.DataFrame | None = None) -> pd.DataFrame:
    clustered = documents[documents[S.TOPIC_ID].notna()]
    rows = clustered.groupby(S.TOPIC_ID).size()
    # Rows with the topic as primary or other topic; without memberships, the primary rows.
    member_rows = rows if memberships is None else memberships.groupby(S.TOPIC_ID)[S.ROW_NUMBER].nunique()
    customers = clustered.groupby(S.TOPIC_ID)[S.CUSTOMER_ID].nunique()
    total = max(len(clustered), 1)
    sentiment = topic_sentiment(clustered, clustered[S.TOPIC_ID])
    info = topic_result.topic_info.set_index(S.TOPIC_ID) if len(topic_result.topic_info) else None
    records = []
    for topic_id in sorted(labels, key=lambda topic: (topic == S.UNCLUSTERED, topic)):
        if topic_id == S.NO_CONTENT_TOPIC:
            continue
        has_info = info is not None and topic_id in info.index
        keywords = info.at[topic_id, "keywords"] if has_info else []
        examples = info.at[topic_id, "examples"] if has_info else []
        if topic_id == S.UNCLUSTERED:
            examples = clustered.loc[clustered[S.TOPIC_ID] == S.UNCLUSTERED, S.TEXT].drop_duplicates().head(3).tolist()
        records.append({
            S.TOPIC_ID: topic_id,
            "label": labels[topic_id],
            "keywords": ", ".join(keywords),
            "rows": int(rows.get(topic_id, 0)),
            "member_rows": int(member_rows.get(topic_id, rows.get(topic_id, 0))),
            "customers": int(customers.get(topic_id, 0)),
            "share": float(rows.get(topic_id, 0)) / total,
            "mean_sentiment": float(sentiment["mean_sentiment"].get(topic_id, float("nan"))),
            "share_negative": float(sentiment["share_negative"].get(topic_id, float("nan"))),
            "examples": " | ".join(examples),
        })
    return pd.DataFrame(records, columns=list(S.TOPIC_COLUMNS))


def _check_named_columns(settings: AnalysisSettings, feedback, customers: pd.DataFrame | None) -> None:
    """Raise InputDataError for a covariate or outcome column in neither input file."""
    def present(column: str) -> bool:
        return column in feedback.documents.columns or (customers is not None and column in customers.columns)

    # With a customers file, the message names both files as lacking the column.
    either = "_either" if customers is not None else ""
    columns = ", ".join(feedback.input_columns)
    for covariate in settings.covariates:
        if not present(covariate):
            raise InputDataError(f"ingest.covariate_not_found{either}", column=covariate, path=feedback.info.path,
                                 columns=columns)
    outcome_options = (("--duration-col", settings.duration_col), ("--start-col", settings.start_col),
                       ("--end-col", settings.end_col), ("--score-col", settings.score_col),
                       *(("--segments", column) for column in settings.segment_cols))
    for option, column in outcome_options:
        if column and not present(column):
            raise InputDataError(f"outcomes.column_not_found{either}", option=option, column=column,
                                 path=feedback.info.path, columns=columns)
    # Labels belong to single texts, so only the feedback file can contain them.
    if settings.sentiment_label_col and settings.sentiment_label_col not in feedback.documents.columns:
        raise InputDataError("sentiment.label_column_not_found", column=settings.sentiment_label_col,
                             path=feedback.info.path)


def _run_info(run_id, feedback_path, customers_path, feedback, customers_mapping, documents, settings,
              backend_name, embedder, texts_embedded, cached, topic_result, analysis, timings) -> dict:
    """Build the content of run.json."""
    outcome_table = analysis.outcomes if analysis is not None else None
    counts = documents[S.STATUS].value_counts().reindex(list(S.STATUSES), fill_value=0)
    # Count by reason code: "same_text_as_row_12" counts as "same_text_as_row", so the
    # keys stay a small fixed set. documents.csv keeps the row number of each duplicate.
    reason_codes = documents.loc[documents[S.REASON] != "", S.REASON].astype(str).str.replace(
        rf"^{S.DUPLICATE_REASON_PREFIX}\d+$", S.DUPLICATE_REASON, regex=True)
    info = {
        "run_id": run_id,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "input_path": str(Path(feedback_path).resolve()),
        "input": {"format": feedback.info.file_format, "encoding": feedback.info.encoding,
                  "delimiter": feedback.info.delimiter, "sheet": feedback.info.sheet,
                  "repaired_quote_rows": list(feedback.info.repaired_quotes)},
        "customers_path": str(Path(customers_path).resolve()) if customers_path else None,
        "column_mapping": vars(feedback.mapping),
        "customers_column_mapping": vars(customers_mapping) if customers_mapping else None,
        "rows": int(len(documents)),
        "rows_by_status": {status: int(count) for status, count in counts.items()},
        "rows_by_reason": {str(reason): int(count) for reason, count in reason_codes.value_counts().items()},
        "settings": settings.to_dict(),
        "seed": settings.seed,
        "embedding": {"backend": backend_name, "model_id": embedder.model_id, "dimension": embedder.dimension,
                      "cache_key": cache_key(embedder), "texts_embedded": texts_embedded, "from_cache": cached},
        "topics": {"count": int(len(topic_result.topic_info)), "min_topic_size": topic_result.min_topic_size,
                   "outlier_share_before_reduction": topic_result.outlier_share_before,
                   "outlier_share_after_reduction": topic_result.outlier_share_after,
                   "note": topic_result.note,
                   "empty_seed_topics": list(topic_result.empty_seed_topics),
                   # None, or the sample size, seed and similarity threshold of painpoints.sampling.
                   "fitted_on_sample": topic_result.sample_info() if isinstance(topic_result, SampledTopicResult)
                   else None},
        "outcomes": None if outcome_table is None else {
            "unit": outcome_table.unit, "population": outcome_table.population,
            "customers": outcome_table.n_customers, "churned": outcome_table.n_churned,
            "overall_rate": outcome_table.overall_rate,
            "messages": [message.to_dict() for message in analysis.messages],
            "analyses": sorted(analysis.tables())},
        "package_versions": package_versions(),
        "stage_seconds": {stage: round(seconds, 3) for stage, seconds in timings.items()},
    }
    return info


def run_analysis(
    feedback_path: str | Path,
    settings: AnalysisSettings = AnalysisSettings(),
    customers_path: str | Path | None = None,
    embedder: Embedder | None = None,
    progress: ProgressCallback | None = None,
    codebook: Codebook | None = None,
) -> RunResult:
    """Analyse one feedback export end to end.

    Parameters
    ----------
    feedback_path : str or Path
        CSV, TSV, XLSX, Parquet or JSON Lines export.
    settings : AnalysisSettings
    customers_path : str or Path, optional
        One row per customer with the outcome, value and covariates, joined on customer id.
    embedder : Embedder, optional
        Use this backend instead of loading ``settings.embedding`` (tests, the viewer).
    progress : callable, optional
        Receives ``(stage, done, total)``.
    codebook : Codebook, optional
        Topics of a reviewed run (see :mod:`painpoints.codebook`): texts close to one of
        them keep its id and label, and only the others can form new topics.

    Returns
    -------
    RunResult

    Raises
    ------
    painpoints.errors.PainpointsError
        For every problem with the input, the settings or a model.
    """
    # With engine "ray" the clean, embed and topic stages run on Ray; see painpoints.engine_ray.
    engine = RayEngine(settings.ray_address) if settings.engine == "ray" else None
    try:
        return _run_stages(feedback_path, settings, customers_path, embedder, progress, codebook, engine)
    finally:
        if engine is not None:
            engine.close()


def _run_stages(feedback_path, settings: AnalysisSettings, customers_path, embedder: Embedder | None,
                progress: ProgressCallback | None, codebook: Codebook | None, engine: RayEngine | None) -> RunResult:
    """Run every stage of :func:`run_analysis`, the clean, embed and topic stages on ``engine`` when given."""
    report = progress or (lambda stage, done, total: None)
    timings: dict[str, float] = {}
    started = time.perf_counter()

    report("read", 0, 0)
    # Outcome columns (covariates, duration, score, segments) are carried through ingest
    # like covariates, from the feedback file or the customers file.
    extra_columns = tuple(dict.fromkeys([
        *settings.covariates,
        *(column for column in (settings.duration_col, settings.start_col, settings.end_col, settings.score_col)
          if column),
        *settings.segment_cols,
        *((settings.sentiment_label_col,) if settings.sentiment_label_col else ()),
    ]))
    feedback = load_feedback(feedback_path, settings, extra_columns)
    customers = customers_mapping = None
    # The outcome comes from the customers file when it has an outcome column.
    outcome_values = feedback.outcome_values
    if customers_path is not None:
        customers, customers_mapping, _, customers_outcome_values = load_customers(customers_path, settings,
                                                                                    extra_columns)
        if customers_mapping.outcome:
            outcome_values = customers_outcome_values
    _check_named_columns(settings, feedback, customers)
    # Read before embedding, so an invalid seed file fails before the slow stages.
    seeds = read_seed_topics(settings.seed_topics) if settings.seed_topics else None
    timings["read"] = time.perf_counter() - started
    report("read", 1, 1)

    mark = time.perf_counter()
    report("clean", 0, len(feedback.documents))
    if engine is None:
        documents = clean_documents(feedback.documents, redact=settings.redact_pii,
                                    simplify=settings.traditional_to_simplified)
    else:
        documents = engine.clean(feedback.documents, redact=settings.redact_pii,
                                 simplify=settings.traditional_to_simplified,
                                 progress=lambda done, total: report("clean", done, total))
    skipped = skipped_rows(documents, feedback.rejections, feedback.mapping.text, redact=settings.redact_pii)
    timings["clean"] = time.perf_counter() - mark
    report("clean", len(documents), len(documents))

    candidates = documents[documents[S.STATUS] == ""]
    texts = candidates[S.TEXT].tolist()
    hashes = candidates[S.TEXT_HASH].tolist()

    mark = time.perf_counter()
    languages = candidates[S.LANGUAGE].tolist()
    if settings.language == "zh":
        languages = ["zh"] * len(languages)
    backend_name = embedder.model_id if embedder is not None else choose_backend_name(settings.embedding, languages)
    # Ray workers load the backend by name, or receive the caller's embedder object.
    embedder_source = embedder if embedder is not None else backend_name
    if embedder is None:
        embedder = load_embedder(backend_name)
    if codebook is not None and codebook.model_id != embedder.model_id:
        raise SettingsError("settings.codebook_model", codebook_model=codebook.model_id, model=embedder.model_id)
    results = ResultCache(settings.cache_dir or default_cache_dir())
    plan = sentiment_plan(settings, candidates, languages, embedder)
    lexicon_job = None
    cache = EmbeddingCache(settings.cache_dir or default_cache_dir())
    # A backend with encode_with_clauses caches the late-chunked clause vectors of the
    # memberships stage in the same forward pass as the text vectors.
    late = engine is None and offers_late_clauses(embedder)
    try:
        try:
            if engine is None:
                doc_embeddings, cached = embed_texts(texts, hashes,
                                                     LateClauseRecorder(embedder, cache) if late else embedder,
                                                     cache, lambda done, total: report("embed", done, total))
            else:
                doc_embeddings, cached = engine.embed(texts, hashes, embedder, embedder_source, cache,
                                                      lambda done, total: report("embed", done, total))
        finally:
            cache.close()
        timings["embed"] = time.perf_counter() - mark

        # The lexicon scores need only the texts: a child process computes them while the
        # topics stage, mostly single-threaded, runs, unless an earlier run's scores will be reused.
        if engine is None and plan is not None and plan[0] in LEXICON_METHODS and not results.has("sentiment", plan[1]):
            lexicon_job = start_lexicon_scores(texts, languages)
        mark = time.perf_counter()
        reused: dict[str, bool] = {}
        topic_result, reused["topics"] = _topics_stage(texts, hashes, doc_embeddings, embedder, settings, codebook,
                                                       seeds, engine, results, report)
        timings["topics"] = time.perf_counter() - mark

        mark = time.perf_counter()
        documents, sentiment_info = add_sentiment(documents, candidates, languages, doc_embeddings, embedder,
                                                   settings, feedback.info.path, results, plan, lexicon_job)
    finally:
        if lexicon_job is not None:
            lexicon_job.close()
    reused["sentiment"] = sentiment_info.pop("reused", False)
    timings["sentiment"] = time.perf_counter() - mark

    documents = _assign_topics(documents, candidates.index, topic_result)
    mark = time.perf_counter()
    by_text, membership_info = membership_stage(texts, hashes, doc_embeddings, topic_result.doc_topics, embedder,
                                                settings.cache_dir or default_cache_dir(), late, engine,
                                                embedder_source)
    memberships = row_memberships(documents, candidates.index, by_text)
    timings["memberships"] = time.perf_counter() - mark
    labels = {int(row[S.TOPIC_ID]): row["label"] for _, row in topic_result.topic_info.iterrows()}
    labels[S.UNCLUSTERED] = tr("topics.unclustered_label")
    labels[S.NO_CONTENT_TOPIC] = tr("topics.no_content_label")
    documents[S.TOPIC_LABEL] = documents[S.TOPIC_ID].map(lambda topic: labels.get(topic, "") if pd.notna(topic) else "")

    mark = time.perf_counter()
    report("outcomes", 0, 1)
    outcome_table = analysis = None
    has_outcome = documents[S.CHURNED].notna().any() or (customers is not None and customers[S.CHURNED].notna().any())
    if has_outcome:
        try:
            analysis = analyse_outcomes(
                documents, labels, customers,
                memberships=memberships,
                covariates=settings.covariates,
                duration_col=settings.duration_col,
                start_col=settings.start_col,
                end_col=settings.end_col,
                score_col=settings.score_col,
                score_kind=settings.score_kind,
                segment_cols=settings.segment_cols,
                period=settings.period,
                unit="customer" if feedback.has_customer_column else "row",
            )
        except ValueError as error:
            raise InputDataError("outcomes.invalid_data", path=feedback.info.path, detail=str(error)) from error
        outcome_table = analysis.outcomes
    timings["outcomes"] = time.perf_counter() - mark
    report("outcomes", 1, 1)
    timings["total"] = time.perf_counter() - started

    run_id = _new_run_id()
    topics_table = _topics_table(documents, topic_result, labels, memberships)
    topics_table = add_map_coordinates(topics_table, topic_result.doc_topics, doc_embeddings)
    hierarchy = None
    if len(topic_result.topic_info):
        hierarchy = topic_hierarchy(topics_table, topic_result.doc_topics, doc_embeddings, doc_languages=languages)
    info = _run_info(run_id, feedback_path, customers_path, feedback, customers_mapping, documents, settings,
                     backend_name, embedder, len(texts), cached, topic_result, analysis, timings)
    info["sentiment"] = sentiment_info
    # With --event-value: rows holding it, and the other values, which count as no event.
    info["outcome_values"] = outcome_values
    # Stages whose result was read from painpoints.result_cache instead of computed.
    info["reused_results"] = sorted(stage for stage, done in reused.items() if done)
    several = memberships.groupby(S.ROW_NUMBER).size()
    info["memberships"] = {**membership_info, "rows_with_several_topics": int((several > 1).sum())}
    info["engine"] = engine.describe() if engine is not None else {"name": "local"}
    if not settings.sentiment_label_col:
        info["sentiment"]["label_column_candidates"] = list(feedback.label_columns)
    logger.info("run %s: %s", run_id, info["rows_by_status"])
    return RunResult(run_id, _stored_documents(documents, customers, settings.segment_cols), topics_table,
                     outcome_table, info,
                     skipped, analysis=analysis, hierarchy=hierarchy, memberships=memberships)


def _stored_documents(documents: pd.DataFrame, customers: pd.DataFrame | None,
                      segment_cols: tuple[str, ...]) -> pd.DataFrame:
    """Return the schema columns of ``documents`` followed by the run's segment columns.

    The viewer filters verbatims by segment. A segment column of the feedback file is
    copied as it is, and one of the customers file is looked up by customer id.
    """
    stored = documents[list(S.DOCUMENT_COLUMNS)].copy()
    for column in segment_cols:
        if column in stored.columns:
            continue
        if column in documents.columns:
            stored[column] = documents[column]
        elif customers is not None and column in customers.columns:
            by_customer = customers.drop_duplicates(S.CUSTOMER_ID).set_index(S.CUSTOMER_ID)[column]
            stored[column] = stored[S.CUSTOMER_ID].map(by_customer)
    return stored


def _assign_topics(documents: pd.DataFrame, candidate_index: pd.Index, topic_result: TopicResult) -> pd.DataFrame:
    """Give topic ids to the embedded rows, then copy them to their duplicates."""
    documents = documents.copy()
    documents[S.TOPIC_ID] = pd.array([pd.NA] * len(documents), dtype="Int64")
    documents.loc[candidate_index, S.TOPIC_ID] = topic_result.doc_topics.astype("int64")
    clustered = documents.index.isin(candidate_index) & (documents[S.TOPIC_ID] != S.UNCLUSTERED).fillna(False)
    documents.loc[clustered, S.STATUS] = "topic"
    outliers = documents.index.isin(candidate_index) & ~clustered
    documents.loc[outliers, S.STATUS] = "unclustered"
    documents.loc[outliers, S.REASON] = topic_result.note.split(".")[-1] if topic_result.note else "outlier"

    duplicates = documents[S.STATUS] == "duplicate"
    if duplicates.any():
        topic_by_row = documents.set_index(S.ROW_NUMBER)[S.TOPIC_ID]
        originals = documents.loc[duplicates, S.DUPLICATE_OF].astype("int64")
        documents.loc[duplicates, S.TOPIC_ID] = topic_by_row.reindex(originals.to_numpy()).to_numpy()
        documents.loc[duplicates, S.REASON] = S.DUPLICATE_REASON_PREFIX + originals.astype(str)
    return documents


def _topics_stage(texts: list[str], hashes: list[str], doc_embeddings: np.ndarray, embedder: Embedder,
                  settings: AnalysisSettings, codebook: Codebook | None, seeds, engine: RayEngine | None,
                  results: ResultCache, report) -> tuple[TopicResult, bool]:
    """Fit or apply the topics of :func:`run_analysis`. The second value is True when a stored fit was reused."""
    report("topics", 0, 4)
    steps = iter(range(1, 5))
    topic_settings = TopicSettings(seed=settings.seed, min_topic_size=settings.min_topic_size,
                                   max_outlier_share=settings.max_outlier_share)

    def on_stage(step: str) -> None:
        report("topics", next(steps, 4), 4)

    reused = False
    if codebook is not None:
        topic_result = apply_codebook(codebook, texts, doc_embeddings, embedder.model_id, topic_settings)
    elif seeds:
        topic_result = fit_guided_topics(texts, doc_embeddings, seeds, embedder, topic_settings, on_stage)
    elif engine is not None:
        topic_result = engine.fit_topics(texts, hashes, doc_embeddings, topic_settings, settings.fit_sample_size,
                                         on_stage=on_stage, on_batch=lambda done, total: report("assign", done, total))
    else:
        sample_size = settings.fit_sample_size if settings.fit_sample_size is not None and len(texts) > \
            settings.fit_sample_size else None

        def fit() -> TopicResult:
            if sample_size is None:
                return fit_topics(texts, doc_embeddings, topic_settings, on_stage=on_stage)
            return fit_topics_sampled(texts, doc_embeddings, topic_settings, sample_size, hashes, on_stage=on_stage,
                                      on_batch=lambda done, total: report("assign", done, total))

        key = result_key("topics", hashes, {"embedding": cache_key(embedder), "topics": asdict(topic_settings),
                                            "sample_size": sample_size})
        topic_result, reused = results.topics(key, fit)
    report("topics", 4, 4)
    return topic_result, reused
