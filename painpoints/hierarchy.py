"""Topic hierarchy: topics grouped into a few parent themes, for reading top-down.

Topic centroids (the unit mean of each topic's text embeddings) are centred,
re-normalised and clustered by agglomerative clustering with Ward linkage. When the
texts' languages are given, each text vector first loses the mean vector of its
language, so that topics group by subject and not by language. By default the
number of themes is ``round(sqrt(n_topics))``, kept within 1 … ``MAX_THEMES``: 60
topics give 8 themes, 9 topics give 3.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Sequence
from typing import Final

import numpy as np
import pandas as pd

from painpoints import schema as S

logger = logging.getLogger(__name__)

# Cap on the default number of themes, chosen so the first read stays short.
MAX_THEMES: Final = 10
THEME_LABEL_KEYWORDS: Final = 3
THEME_ID: Final = "theme_id"
HIERARCHY_COLUMNS: Final = (THEME_ID, "theme_label", S.TOPIC_ID, "label", "rows")
# Rows summed at once for a language's mean vector.
_MEAN_BLOCK: Final = 20_000


def default_theme_count(n_topics: int) -> int:
    """Return ``round(sqrt(n_topics))`` within 1 … ``MAX_THEMES`` (0 for no topic).

    >>> default_theme_count(60), default_theme_count(9), default_theme_count(200)
    (8, 3, 10)
    """
    if n_topics <= 0:
        return 0
    return int(min(MAX_THEMES, max(1, round(math.sqrt(n_topics)))))


def _keyword_list(value: object) -> list[str]:
    """Return keywords given as a list (``TopicResult``) or a ", "-joined string (topics.csv)."""
    if isinstance(value, str):
        return [word.strip() for word in value.split(",") if word.strip()]
    if isinstance(value, (list, tuple, np.ndarray)):
        return [str(word) for word in value]
    return []


def _theme_label(members: pd.DataFrame) -> str:
    """Label a theme by the keywords that most of its topics share.

    Words are ranked by how many member topics list them, then by those topics'
    rows, then by first appearance. A theme of one topic keeps that topic's label.
    """
    if len(members) == 1:
        return str(members["label"].iloc[0])
    topic_count: Counter[str] = Counter()
    row_count: Counter[str] = Counter()
    first_seen: dict[str, int] = {}
    for _, topic in members.iterrows():
        for word in dict.fromkeys(_keyword_list(topic["keywords"])):
            topic_count[word] += 1
            row_count[word] += int(topic["rows"])
            first_seen.setdefault(word, len(first_seen))
    ranked = sorted(first_seen, key=lambda word: (-topic_count[word], -row_count[word], first_seen[word]))
    if not ranked:
        return " · ".join(str(label) for label in members["label"].head(THEME_LABEL_KEYWORDS))
    return " · ".join(ranked[:THEME_LABEL_KEYWORDS])


def topic_hierarchy(
    topic_info: pd.DataFrame,
    doc_topics: np.ndarray,
    doc_embeddings: np.ndarray,
    n_themes: int | None = None,
    doc_languages: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Group topics into parent themes by the similarity of their centroids.

    Parameters
    ----------
    topic_info : pandas.DataFrame
        One row per topic with ``topic_id``, ``label`` and ``keywords`` (a list, or a
        ", "-joined string as in topics.csv). Its ``rows`` column gives each topic's
        size when present, else the number of texts in `doc_topics`. Topics < 0
        (unclustered, no content) are left out.
    doc_topics : numpy.ndarray, shape (n_docs,), int
        Topic of each embedded text.
    doc_embeddings : numpy.ndarray, shape (n_docs, dim)
    n_themes : int, optional
        Number of parent themes; ``default_theme_count(n_topics)`` when None.
    doc_languages : sequence of str, optional
        Language of each text (``schema.LANGUAGES``). Each text then loses its
        language's mean vector before the centroids are computed. Multilingual
        models such as e5 place texts of one language near each other: without
        this, the bundled sample's 8 English topics formed one theme of six subjects.

    Returns
    -------
    pandas.DataFrame
        ``HIERARCHY_COLUMNS``, one row per topic: theme_id (int, 0 for the theme with
        the most rows), theme_label (str), topic_id (int), label (str), rows (int).
        Rows are ordered by theme, then by rows (largest first), then by topic id.

    Raises
    ------
    ValueError
        When `topic_info` lacks a column, `doc_topics` and `doc_embeddings` differ
        in length, a topic has no text in `doc_topics`, or `n_themes` is not
        between 1 and the number of topics.
    """
    missing = [column for column in (S.TOPIC_ID, "label", "keywords") if column not in topic_info.columns]
    if missing:
        raise ValueError(f"topic_info lacks the columns {missing}; pass a frame with topic_id, label, keywords")
    doc_topics = np.asarray(doc_topics)
    doc_embeddings = np.asarray(doc_embeddings)
    if doc_embeddings.ndim != 2 or doc_embeddings.shape[0] != doc_topics.shape[0]:
        raise ValueError(f"doc_topics has {doc_topics.shape[0]} entries but doc_embeddings has shape "
                         f"{doc_embeddings.shape}; pass one topic and one vector per text")

    topics = topic_info[topic_info[S.TOPIC_ID].astype("int64") >= 0].copy()
    topics[S.TOPIC_ID] = topics[S.TOPIC_ID].astype("int64")
    if "rows" not in topics.columns:
        topics["rows"] = [int(np.sum(doc_topics == topic)) for topic in topics[S.TOPIC_ID]]
    n_topics = len(topics)
    if n_topics == 0:
        return pd.DataFrame(columns=list(HIERARCHY_COLUMNS))
    if n_themes is None:
        n_themes = default_theme_count(n_topics)
    elif not 1 <= n_themes <= n_topics:
        raise ValueError(f"n_themes is {n_themes}; it must be between 1 and the number of topics ({n_topics})")

    centroids = _topic_centroids(doc_topics, doc_embeddings, topics[S.TOPIC_ID].tolist(), doc_languages)
    topics["theme"] = _cluster_centroids(centroids, n_themes)

    theme_rows = topics.groupby("theme")["rows"].sum()
    theme_first_topic = topics.groupby("theme")[S.TOPIC_ID].min()
    ordered = sorted(theme_rows.index, key=lambda theme: (-theme_rows[theme], theme_first_topic[theme]))
    records = []
    for theme_id, theme in enumerate(ordered):
        members = topics[topics["theme"] == theme].sort_values(["rows", S.TOPIC_ID], ascending=[False, True])
        theme_label = _theme_label(members)
        for _, topic in members.iterrows():
            records.append({THEME_ID: theme_id, "theme_label": theme_label, S.TOPIC_ID: int(topic[S.TOPIC_ID]),
                            "label": str(topic["label"]), "rows": int(topic["rows"])})
    logger.info("grouped %d topics into %d themes", n_topics, len(ordered))
    return pd.DataFrame(records, columns=list(HIERARCHY_COLUMNS))


def _masked_mean(doc_embeddings: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Return the float64 mean of the rows where ``rows`` is True, summed in blocks without a full copy."""
    total = np.zeros(doc_embeddings.shape[1])
    for start in range(0, len(rows), _MEAN_BLOCK):
        block = slice(start, start + _MEAN_BLOCK)
        total += doc_embeddings[block][rows[block]].sum(axis=0, dtype=np.float64)
    return total / max(int(rows.sum()), 1)


def _topic_centroids(doc_topics: np.ndarray, doc_embeddings: np.ndarray, topic_ids: list[int],
                     doc_languages: Sequence[str] | None = None) -> np.ndarray:
    """Return the unit mean embedding per topic, shape (n_topics, dim).

    With ``doc_languages``, each text first loses the mean vector of the texts in its
    language. A topic's mean then loses the language means weighted by its texts'
    languages, which gives the same centroid without a second copy of the embeddings.

    Raises
    ------
    ValueError
        When ``doc_languages`` and ``doc_embeddings`` differ in length, or a topic
        has no text.
    """
    languages = None
    language_means: dict[str, np.ndarray] = {}
    if doc_languages is not None:
        languages = np.asarray(list(doc_languages), dtype=object)
        if languages.shape[0] != doc_embeddings.shape[0]:
            raise ValueError(f"doc_languages has {languages.shape[0]} entries but doc_embeddings has "
                             f"{doc_embeddings.shape[0]} rows; pass one language per text")
        language_means = {language: _masked_mean(doc_embeddings, languages == language)
                          for language in np.unique(languages)}
    centroids = []
    for topic in topic_ids:
        members = doc_topics == topic
        count = int(members.sum())
        if count == 0:
            raise ValueError(f"topic {topic} has no text in doc_topics; pass the doc_topics the topics came from")
        mean = doc_embeddings[members].mean(axis=0, dtype=np.float64)
        if languages is not None:
            for language, language_count in zip(*np.unique(languages[members], return_counts=True)):
                mean -= language_means[language] * (language_count / count)
        norm = np.linalg.norm(mean)
        centroids.append(mean / norm if norm > 0 else mean)
    return np.vstack(centroids)


def _cluster_centroids(centroids: np.ndarray, n_themes: int) -> np.ndarray:
    """Return a theme number per centroid from Ward clustering of the centred centroids.

    Embeddings such as e5's share a large common direction, so every pair of topic
    centroids has a high cosine similarity. Asked for 6 themes over the bundled sample's
    32 e5 topics, average linkage on cosine distance gave themes of 14, 10, 5, 1, 1 and
    1 topics. Ward linkage on the centred, re-normalised centroids gave 8, 8, 7, 5, 2
    and 2, grouped by subject (login, delivery, refunds, invoices, customer service).
    """
    if n_themes == 1 or centroids.shape[0] == 1:
        return np.zeros(centroids.shape[0], dtype=int)
    if n_themes == centroids.shape[0]:
        return np.arange(centroids.shape[0])
    from sklearn.cluster import AgglomerativeClustering

    centred = centroids - centroids.mean(axis=0)
    norms = np.linalg.norm(centred, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    model = AgglomerativeClustering(n_clusters=n_themes, linkage="ward")
    return model.fit_predict(centred / norms)


def render_tree(hierarchy: pd.DataFrame) -> str:
    """Render a hierarchy as an indented text tree, one line per theme and topic.

    >>> frame = pd.DataFrame({"theme_id": [0, 0], "theme_label": ["物流 · 快递", "物流 · 快递"],
    ...                       "topic_id": [0, 3], "label": ["物流配送", "快递员"], "rows": [9, 4]})
    >>> print(render_tree(frame))
    物流 · 快递 (13)
    ├── 物流配送 [#0] (9)
    └── 快递员 [#3] (4)
    """
    lines: list[str] = []
    for _, members in hierarchy.groupby(THEME_ID, sort=True):
        lines.append(f"{members['theme_label'].iloc[0]} ({int(members['rows'].sum())})")
        for position, (_, topic) in enumerate(members.iterrows()):
            branch = "└──" if position == len(members) - 1 else "├──"
            lines.append(f"{branch} {topic['label']} [#{int(topic[S.TOPIC_ID])}] ({int(topic['rows'])})")
    return "\n".join(lines)
