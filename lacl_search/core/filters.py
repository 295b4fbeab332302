"""Structured filters: term, terms and range conditions combined with AND / OR / NOT.

A filter is a small immutable tree (:class:`Term`, :class:`Terms`, :class:`Range`, :class:`And`,
:class:`Or`, :class:`Not`) compiled by the pure function :func:`to_query` into OpenSearch query DSL.
Field names are the caller's: ``lang`` and ``doc_id`` are the schema's own fields, any other name is a
metadata key (``section`` -> ``metadata.section``). The same tree comes from JSON with
:func:`from_json` (``{"and": [{"term": {"lang": "de"}}, {"range": {"year": {"gte": 2020}}}]}``) and from
command-line expressions with :func:`parse_expression` (``lang=de``, ``section!=net``, ``year>=2020``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from lacl_search.core import schema
from lacl_search.errors import BadInput

Scalar = str | int | float | bool
OWN_FIELDS = (schema.LANG, schema.DOC_ID)
RANGE_OPS = ("gte", "gt", "lte", "lt")


def field_path(name: str) -> str:
    """The indexed field for a filter field name (``lang`` stays, ``section`` -> ``metadata.section``)."""
    name = str(name).strip()
    if not name or name.startswith(".") or name.endswith("."):
        raise BadInput(f"invalid filter field name {name!r}")
    return name if name in OWN_FIELDS else f"{schema.METADATA}.{name}"


@dataclass(frozen=True)
class Term:
    """``field == value``."""

    field: str
    value: Scalar


@dataclass(frozen=True)
class Terms:
    """``field`` equals any of ``values``."""

    field: str
    values: tuple[Scalar, ...]


@dataclass(frozen=True)
class Range:
    """``field`` within bounds (any of ``gte``, ``gt``, ``lte``, ``lt``; at least one)."""

    field: str
    gte: Scalar | None = None
    gt: Scalar | None = None
    lte: Scalar | None = None
    lt: Scalar | None = None


@dataclass(frozen=True)
class And:
    """Every clause holds."""

    clauses: tuple[Filter, ...]


@dataclass(frozen=True)
class Or:
    """At least one clause holds."""

    clauses: tuple[Filter, ...]


@dataclass(frozen=True)
class Not:
    """The clause does not hold."""

    clause: Filter


Filter = Term | Terms | Range | And | Or | Not


def to_query(node: Filter) -> dict:
    """OpenSearch DSL for ``node`` (a fresh dict; filter context, so no scoring)."""
    if isinstance(node, Term):
        return {"term": {field_path(node.field): node.value}}
    if isinstance(node, Terms):
        if not node.values:
            raise BadInput(f"terms filter on {node.field!r} has no values")
        return {"terms": {field_path(node.field): list(node.values)}}
    if isinstance(node, Range):
        bounds = {op: getattr(node, op) for op in RANGE_OPS if getattr(node, op) is not None}
        if not bounds:
            raise BadInput(f"range filter on {node.field!r} has no bound")
        return {"range": {field_path(node.field): bounds}}
    if isinstance(node, And):
        return {"bool": {"filter": [to_query(c) for c in _nonempty(node.clauses, "and")]}}
    if isinstance(node, Or):
        return {"bool": {"should": [to_query(c) for c in _nonempty(node.clauses, "or")], "minimum_should_match": 1}}
    if isinstance(node, Not):
        return {"bool": {"must_not": [to_query(node.clause)]}}
    raise BadInput(f"not a filter: {type(node).__name__}")


def _nonempty(clauses: Sequence[Filter], what: str) -> Sequence[Filter]:
    if not clauses:
        raise BadInput(f"an {what!r} filter needs at least one clause")
    return clauses


def all_of(*clauses: Filter | None) -> Filter | None:
    """AND of the given clauses, skipping None; a single clause is returned as it is."""
    kept = tuple(c for c in clauses if c is not None)
    if not kept:
        return None
    return kept[0] if len(kept) == 1 else And(kept)


def from_json(data: object) -> Filter:
    """A filter from its JSON form: ``{"term": {F: V}}``, ``{"terms": {F: [...]}}``,
    ``{"range": {F: {"gte": ...}}}``, ``{"and": [...]}``, ``{"or": [...]}``, ``{"not": {...}}``."""
    if not isinstance(data, Mapping) or len(data) != 1:
        raise BadInput(f"a filter is an object with exactly one key, got {data!r}")
    (kind, body), = data.items()
    if kind in ("and", "or"):
        if not isinstance(body, list):
            raise BadInput(f"{kind!r} takes a list of filters")
        clauses = tuple(from_json(c) for c in body)
        return And(clauses) if kind == "and" else Or(clauses)
    if kind == "not":
        return Not(from_json(body))
    if kind not in ("term", "terms", "range") or not isinstance(body, Mapping) or len(body) != 1:
        raise BadInput(f"unknown filter {kind!r}: use term, terms, range, and, or, not")
    (field, value), = body.items()
    if kind == "term":
        return Term(field, _scalar(value))
    if kind == "terms":
        if not isinstance(value, list):
            raise BadInput(f"terms filter on {field!r} takes a list")
        return Terms(field, tuple(_scalar(v) for v in value))
    if not isinstance(value, Mapping) or not set(value) <= set(RANGE_OPS):
        raise BadInput(f"range filter on {field!r} takes bounds among {RANGE_OPS}")
    return Range(field, **{op: _scalar(v) for op, v in value.items()})


def _scalar(value: object) -> Scalar:
    if not isinstance(value, (str, int, float, bool)):
        raise BadInput(f"filter values must be strings, numbers or booleans, got {value!r}")
    return value


_EXPRESSION = re.compile(r"^\s*([^=!<>\s]+)\s*(!=|>=|<=|=|>|<)\s*(.*?)\s*$")


def _number_or_text(text: str) -> Scalar:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_expression(expression: str) -> Filter:
    """``lang=de`` (term), ``lang=de,fr`` (terms), ``section!=net`` (not), ``year>=2020`` (range)."""
    match = _EXPRESSION.match(expression or "")
    if not match or not match.group(3):
        raise BadInput(
            f"filter must look like FIELD=VALUE, FIELD!=VALUE or FIELD>=N (also >, <, <=), got {expression!r}"
        )
    field, op, value = match.groups()
    if op in ("=", "!="):
        values = [v for v in value.split(",") if v]
        node: Filter = Term(field, values[0]) if len(values) == 1 else Terms(field, tuple(values))
        return Not(node) if op == "!=" else node
    bound = {">=": "gte", ">": "gt", "<=": "lte", "<": "lt"}[op]
    return Range(field, **{bound: _number_or_text(value)})
