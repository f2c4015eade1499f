"""Streaming batch scoring for `redflag score`: read rows, score in chunks, write one output row per input row.

The parent process only reads raw records and writes finished text; parsing, validation, scoring and formatting
happen per chunk (in worker processes with --jobs), so memory stays flat and throughput scales with workers.
"""

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
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from model.contract import DEFAULT_MAX_CHARS, RowError, check_text, csv_columns, flatten

FORMATS = ("jsonl", "csv")


@dataclass(frozen=True)
class Options:
    """What a chunk needs to be turned into output text (sent to workers with every chunk)."""

    in_fmt: str
    out_fmt: str
    text_field: str
    id_field: str
    max_chars: int
    columns: tuple[str, ...] = ()  # CSV output columns
    keep_text: bool = False  # copy the text into the output row


@dataclass
class Done:
    """A scored chunk: its output text and counts."""

    text: str
    rows: int
    errors: int
    flagged: int


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


def parse_record(n: int, raw: Any, opts: Options) -> tuple[str | None, Any, dict[str, Any], tuple[str, str] | None]:
    """(id, text, other fields, error) of one raw record: a JSONL line or a CSV row dict."""
    if isinstance(raw, str):
        if not raw.strip():
            return str(n), None, {}, ("empty_line", f"line {n} is empty")
        try:
            obj = json.loads(raw)
        except (ValueError, RecursionError) as e:  # RecursionError: nesting deeper than the decoder goes
            return str(n), None, {}, ("invalid_json", f"line {n} is not valid JSON: {e}")
        if not isinstance(obj, dict):
            return str(n), None, {}, ("invalid_row", f"line {n} is a JSON {type(obj).__name__}, not an object")
    else:
        obj = raw
    raw_id = obj.get(opts.id_field)
    row_id = str(raw_id) if raw_id not in (None, "") else str(n)
    fields = {k: v for k, v in obj.items() if k not in (opts.text_field, opts.id_field)}
    if opts.text_field not in obj:
        return row_id, None, fields, ("missing_text", f"line {n} has no {opts.text_field!r} field")
    text = obj[opts.text_field]
    problem = check_text(text, opts.max_chars)
    if problem:
        return row_id, text, fields, (problem[0], f"line {n}: {problem[1]}")
    return row_id, text, fields, None


def score_records(scorer: Any, chunk: list[tuple[int, Any]], opts: Options) -> list[dict[str, Any]]:
    """Output dicts for a chunk of (line number, raw record), in order: results, or error rows naming the line."""
    parsed = [(n, *parse_record(n, raw, opts)) for n, raw in chunk]
    valid = [p for p in parsed if p[4] is None]
    results = iter(scorer.score([p[2] for p in valid], [p[1] for p in valid])) if valid else iter(())
    out = []
    for n, row_id, text, fields, error in parsed:
        if opts.keep_text and isinstance(text, str):
            fields = {**fields, "text": text}
        if error is not None:
            out.append({**fields, **RowError(row_id, error[0], error[1], n).to_dict()})
        else:
            out.append({**fields, **next(results).to_dict()})
    return out


def format_rows(rows: list[dict[str, Any]], opts: Options) -> str:
    if opts.out_fmt == "jsonl":
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(opts.columns), extrasaction="ignore")
    for r in rows:
        w.writerow(flatten(r))
    return buf.getvalue()


def process_chunk(scorer: Any, chunk: list[tuple[int, Any]], opts: Options) -> Done:
    rows = score_records(scorer, chunk, opts)
    return Done(
        format_rows(rows, opts),
        len(rows),
        sum(1 for r in rows if "error" in r),
        sum(1 for r in rows if r.get("flagged")),
    )


def chunked(records: Iterator[tuple[int, Any]], size: int) -> Iterator[list[tuple[int, Any]]]:
    chunk: list[tuple[int, Any]] = []
    for rec in records:
        chunk.append(rec)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


_WORKER_SCORER: Any = None


def _worker_init(model_path: str | None) -> None:
    global _WORKER_SCORER
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops the pool
    if _WORKER_SCORER is None:  # forked workers inherit the parent's loaded model; spawned ones load their own
        from model.scorer import Scorer

        _WORKER_SCORER = Scorer.load(Path(model_path) if model_path else None)


def _worker_process(chunk: list[tuple[int, Any]], opts: Options) -> Done:
    return process_chunk(_WORKER_SCORER, chunk, opts)


def _records(src: IO[str], in_fmt: str, text_field: str) -> tuple[Iterator[tuple[int, Any]], list[str]]:
    """(line number, raw record) pairs and, for CSV, the header."""
    if in_fmt == "csv":
        reader = csv.DictReader(src)
        if reader.fieldnames is None or text_field not in reader.fieldnames:
            raise ValueError(f"CSV input has no {text_field!r} column (columns: {reader.fieldnames})")
        return ((n, dict(rec)) for n, rec in enumerate(reader, 1)), list(reader.fieldnames)
    return ((n, line) for n, line in enumerate(src, 1)), []


def _csv_columns(header: list[str], first: list[tuple[int, Any]], opts: Options) -> tuple[str, ...]:
    """Flat columns plus the input's other fields (CSV header, or the keys seen in the first JSONL chunk)."""
    extra: list[str] = []
    if header:
        extra = [c for c in header if c not in (opts.text_field, opts.id_field)]
    else:
        for _, raw in first:
            try:
                obj = json.loads(raw)
            except (ValueError, RecursionError):
                continue
            if isinstance(obj, dict):
                extra.extend(k for k in obj if k not in (opts.text_field, opts.id_field) and k not in extra)
    base = csv_columns()
    return tuple(base + [c for c in extra if c not in base])


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
    keep_text: bool = False,
) -> Summary:
    """Score INPUT into OUTPUT and return the summary; Ctrl-C stops after the chunk being written."""
    in_fmt = detect_format(input_path, None) if input_path != "-" else "jsonl"
    out_fmt = detect_format(output_path, fmt) if output_path != "-" else (fmt or "jsonl")
    summary = Summary()
    with open_text(input_path, "r") as src:
        records, header = _records(src, in_fmt, text_field)
        chunks = chunked(records, batch_size)
        opts = Options(in_fmt, out_fmt, text_field, id_field, max_chars, keep_text=keep_text)
        first = next(chunks, None)
        if out_fmt == "csv":
            cols = _csv_columns(header, first or [], opts) + (("text",) if keep_text else ())
            opts = Options(in_fmt, out_fmt, text_field, id_field, max_chars, cols, keep_text)
        out = open_text(output_path, "w")
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(unit="rows", file=sys.stderr, smoothing=0.1)
        stop = _StopFlag()
        try:
            if out_fmt == "csv":
                csv.writer(out).writerow(opts.columns)
            all_chunks = _prepend(first, chunks)
            for done in _score_stream(all_chunks, opts, jobs, model_path, scorer):
                out.write(done.text)
                out.flush()  # whole chunks only: an interrupted run leaves whole rows
                summary.rows += done.rows
                summary.errors += done.errors
                summary.flagged += done.flagged
                if bar is not None:
                    bar.update(done.rows)
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


def _prepend(
    first: list[tuple[int, Any]] | None, rest: Iterator[list[tuple[int, Any]]]
) -> Iterator[list[tuple[int, Any]]]:
    if first is not None:
        yield first
        yield from rest


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
    chunks: Iterator[list[tuple[int, Any]]], opts: Options, jobs: int, model_path: str | None, scorer: Any
) -> Iterator[Done]:
    if jobs <= 1:
        if scorer is None:
            from model.scorer import Scorer

            scorer = Scorer.load(Path(model_path) if model_path else None)
        for chunk in chunks:
            yield process_chunk(scorer, chunk, opts)
        return
    import multiprocessing as mp

    global _WORKER_SCORER
    fork = os.name == "posix"
    if fork:  # load once here; forked workers share it copy-on-write and start at once
        if scorer is None:
            from model.scorer import Scorer

            scorer = Scorer.load(Path(model_path) if model_path else None)
        _WORKER_SCORER = scorer
    ctx = mp.get_context("fork" if fork else "spawn")
    with ctx.Pool(jobs, initializer=_worker_init, initargs=(model_path,)) as pool:
        # results leave in input order; at most 2 chunks per worker in flight keeps memory flat
        pending: collections.deque[Any] = collections.deque()
        for chunk in chunks:
            pending.append(pool.apply_async(_worker_process, (chunk, opts)))
            if len(pending) >= 2 * jobs:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()
