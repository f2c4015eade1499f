"""Streaming batch scoring for `redflag score`: read rows, score in chunks, write one output row per input row."""

from __future__ import annotations

import collections
import csv
import gzip
import io
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from model.contract import DEFAULT_MAX_CHARS, RowError, check_text, csv_columns, flatten

FORMATS = ("jsonl", "csv")


@dataclass
class InRow:
    line: int
    id: str | None
    text: Any
    fields: dict[str, Any]
    error: tuple[str, str] | None = None


@dataclass
class Summary:
    rows: int = 0
    flagged: int = 0
    errors: int = 0
    interrupted: bool = False
    started: float = field(default_factory=time.perf_counter)

    def line(self) -> str:
        elapsed = time.perf_counter() - self.started
        rate = self.rows / elapsed if elapsed > 0 else 0.0
        return (
            f"rows {self.rows}, flagged {self.flagged}, errors {self.errors}, elapsed {elapsed:.1f}s, {rate:.0f} rows/s"
        )


def open_text(path: str, mode: str) -> IO[str]:
    """Open a path (or '-' for stdin/stdout) as UTF-8 text, gzip by extension."""
    if path == "-":
        if "r" in mode:
            return io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace", newline="")
        return sys.stdout
    if path.endswith(".gz"):
        return gzip.open(path, mode + "t", encoding="utf-8", errors="replace", newline="")  # type: ignore[return-value]
    return open(path, mode, encoding="utf-8", errors="replace", newline="")  # noqa: SIM115


def detect_format(path: str, explicit: str | None) -> str:
    if explicit:
        return explicit
    name = path.removesuffix(".gz").lower()
    return "csv" if name.endswith(".csv") else "jsonl"


def read_rows(stream: IO[str], text_field: str, id_field: str, max_chars: int) -> Iterator[InRow]:
    """Every JSON Lines input row, valid or not, with its 1-based line number."""
    for n, line in enumerate(stream, 1):
        if not line.strip():
            yield InRow(n, str(n), None, {}, ("empty_line", f"line {n} is empty"))
            continue
        try:
            obj = json.loads(line)
        except ValueError as e:
            yield InRow(n, str(n), None, {}, ("invalid_json", f"line {n} is not valid JSON: {e}"))
            continue
        if not isinstance(obj, dict):
            yield InRow(n, str(n), None, {}, ("invalid_row", f"line {n} is a JSON {type(obj).__name__}, not an object"))
            continue
        yield _in_row(n, obj, text_field, id_field, max_chars)


def _in_row(n: int, obj: dict[str, Any], text_field: str, id_field: str, max_chars: int) -> InRow:
    raw_id = obj.get(id_field)
    row_id = str(raw_id) if raw_id not in (None, "") else str(n)
    fields = {k: v for k, v in obj.items() if k not in (text_field, id_field)}
    if text_field not in obj:
        return InRow(n, row_id, None, fields, ("missing_text", f"line {n} has no {text_field!r} field"))
    text = obj[text_field]
    problem = check_text(text, max_chars)
    if problem:
        return InRow(n, row_id, text, fields, (problem[0], f"line {n}: {problem[1]}"))
    return InRow(n, row_id, text, fields)


def chunked(rows: Iterable[InRow], size: int) -> Iterator[list[InRow]]:
    chunk: list[InRow] = []
    for r in rows:
        chunk.append(r)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def score_chunk(scorer: Any, chunk: list[InRow]) -> list[dict[str, Any]]:
    """Output dicts for a chunk, in order: results for valid rows, error rows (with line) for the rest."""
    valid = [r for r in chunk if r.error is None]
    results = iter(scorer.score([r.text for r in valid], [r.id for r in valid])) if valid else iter(())
    out = []
    for r in chunk:
        if r.error is not None:
            d = {**r.fields, **RowError(r.id, r.error[0], r.error[1], r.line).to_dict()}
        else:
            d = {**r.fields, **next(results).to_dict()}
        out.append(d)
    return out


_WORKER_SCORER: Any = None


def _worker_init(model_path: str | None) -> None:
    global _WORKER_SCORER
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops the pool
    from model.scorer import Scorer

    _WORKER_SCORER = Scorer.load(Path(model_path) if model_path else None)


def _worker_score(chunk: list[InRow]) -> list[dict[str, Any]]:
    return score_chunk(_WORKER_SCORER, chunk)


class Writer:
    """Writes output rows as JSON Lines or CSV, flushing after each chunk so an interrupted run keeps whole rows."""

    def __init__(self, stream: IO[str], fmt: str, extra_columns: list[str] | None = None) -> None:
        self.stream, self.fmt = stream, fmt
        self.written = 0
        self._csv: csv.DictWriter[str] | None = None
        self._extra = extra_columns or []

    def write(self, rows: list[dict[str, Any]]) -> None:
        if self.fmt == "jsonl":
            self.stream.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
        else:
            if self._csv is None:
                self._csv = csv.DictWriter(self.stream, fieldnames=csv_columns() + self._extra, extrasaction="ignore")
                self._csv.writeheader()
            for r in rows:
                self._csv.writerow(flatten(r))
        self.stream.flush()
        self.written += len(rows)


def run(
    input_path: str,
    output_path: str,
    fmt: str | None,
    text_field: str = "text",
    id_field: str = "id",
    batch_size: int = 256,
    jobs: int = 1,
    max_chars: int = DEFAULT_MAX_CHARS,
    model_path: str | None = None,
    progress: bool = False,
    scorer: Any = None,
) -> Summary:
    """Score INPUT into OUTPUT; returns the summary. KeyboardInterrupt propagates after whole rows are flushed."""
    in_fmt = detect_format(input_path, None) if input_path != "-" else "jsonl"
    out_fmt = detect_format(output_path, fmt) if output_path != "-" else (fmt or "jsonl")
    summary = Summary()
    extra: list[str] = []
    with open_text(input_path, "r") as src:
        if in_fmt == "csv":
            reader = csv.DictReader(src)
            if reader.fieldnames is None or text_field not in reader.fieldnames:
                raise ValueError(f"CSV input has no {text_field!r} column (columns: {reader.fieldnames})")
            extra = [c for c in reader.fieldnames if c not in (text_field, id_field)]
            rows: Iterator[InRow] = (
                _in_row(n, dict(rec), text_field, id_field, max_chars) for n, rec in enumerate(reader, 1)
            )
        else:
            rows = read_rows(src, text_field, id_field, max_chars)
        out = open_text(output_path, "w")
        writer = Writer(out, out_fmt, extra)
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(unit="rows", file=sys.stderr, smoothing=0.1)
        stop = _StopFlag()
        try:
            for scored in _score_stream(chunked(rows, batch_size), jobs, model_path, scorer):
                writer.write(scored)
                summary.rows += len(scored)
                summary.errors += sum(1 for r in scored if "error" in r)
                summary.flagged += sum(1 for r in scored if r.get("flagged"))
                if bar is not None:
                    bar.update(len(scored))
                if stop.requested:
                    summary.interrupted = True
                    break
        finally:
            stop.restore()
            if bar is not None:
                bar.close()
            if out is not sys.stdout:
                out.close()
    return summary


class _StopFlag:
    """Ctrl-C asks the loop to stop after the chunk being written, so the output never ends in half a row."""

    def __init__(self) -> None:
        self.requested = False
        self._old: Any = None
        if threading.current_thread() is threading.main_thread():
            self._old = signal.signal(signal.SIGINT, self._on_sigint)

    def _on_sigint(self, signum: int, frame: Any) -> None:
        if self.requested:  # a second Ctrl-C stops at once
            raise KeyboardInterrupt
        self.requested = True

    def restore(self) -> None:
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)


def _score_stream(
    chunks: Iterator[list[InRow]], jobs: int, model_path: str | None, scorer: Any
) -> Iterator[list[dict[str, Any]]]:
    if jobs <= 1:
        if scorer is None:
            from model.scorer import Scorer

            scorer = Scorer.load(Path(model_path) if model_path else None)
        for chunk in chunks:
            yield score_chunk(scorer, chunk)
        return
    import multiprocessing as mp

    ctx = mp.get_context("fork" if os.name == "posix" else "spawn")
    with ctx.Pool(jobs, initializer=_worker_init, initargs=(model_path,)) as pool:
        # results leave in input order; at most 2 chunks per worker in flight keeps memory flat
        pending: collections.deque[Any] = collections.deque()
        for chunk in chunks:
            pending.append(pool.apply_async(_worker_score, (chunk,)))
            if len(pending) >= 2 * jobs:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()
