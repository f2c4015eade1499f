"""Batch rows encoded to JSON where they are scored: in the worker's scoring thread or in a batch helper, which sends
bytes back instead of result objects, so the worker neither unpickles nor re-encodes them. Only orjson here: helper
processes import this module and nothing of the web stack.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import orjson


class Encoded(NamedTuple):
    """One batch row in its JSON form, with what the metrics count."""

    json: bytes
    risk_level: str | None  # None for an error row
    flagged: tuple[str, ...]  # codes of the flagged indicators


def flagged_codes(result: Any) -> tuple[str, ...]:
    """Codes of a result's flagged indicators, in taxonomy order."""
    return tuple(i.code for i in result.indicators if i.flagged)


def encode(rows: list[Any]) -> list[Encoded]:
    """Results (or error rows, which have no indicators) as `Encoded` rows."""
    out = []
    for r in rows:
        scored = hasattr(r, "indicators")
        out.append(
            Encoded(orjson.dumps(r.to_dict()), r.risk_level if scored else None, flagged_codes(r) if scored else ())
        )
    return out


def results_body(rows: list[Encoded]) -> bytes:
    """The batch response body, {"results": [...]}, spliced from encoded rows."""
    return b'{"results":[' + b",".join(r.json for r in rows) + b"]}"
