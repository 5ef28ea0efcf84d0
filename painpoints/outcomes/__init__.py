"""Outcomes stage: per-topic churn statistics at customer level.

``analyse_outcomes`` runs every analysis the inputs allow and returns an
``OutcomeAnalysis`` bundle: the outcome table of ``topic_outcomes``, and where the
columns exist, time to churn (``survival_by_topic``), NPS/CSAT impact
(``score_impact``), trends per period (``topic_trends``) and segment tables
(``topic_segments``). ``customer_memberships`` and ``build_customers`` expose the
(customer, topic) pairs and the customer population for callers that need them alone.
Notes on left-out customers and empty statistics are ``OutcomeMessage`` objects, which
read in Chinese or English through ``message.text(language)``.
"""

from painpoints.outcomes._analysis import OutcomeAnalysis, analyse_outcomes
from painpoints.outcomes._messages import OutcomeMessage
from painpoints.outcomes._population import build_customers, customer_memberships
from painpoints.outcomes._scores import ScoreImpact, score_impact, summary_score
from painpoints.outcomes._survival import (
    SurvivalResult,
    plot_survival,
    survival_by_topic,
)
from painpoints.outcomes._table import OutcomeTable, topic_outcomes
from painpoints.outcomes._trends import (
    SegmentTable,
    TopicTrends,
    topic_segments,
    topic_trends,
)

__all__ = [
    "OutcomeAnalysis",
    "OutcomeMessage",
    "OutcomeTable",
    "ScoreImpact",
    "SegmentTable",
    "SurvivalResult",
    "TopicTrends",
    "analyse_outcomes",
    "build_customers",
    "customer_memberships",
    "plot_survival",
    "score_impact",
    "summary_score",
    "survival_by_topic",
    "topic_outcomes",
    "topic_segments",
    "topic_trends",
]
