"""Outcomes stage: per-topic churn statistics at customer level.

``topic_outcomes`` is the entry point. ``customer_memberships`` and
``build_customers`` expose its two inputs, the (customer, topic) pairs and the
customer population, for callers that need them alone.
"""

from painpoints.outcomes._population import build_customers, customer_memberships
from painpoints.outcomes._table import OutcomeTable, topic_outcomes

__all__ = ["OutcomeTable", "build_customers", "customer_memberships", "topic_outcomes"]
