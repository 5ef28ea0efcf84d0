"""painpoints: find the pain points in customer feedback and link them to churn."""

import logging

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())
