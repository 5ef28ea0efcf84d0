"""Settings of one analysis run, validated once before any stage starts."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Final, Literal, get_args

from painpoints.errors import SettingsError
from painpoints.sentiment import SENTIMENT_METHODS, SentimentMethod

LanguageOption = Literal["auto", "zh", "en"]
LANGUAGE_OPTIONS: Final[tuple[str, ...]] = get_args(LanguageOption)
ScoreKindOption = Literal["nps", "csat"]
SCORE_KIND_OPTIONS: Final[tuple[str, ...]] = get_args(ScoreKindOption)
PeriodOption = Literal["week", "month"]
PERIOD_OPTIONS: Final[tuple[str, ...]] = get_args(PeriodOption)
EngineOption = Literal["local", "ray"]
ENGINE_OPTIONS: Final[tuple[str, ...]] = get_args(EngineOption)

DEFAULT_SEED: Final = 42
# Share of rows that may stay unclustered after outlier reduction.
DEFAULT_MAX_OUTLIER_SHARE: Final = 0.10
# Fewer distinct usable texts than this and no topic model is fitted: every text is
# reported as unclustered with that reason, and the outcome table still has its lines.
MIN_TEXTS_FOR_TOPICS: Final = 20
# Largest input the CLI reads at once (rows); larger exports need sampling or the
# streamed mode. Chosen so that 100k short texts stay well within 4 GB of memory.
MAX_INPUT_ROWS: Final = 2_000_000
# Largest input file the library reads (MiB). Reading keeps a CSV in memory several
# times over (bytes, decoded text, parsed cells), so a file this size needs several GiB of RAM.
MAX_INPUT_MB: Final = 1024
# Upload limit of the viewer (MiB); it must equal ``server.maxUploadSize`` in
# .streamlit/config.toml. Larger files go through ``painpoints analyze``.
MAX_UPLOAD_MB: Final = 200
# Distinct texts above which topics are fitted on a sample of this many texts and the
# rest are assigned to the nearest topic (painpoints.sampling).
# 100k English rows with MiniLM peak at 2.5 GiB with it. On those rows the sampled fit
# agrees with the full fit at NMI 0.75 and matches the labels better (docs/benchmarks.md).
# NOTE: the agreement was measured on one export, whose texts repeat with order numbers.
DEFAULT_FIT_SAMPLE_SIZE: Final = 50_000
# Smallest sample the settings accept: smaller samples give too few texts per topic.
MIN_FIT_SAMPLE_SIZE: Final = 1_000


def default_home() -> Path:
    """Return the folder for the run store and embedding cache.

    ``PAINPOINTS_HOME`` wins; otherwise ``~/.painpoints``.
    """
    configured = os.environ.get("PAINPOINTS_HOME")
    return Path(configured).expanduser() if configured else Path.home() / ".painpoints"


def default_store_path() -> Path:
    """Return the DuckDB run store used when ``--store`` is not given."""
    return default_home() / "runs.duckdb"


def default_cache_dir() -> Path:
    """Return the embedding cache folder used when none is given."""
    return default_home() / "cache"


@dataclass(frozen=True)
class ColumnMapping:
    """Input column chosen for each role; ``None`` means auto-detect (or absent)."""

    text: str | None = None
    ticket_id: str | None = None
    customer_id: str | None = None
    date: str | None = None
    outcome: str | None = None
    value: str | None = None


@dataclass(frozen=True)
class AnalysisSettings:
    """Everything that decides a run's result; stored in run.json."""

    columns: ColumnMapping = field(default_factory=ColumnMapping)
    event_value: str | None = None
    covariates: tuple[str, ...] = ()
    # Outcome analyses beyond the topic-vs-churn table (see painpoints.outcomes).
    # duration_col: observed time per customer (tenure) for Kaplan–Meier and Cox.
    duration_col: str | None = None
    # start_col, end_col: signup and churn/last-seen dates; without duration_col the
    # duration is the days between them.
    start_col: str | None = None
    end_col: str | None = None
    # score_col: NPS (0–10) or CSAT (1–5) answer, as score_kind says.
    score_col: str | None = None
    score_kind: ScoreKindOption = "nps"
    # segment_cols: columns to cross with the topics (region, channel, product …).
    segment_cols: tuple[str, ...] = ()
    period: PeriodOption = "month"
    language: LanguageOption = "auto"
    embedding: str = "auto"
    seed: int = DEFAULT_SEED
    min_topic_size: int | None = None
    max_outlier_share: float = DEFAULT_MAX_OUTLIER_SHARE
    # fit_sample_size: with more distinct texts than this, topics are fitted on a
    # sample of this size (seeded by ``seed``) and the rest are assigned to the nearest
    # topic. None fits on all texts.
    fit_sample_size: int | None = DEFAULT_FIT_SAMPLE_SIZE
    # seed_topics: seed file of painpoints.guided. Its topics keep their names and
    # topic ids 0 … n_seeds - 1, and the other texts form discovered topics.
    seed_topics: Path | None = None
    redact_pii: bool = True
    traditional_to_simplified: bool = False
    sheet: str | None = None
    cache_dir: Path | None = None
    # sentiment: scoring method of painpoints.sentiment ("auto" is "self-trained",
    # because the pipeline always has embeddings). sentiment_label_col: the user's label
    # column (rating, 满意/不满意 …); when given, a classifier fitted on it replaces
    # the method.
    sentiment: SentimentMethod = "auto"
    sentiment_label_col: str | None = None
    # engine: where the clean, embed and topic-assignment stages run (painpoints.engine_ray
    # for "ray"). ray_address: the Ray cluster; None starts Ray on this machine.
    engine: EngineOption = "local"
    ray_address: str | None = None

    def __post_init__(self) -> None:
        if self.language not in LANGUAGE_OPTIONS:
            raise SettingsError(
                "settings.invalid_choice",
                option="--lang",
                value=self.language,
                choices=", ".join(LANGUAGE_OPTIONS),
            )
        if self.score_kind not in SCORE_KIND_OPTIONS:
            raise SettingsError(
                "settings.invalid_choice",
                option="--score-kind",
                value=self.score_kind,
                choices=", ".join(SCORE_KIND_OPTIONS),
            )
        if self.period not in PERIOD_OPTIONS:
            raise SettingsError(
                "settings.invalid_choice",
                option="--period",
                value=self.period,
                choices=", ".join(PERIOD_OPTIONS),
            )
        if self.min_topic_size is not None and self.min_topic_size < 2:
            raise SettingsError(
                "settings.invalid_at_least", option="--min-topic-size", value=self.min_topic_size, minimum=2
            )
        if not 0.0 <= self.max_outlier_share <= 1.0:
            raise SettingsError(
                "settings.invalid_range", option="--max-outlier-share", value=self.max_outlier_share, low=0, high=1
            )
        if self.fit_sample_size is not None and self.fit_sample_size < MIN_FIT_SAMPLE_SIZE:
            raise SettingsError("settings.invalid_fit_sample", value=self.fit_sample_size, minimum=MIN_FIT_SAMPLE_SIZE)
        if self.sentiment not in SENTIMENT_METHODS:
            raise SettingsError(
                "settings.invalid_choice",
                option="--sentiment",
                value=self.sentiment,
                choices=", ".join(SENTIMENT_METHODS),
            )
        if self.engine not in ENGINE_OPTIONS:
            raise SettingsError(
                "settings.invalid_choice", option="--engine", value=self.engine, choices=", ".join(ENGINE_OPTIONS)
            )
        if self.ray_address and self.engine != "ray":
            raise SettingsError("engine.ray_address_without_ray", engine=self.engine)

    def to_dict(self) -> dict:
        """Return the settings as JSON-ready values."""
        values = asdict(self)
        values["covariates"] = list(self.covariates)
        values["segment_cols"] = list(self.segment_cols)
        values["cache_dir"] = str(self.cache_dir) if self.cache_dir else None
        values["seed_topics"] = str(self.seed_topics) if self.seed_topics else None
        return values
