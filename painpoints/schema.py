"""Column names, statuses and special topic ids shared by every stage.

Stages pass pandas DataFrames to each other. The names below are the only place
where those columns are spelled; the output files use the same names.

Documents frame (one row per input row, in input order)
-------------------------------------------------------
row_number : int
    1-based position of the record in the input file, header not counted.
ticket_id : str
    Ticket or response id from the file, or ``row_number`` as text when absent.
customer_id : str
    Customer id as written in the file (leading zeros kept). When the file has no
    customer column, each row is its own customer and this is ``"row-<n>"``.
text : str
    Feedback text after cleaning and PII redaction; the only text that is stored.
language : str
    ``"zh"``, ``"en"`` or ``"other"``, decided per row from its characters.
sentiment : float
    Sentiment score in −1 … 1 (:mod:`painpoints.sentiment`), NaN for ``no_content``
    and ``rejected`` rows. Duplicates get the score of the text they repeat.
sentiment_label : str
    ``"negative"``, ``"neutral"`` or ``"positive"`` (one of ``SENTIMENT_LABELS``),
    ``""`` where ``sentiment`` is NaN.
status : str
    One of ``STATUSES``.
reason : str
    Why a row has no topic (empty when ``status == "topic"``), as a short code.

    - ``rejected``: ``extra_cells`` (a CSV record with more filled cells than the
      header), ``unclosed_quote`` (a CSV record into which a never-closed quote drew
      the lines after it), ``missing_customer_id`` (blank cell in the customer id column) or
      ``unknown_outcome_value`` (neither a churned nor a retained spelling, in a file
      where such cells are at most 10 % of the outcome cells).
    - ``no_content``: ``empty_text`` (blank after cleaning) or ``no_content_text``
      (emoji, punctuation or filler such as 好, 666, N/A).
    - ``duplicate``: ``same_text_as_row_<n>`` (``DUPLICATE_REASON``, then ``_`` and
      the row it repeats).
    - ``unclustered``: ``outlier``, ``too_few_texts`` (fewer distinct texts than
      ``settings.MIN_TEXTS_FOR_TOPICS``) or ``no_topics_found``.
topic_id : Int64
    Topic of the row; ``UNCLUSTERED`` (-1) when clustering left it out, missing for
    ``no_content`` and ``rejected`` rows.
topic_label : str
    Label of ``topic_id``.
date : datetime64 or missing
churned : boolean
    The binary outcome (the event), missing when unknown.
value : float
    Monthly revenue or customer lifetime value, when a value column exists.

After these columns come the run's segment columns (``--segments``), named as in
the input file, so that rows can be filtered by segment.

Customers frame (one row per customer)
--------------------------------------
customer_id, churned, value, plus any covariate or duration columns the user names.

Sentiment per topic (topics and outcome tables)
-----------------------------------------------
mean_sentiment : float
    Mean ``sentiment`` of the topic's rows that have a score.
share_negative : float
    Share of those rows whose ``sentiment_label`` is ``"negative"``.
churn_rate_negative : float
    Outcome table only. Churn rate of the customers with the topic who have at least
    one negative row in it.
churn_rate_non_negative : float
    Outcome table only. Churn rate of the other customers with a scored row in the
    topic, so that both rates together cover every scored customer of the topic.

The outcome table counts only the rows of customers in its population. All four
are NaN for a line without scored rows, such as the no-content line.

Topic map (topics table)
------------------------
map_x, map_y : float
    Position of the topic on a 2-D map of the topics (:mod:`painpoints.topic_map`):
    the PCA projection of the topic's unit-length mean document embedding. NaN for
    the unclustered line, for topics without embedded rows, and in runs saved before
    the map existed.

Memberships frame (several topics per row; memberships.csv)
-----------------------------------------------------------
One row per (row, topic) for every row with status ``topic`` or ``duplicate``
whose text is clustered (:mod:`painpoints.membership` states the rule).

row_number : int
    Row of the documents frame.
topic_id : int
    A topic >= 0 the row belongs to.
score : float
    Cosine similarity, in −1 … 1, of the centred embedding of the row's text (primary
    topic) or of its best clause (other topics) with the topic's centred centroid.
is_primary : bool
    True for the row's ``topic_id`` in the documents frame (exactly one per row),
    False for the other topics the row also belongs to.

In the topics table, ``rows`` counts the rows whose primary topic is the topic,
and ``member_rows`` counts the rows that belong to it as primary or other topic.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

ROW_NUMBER: Final = "row_number"
TICKET_ID: Final = "ticket_id"
CUSTOMER_ID: Final = "customer_id"
TEXT: Final = "text"
LANGUAGE: Final = "language"
SENTIMENT: Final = "sentiment"
SENTIMENT_LABEL: Final = "sentiment_label"
STATUS: Final = "status"
REASON: Final = "reason"
TOPIC_ID: Final = "topic_id"
TOPIC_LABEL: Final = "topic_label"
DATE: Final = "date"
CHURNED: Final = "churned"
VALUE: Final = "value"
TEXT_HASH: Final = "text_hash"
DUPLICATE_OF: Final = "duplicate_of"

Status = Literal["topic", "unclustered", "no_content", "duplicate", "rejected"]
STATUSES: Final[tuple[str, ...]] = get_args(Status)

Language = Literal["zh", "en", "other"]
LANGUAGES: Final[tuple[str, ...]] = get_args(Language)

SentimentLabel = Literal["negative", "neutral", "positive"]
SENTIMENT_LABELS: Final[tuple[str, ...]] = get_args(SentimentLabel)

# Topic -1 is "unclustered" everywhere, as in BERTopic.
# Reason code of a duplicate row. The pipeline appends "_<n>", n being the row it repeats.
DUPLICATE_REASON: Final = "same_text_as_row"
DUPLICATE_REASON_PREFIX: Final = DUPLICATE_REASON + "_"
UNCLUSTERED: Final = -1
# Line of the outcome table for rows with no usable text (emoji, "好", "N/A", blank).
NO_CONTENT_TOPIC: Final = -2

DOCUMENT_COLUMNS: Final = (
    ROW_NUMBER,
    TICKET_ID,
    CUSTOMER_ID,
    TEXT,
    LANGUAGE,
    SENTIMENT,
    SENTIMENT_LABEL,
    STATUS,
    REASON,
    TOPIC_ID,
    TOPIC_LABEL,
    DATE,
    CHURNED,
    VALUE,
)

MEMBERSHIP_SCORE: Final = "score"
IS_PRIMARY: Final = "is_primary"
MEMBERSHIP_COLUMNS: Final = (ROW_NUMBER, TOPIC_ID, MEMBERSHIP_SCORE, IS_PRIMARY)

# rejected_rows.csv: one line per problem of a rejected row, and one per no_content row.
SKIPPED_ROW_COLUMNS: Final = (ROW_NUMBER, STATUS, "column", "value", REASON)

TOPIC_COLUMNS: Final = (
    TOPIC_ID,
    "label",
    "keywords",
    "rows",
    "member_rows",
    "customers",
    "share",
    "mean_sentiment",
    "share_negative",
    "examples",
    "map_x",
    "map_y",
)

OUTCOME_COLUMNS: Final = (
    TOPIC_ID,
    "label",
    "customers",
    "churned",
    "churn_rate",
    "baseline_customers",
    "baseline_churned",
    "baseline_rate",
    "lift",
    "risk_difference",
    "rd_ci_low",
    "rd_ci_high",
    "odds_ratio",
    "or_ci_low",
    "or_ci_high",
    "p_value",
    "test",
    "q_value",
    "small_group",
    "adjusted_odds_ratio",
    "aor_ci_low",
    "aor_ci_high",
    "revenue_at_risk",
    "excess_loss",
    "excess_loss_low",
    "excess_loss_high",
    "mean_sentiment",
    "share_negative",
    "churn_rate_negative",
    "churn_rate_non_negative",
)
