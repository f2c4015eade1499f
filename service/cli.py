"""The `redflag` command line: data check/add, train, evaluate, score, serve, report."""

from __future__ import annotations

import glob
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    help="redflag: pyramid-scheme red flags in platform and offer descriptions (zh/en/mixed).",
    no_args_is_help=True,
    add_completion=False,
)
data_app = typer.Typer(help="The labeled corpus: check it, add rows.", no_args_is_help=True)
app.add_typer(data_app, name="data")


def err(msg: str) -> None:
    typer.echo(msg, err=True)


def ensure_artifact(model: Path | None) -> Path | None:
    """The artifact to use; trains one from the bundled corpus first when none exists and none was named."""
    from model.scorer import default_model_path

    path = model or default_model_path()
    if path is None:
        err("redflag: no model artifact yet; training one from the bundled corpus (about a minute)…")
        from service.autotrain import train_if_missing

        path = train_if_missing(log=err)
    return path


@data_app.command("check")
def data_check(
    corpus: Annotated[Path | None, typer.Option(help="corpus JSONL (default: the bundled one)")] = None,
) -> None:
    """Validate the corpus and print its counts; exit 1 on any violation."""
    from training.corpus import CORPUS_PATH, check, format_report, load_rows

    path = corpus or CORPUS_PATH
    try:
        rows = load_rows(path)
    except (OSError, ValueError) as e:
        err(f"redflag data check: {e}")
        raise typer.Exit(1) from e
    rep = check(rows)
    typer.echo(f"corpus: {path}")
    typer.echo(format_report(rep))
    if rep.violations:
        raise typer.Exit(1)


@data_app.command("card")
def data_card() -> None:
    """Rewrite the counts block of training/DATA.md from the current corpus."""
    from training.corpus import DATA_CARD, check, load_rows, update_data_card

    update_data_card(check(load_rows()))
    typer.echo(f"updated {DATA_CARD}")


@data_app.command("add")
def data_add(
    files: Annotated[list[Path], typer.Argument(help="JSONL files of new rows (no id or split needed)")],
    corpus: Annotated[Path | None, typer.Option(help="corpus JSONL (default: the bundled one)")] = None,
) -> None:
    """Validate new rows, give them ids and fixed splits, and append them to the corpus."""
    from training.corpus import CORPUS_PATH
    from training.ingest import add_rows

    n, problems = add_rows(files, corpus or CORPUS_PATH)
    if problems:
        err("redflag data add: nothing was added; fix these rows first:")
        for p in problems:
            err(f"  {p}")
        raise typer.Exit(1)
    typer.echo(f"added {n} rows to {corpus or CORPUS_PATH}")


@app.command()
def train(
    corpus: Annotated[Path | None, typer.Option(help="corpus JSONL (default: the bundled one)")] = None,
    out_dir: Annotated[Path | None, typer.Option(help="where to write the artifact (default: model/artifacts)")] = None,
    seed: Annotated[int, typer.Option(help="random seed; same corpus and seed give the same predictions")] = 13,
) -> None:
    """Fit on train, pick thresholds on dev, evaluate on test, write the artifact and its manifest."""
    from model import artifact
    from training.corpus import CORPUS_PATH
    from training.train import train as run_train

    try:
        path = run_train(corpus or CORPUS_PATH, out_dir or artifact.ARTIFACT_DIR, seed, log=err)
    except (OSError, ValueError) as e:
        err(f"redflag train: {e}")
        raise typer.Exit(1) from e
    typer.echo(str(path))


@app.command()
def evaluate(
    model: Annotated[
        Path | None, typer.Option(help="artifact (.joblib); default REDFLAG_MODEL_PATH or the newest")
    ] = None,
    card: Annotated[bool, typer.Option(help="write model/MODEL_CARD.md from the numbers")] = True,
) -> None:
    """Metric tables on the test split and the out-of-author slice, beside two baselines; writes the model card."""
    from model.artifact import ArtifactError
    from training.evaluate import evaluate as run_eval

    try:
        path = ensure_artifact(model)
        text = run_eval(path, write_card=card, log=err)
    except ArtifactError as e:
        err(f"redflag evaluate: {e}")
        raise typer.Exit(2) from e
    typer.echo(text)


@app.command()
def score(
    input: Annotated[str, typer.Argument(help="JSONL or CSV file (.gz too), or - for stdin")],
    output: Annotated[
        str, typer.Option("-o", "--output", help="output file (.jsonl/.csv, .gz too); stdout when omitted")
    ] = "-",
    format: Annotated[
        str | None, typer.Option("--format", help="jsonl or csv (default: from the output extension)")
    ] = None,
    text_field: Annotated[str, typer.Option(help="input field holding the text")] = "text",
    id_field: Annotated[str, typer.Option(help="input field holding the row id (default: line number)")] = "id",
    batch_size: Annotated[int, typer.Option(min=1, max=10000, help="rows scored per vectorized call")] = 256,
    jobs: Annotated[int, typer.Option(min=1, max=64, help="worker processes, each loading the model once")] = 1,
    max_chars: Annotated[int, typer.Option(min=1, help="longer texts get an error row")] = 20000,
    model: Annotated[
        Path | None, typer.Option(help="artifact (.joblib); default REDFLAG_MODEL_PATH or the newest")
    ] = None,
    fail_on_error: Annotated[bool, typer.Option(help="exit 1 when any row could not be scored")] = False,
    engine: Annotated[
        str, typer.Option(help="local (this machine) or dask (a cluster; OUTPUT is a directory)")
    ] = "local",
    scheduler: Annotated[
        str | None, typer.Option(help="Dask scheduler address; without it a LocalCluster starts")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bar and no summary")] = False,
    keep_text: Annotated[
        bool, typer.Option(help="copy each row's text into its output row (for `redflag report`)")
    ] = False,
) -> None:
    """Score every row of INPUT: one output row per input row, in order (errors name the line)."""
    from model.artifact import ArtifactError
    from service import batch

    if format is not None and format not in batch.FORMATS:
        err(f"redflag score: --format must be one of {', '.join(batch.FORMATS)}")
        raise typer.Exit(2)
    if input != "-" and not Path(input).exists() and not (engine == "dask" and glob.glob(input)):
        err(f"redflag score: input file {input} does not exist")
        raise typer.Exit(2)
    if engine not in ("local", "dask"):
        err("redflag score: --engine must be local or dask")
        raise typer.Exit(2)
    if engine == "dask":
        _score_dask(
            input, output, format, text_field, id_field, scheduler, model, jobs, max_chars, fail_on_error, quiet
        )
        return
    try:
        path = ensure_artifact(model)
        from model.scorer import Scorer

        scorer = Scorer.load(path)
        summary = batch.run(
            input,
            output,
            format,
            text_field,
            id_field,
            batch_size,
            jobs,
            max_chars,
            str(path) if path else None,
            progress=not quiet and sys.stderr.isatty(),
            scorer=scorer,
            keep_text=keep_text,
        )
    except ArtifactError as e:
        err(f"redflag score: {e}")
        raise typer.Exit(2) from e
    except ValueError as e:
        err(f"redflag score: {e}")
        raise typer.Exit(2) from e
    except KeyboardInterrupt:
        err("redflag score: interrupted; the output holds only whole rows")
        raise typer.Exit(130) from None
    if summary.interrupted:
        err(f"redflag score: interrupted: {summary.rows} whole rows were written; {summary.line()}")
        raise typer.Exit(130)
    if not quiet:
        err(f"redflag score: {summary.line()}")
    if fail_on_error and summary.errors:
        raise typer.Exit(1)


def _score_dask(
    input: str,
    output: str,
    format: str | None,
    text_field: str,
    id_field: str,
    scheduler: str | None,
    model: Path | None,
    jobs: int,
    max_chars: int,
    fail_on_error: bool,
    quiet: bool,
) -> None:
    from model.artifact import ArtifactError, verify
    from service.dask_engine import run_dask

    if input == "-" or output == "-":
        err("redflag score: the Dask engine reads a file (or glob) and writes a directory: give INPUT and -o OUTDIR")
        raise typer.Exit(2)
    try:
        path = ensure_artifact(model)
        if path is not None:
            verify(path)  # fail here, not on every worker
        counts = run_dask(
            input,
            output,
            format or "jsonl",
            text_field,
            id_field,
            scheduler,
            str(path) if path else None,
            workers=max(jobs, 2),
            max_chars=max_chars,
            log=(lambda _m: None) if quiet else err,
        )
    except (ArtifactError, ValueError) as e:
        err(f"redflag score: {e}")
        raise typer.Exit(2) from e
    if not quiet:
        rate = counts["rows"] / counts["elapsed"] if counts["elapsed"] else 0.0
        err(
            f"redflag score: rows {counts['rows']}, flagged {counts['flagged']}, errors {counts['errors']}, "
            f"elapsed {counts['elapsed']:.1f}s, {rate:.0f} rows/s, {counts['partitions']} partitions -> {output}"
        )
    if fail_on_error and counts["errors"]:
        raise typer.Exit(1)


@app.command()
def report(
    results: Annotated[Path, typer.Argument(help="JSONL output of `redflag score`")],
    output: Annotated[Path, typer.Option("-o", "--output", help="the HTML file to write")] = Path("report.html"),
    top: Annotated[int, typer.Option(min=1, help="how many flagged rows to show, highest risk first")] = 50,
) -> None:
    """A self-contained HTML report: totals, score histogram, levels, indicators, top flagged rows, errors."""
    from service.report import build_report

    if not results.exists():
        err(f"redflag report: {results} does not exist")
        raise typer.Exit(2)
    output.write_text(build_report(results, top), encoding="utf-8")
    typer.echo(str(output))


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="bind address")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="uvicorn worker processes")] = 1,
) -> None:
    """Run the HTTP API under uvicorn (trains the bundled model first if no artifact exists)."""
    import uvicorn

    from service.settings import get_settings

    # a batch request is shared by cores // workers processes (service/fanout.py) unless the operator says otherwise
    os.environ.setdefault("REDFLAG_BATCH_PROCESSES", str(max(1, (os.cpu_count() or 1) // workers)))
    os.environ.setdefault("REDFLAG_PIN_CPUS", "1")  # a core per worker, helpers on the others (service/affinity.py)
    get_settings.cache_clear()

    settings = get_settings()
    if not settings.keys() and host not in ("127.0.0.1", "localhost", "::1"):
        err(
            f"redflag serve: WARNING: REDFLAG_API_KEYS is not set and {host} is not a loopback address: "
            "anyone who can reach it can use /v1"
        )
    options = {
        # the app answers 503 + Retry-After past REDFLAG_MAX_CONCURRENCY in-flight requests; this is the backstop
        "limit_concurrency": settings.max_concurrency * 4,
        "timeout_graceful_shutdown": settings.graceful_timeout_s,
        "log_level": settings.log_level.lower(),
    }
    if workers == 1:
        uvicorn.run("service.app:create_app", factory=True, host=host, port=port, **options)
        return
    from service.workers import serve_many

    raise typer.Exit(serve_many(host, port, workers, options))


if __name__ == "__main__":
    app()
