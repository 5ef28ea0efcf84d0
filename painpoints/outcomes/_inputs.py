"""Input checks and conversions of the outcomes stage.

The public functions call the ``validate_*`` functions once. The conversion helpers
below them assume that the input has passed those checks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Final

import numpy as np
import pandas as pd

from painpoints import schema as S

STATUS_TOPIC: Final = "topic"
STATUS_UNCLUSTERED: Final = "unclustered"
STATUS_NO_CONTENT: Final = "no_content"
STATUS_DUPLICATE: Final = "duplicate"
STATUS_REJECTED: Final = "rejected"

# Fail at import, not deep inside a run, when schema.STATUSES changes.
if {STATUS_TOPIC, STATUS_UNCLUSTERED, STATUS_NO_CONTENT, STATUS_DUPLICATE, STATUS_REJECTED} != set(
    S.STATUSES
):
    raise ImportError(
        f"painpoints.outcomes expects the statuses topic, unclustered, no_content, duplicate "
        f"and rejected, but schema.STATUSES is {S.STATUSES}; update painpoints/outcomes/_inputs.py"
    )

# Statuses whose rows carry a topic id in the topic_id column.
TOPIC_STATUSES: Final = (STATUS_TOPIC, STATUS_DUPLICATE)

UNITS: Final = ("customer", "row")

_EXAMPLE_COUNT: Final = 5


def _examples(values: Iterable[object]) -> list[object]:
    """Return the first few values as plain Python objects, for readable messages."""
    head = list(values)[:_EXAMPLE_COUNT]
    return [value.item() if isinstance(value, np.generic) else value for value in head]


def _require_frame(frame: object, name: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas DataFrame, got {type(frame).__name__}")


def _require_columns(frame: pd.DataFrame, required: Sequence[str], name: str) -> None:
    missing = [column for column in required if column not in frame.columns]
    if missing:
        raise ValueError(
            f"{name} is missing required column(s) {missing}; "
            f"columns present: {list(frame.columns)}"
        )


def _check_customer_ids(ids: pd.Series, name: str) -> None:
    missing = ids.isna()
    if missing.any():
        raise ValueError(
            f"{name} has {int(missing.sum())} row(s) with a missing {S.CUSTOMER_ID} "
            f"(row positions {_examples(ids.index[missing])}); give every row a customer id"
        )


def _check_boolean_like(values: pd.Series, name: str) -> None:
    if pd.api.types.is_bool_dtype(values.dtype):
        return
    known = values.dropna()
    invalid = known[~known.isin([True, False, 0, 1])]
    if len(invalid):
        raise ValueError(
            f"{name} column {S.CHURNED!r} must be True/False or 1/0 (missing when unknown); "
            f"found invalid value(s) {_examples(invalid.unique())}"
        )


def _check_numeric(values: pd.Series, column: str, name: str) -> None:
    converted = pd.to_numeric(values, errors="coerce")
    invalid = values[converted.isna() & values.notna()]
    if len(invalid):
        raise ValueError(
            f"{name} column {column!r} must be numeric; "
            f"found invalid value(s) {_examples(invalid.unique())}"
        )


def _invalid_integers(values: pd.Series, minimum: int) -> pd.Series:
    """Return a mask of values that are missing, not whole numbers, or below `minimum`."""
    numeric = pd.to_numeric(values, errors="coerce").astype("float64")
    return numeric.isna() | (numeric < minimum) | (numeric % 1 != 0)


def validate_documents(
    documents: pd.DataFrame, *, need_outcome: bool, need_row_number: bool
) -> None:
    """Raise ValueError or TypeError unless `documents` is a valid documents frame.

    Parameters
    ----------
    documents : pandas.DataFrame
        Documents frame as described in :mod:`painpoints.schema`.
    need_outcome : bool
        Whether the churned column is required (it is when no customers frame is given).
    need_row_number : bool
        Whether row_number is required and must be unique (it is when a memberships
        frame is joined on it).

    Raises
    ------
    TypeError
        If `documents` is not a DataFrame.
    ValueError
        If a required column is missing, a customer id is missing, a status is not one
        of ``schema.STATUSES``, a topic or duplicate row has no valid topic id, or the
        churned, value or row_number column contains invalid values.
    """
    name = "documents"
    _require_frame(documents, name)
    required = [S.CUSTOMER_ID, S.STATUS, S.TOPIC_ID]
    if need_outcome:
        required.append(S.CHURNED)
    if need_row_number:
        required.append(S.ROW_NUMBER)
    _require_columns(documents, required, name)

    _check_customer_ids(documents[S.CUSTOMER_ID], name)

    status = documents[S.STATUS]
    invalid_status = status[~status.isin(S.STATUSES)]
    if len(invalid_status):
        raise ValueError(
            f"{name} column {S.STATUS!r} has invalid value(s) "
            f"{_examples(invalid_status.unique())}; expected one of {S.STATUSES}"
        )

    # Topic rows need a real topic (>= 0). A duplicate row copies its original's topic,
    # which is UNCLUSTERED when the original was left out by clustering.
    for row_status, minimum in ((STATUS_TOPIC, 0), (STATUS_DUPLICATE, S.UNCLUSTERED)):
        rows = status == row_status
        invalid = rows & _invalid_integers(documents[S.TOPIC_ID], minimum)
        if invalid.any():
            raise ValueError(
                f"{name} has {int(invalid.sum())} {row_status!r} row(s) whose {S.TOPIC_ID} "
                f"is missing, not an integer or below {minimum} (values "
                f"{_examples(documents.loc[invalid, S.TOPIC_ID])}, row positions "
                f"{_examples(documents.index[invalid])})"
            )

    if S.CHURNED in documents.columns:
        _check_boolean_like(documents[S.CHURNED], name)
    if S.VALUE in documents.columns:
        _check_numeric(documents[S.VALUE], S.VALUE, name)

    if need_row_number:
        row_numbers = documents[S.ROW_NUMBER]
        invalid = _invalid_integers(row_numbers, 1)
        if invalid.any():
            raise ValueError(
                f"{name} column {S.ROW_NUMBER!r} must contain integers >= 1; "
                f"found {_examples(row_numbers[invalid])}"
            )
        repeated = row_numbers[row_numbers.duplicated()]
        if len(repeated):
            raise ValueError(
                f"{name} column {S.ROW_NUMBER!r} must be unique to join memberships on it; "
                f"repeated value(s) {_examples(repeated.unique())}"
            )


def validate_customers(customers: pd.DataFrame) -> None:
    """Raise ValueError or TypeError unless `customers` is a valid customers frame.

    Parameters
    ----------
    customers : pandas.DataFrame
        One row per customer with customer_id and churned, optionally value and
        covariate columns.

    Raises
    ------
    TypeError
        If `customers` is not a DataFrame.
    ValueError
        If customer_id or churned is missing, a customer id is missing or repeated,
        churned is not boolean-like, or value is not numeric.
    """
    name = "customers"
    _require_frame(customers, name)
    _require_columns(customers, [S.CUSTOMER_ID, S.CHURNED], name)
    _check_customer_ids(customers[S.CUSTOMER_ID], name)

    ids = customer_ids(customers[S.CUSTOMER_ID])
    repeated = ids[ids.duplicated()]
    if len(repeated):
        raise ValueError(
            f"{name} must have one row per customer; repeated {S.CUSTOMER_ID} value(s) "
            f"{_examples(repeated.unique())}"
        )

    _check_boolean_like(customers[S.CHURNED], name)
    if S.VALUE in customers.columns:
        _check_numeric(customers[S.VALUE], S.VALUE, name)


def validate_memberships(memberships: pd.DataFrame, documents: pd.DataFrame) -> None:
    """Raise ValueError or TypeError unless `memberships` can be joined to `documents`.

    Parameters
    ----------
    memberships : pandas.DataFrame
        Long frame with row_number and topic_id, one row per (row, topic) pair.
    documents : pandas.DataFrame
        Documents frame that already passed :func:`validate_documents` with
        ``need_row_number=True``.

    Raises
    ------
    TypeError
        If `memberships` is not a DataFrame.
    ValueError
        If a column is missing, a topic id is missing or below UNCLUSTERED, or a row
        number is not in `documents`.
    """
    name = "memberships"
    _require_frame(memberships, name)
    _require_columns(memberships, [S.ROW_NUMBER, S.TOPIC_ID], name)

    invalid = _invalid_integers(memberships[S.TOPIC_ID], S.UNCLUSTERED)
    if invalid.any():
        raise ValueError(
            f"{name} column {S.TOPIC_ID!r} must contain integers >= {S.UNCLUSTERED}; "
            f"found {_examples(memberships.loc[invalid, S.TOPIC_ID])}"
        )

    row_numbers = pd.to_numeric(memberships[S.ROW_NUMBER], errors="coerce")
    known = pd.to_numeric(documents[S.ROW_NUMBER], errors="coerce")
    unknown = memberships.loc[~row_numbers.isin(known), S.ROW_NUMBER]
    if len(unknown):
        raise ValueError(
            f"{name} has {len(unknown)} row(s) whose {S.ROW_NUMBER} is not in documents "
            f"(values {_examples(unknown.unique())})"
        )


def validate_covariates(
    covariates: Sequence[str], documents: pd.DataFrame, customers: pd.DataFrame | None
) -> None:
    """Raise ValueError or TypeError unless every covariate is a column of a frame.

    Raises
    ------
    TypeError
        If `covariates` is a single string.
    ValueError
        If a covariate is customer_id or churned, or is a column of neither
        `customers` nor `documents` (value always counts as present).
    """
    if isinstance(covariates, str):
        raise TypeError(
            f"covariates must be a sequence of column names, got the string {covariates!r}"
        )
    reserved = [column for column in covariates if column in (S.CUSTOMER_ID, S.CHURNED)]
    if reserved:
        raise ValueError(f"covariates cannot include {reserved}; they are the id and the outcome")

    customer_columns = [] if customers is None else list(customers.columns)
    present = {S.VALUE, *customer_columns, *documents.columns}
    missing = [column for column in covariates if column not in present]
    if missing:
        raise ValueError(
            f"covariate column(s) {missing} not found in the customers frame or the documents; "
            f"customers columns: {customer_columns}, documents columns: {list(documents.columns)}"
        )


def validate_options(
    *,
    labels: Mapping[int, str],
    unit: str,
    min_customers: int,
    min_events: int,
    alpha: float,
) -> None:
    """Raise ValueError or TypeError unless the options of ``topic_outcomes`` are valid.

    Raises
    ------
    TypeError
        If `labels` is not a mapping.
    ValueError
        If `unit` is unknown, a threshold is negative, or `alpha` is outside (0, 1).
    """
    if not isinstance(labels, Mapping):
        raise TypeError(
            f"labels must be a mapping of topic id to label, got {type(labels).__name__}"
        )
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {UNITS}, got {unit!r}")
    for option, number in (("min_customers", min_customers), ("min_events", min_events)):
        if number < 0:
            raise ValueError(f"{option} must be >= 0, got {number}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1 (exclusive), got {alpha}")



def customer_ids(ids: pd.Series) -> pd.Series:
    """Convert customer ids to str so that ids from documents and customers compare equal."""
    return ids.astype(str)


def to_boolean(values: pd.Series) -> pd.Series:
    """Convert validated boolean-like values to pandas' nullable boolean dtype."""
    converted = pd.Series(pd.NA, index=values.index, dtype="boolean")
    known = values.notna()
    converted[known] = values[known].astype(bool)
    return converted


def normalize_covariate(values: pd.Series) -> pd.Series:
    """Turn blank text into missing values, and text that is all numbers into float64.

    File readers that keep every cell as text (to keep leading zeros in ids) pass
    covariates such as ``"12"`` and ``""``. Other columns, including datetime columns
    (which pandas.to_numeric would turn into nanoseconds), are returned unchanged.
    """
    if (
        pd.api.types.is_numeric_dtype(values.dtype)
        or pd.api.types.is_bool_dtype(values.dtype)
        or pd.api.types.is_datetime64_any_dtype(values.dtype)
    ):
        return values
    text = values.astype("string").str.strip()
    values = values.where(text.fillna("") != "")
    numbers = pd.to_numeric(values, errors="coerce")
    if numbers[values.notna()].notna().all():
        return numbers.astype("float64")
    return values


def to_float(values: pd.Series) -> pd.Series:
    """Convert validated numeric values to float64, with NaN where missing."""
    return pd.to_numeric(values, errors="coerce").astype("float64")
