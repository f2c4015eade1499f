"""The FastAPI app: lifespan loads one Scorer; handlers translate HTTP to Scorer.score and back."""

import asyncio
import hmac
import logging
import threading
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import Counter, Info
from prometheus_fastapi_instrumentator import Instrumentator

from model.contract import RowError, check_text
from model.taxonomy import INDICATORS
from service import affinity, errors, schemas
from service.coalesce import Coalescer
from service.errors import ApiError
from service.fanout import BatchPool
from service.fastjson import ContractJSON, add_schemas, parse_body, request_body
from service.middleware import BodyGuard, ConcurrencyLimit, client_key
from service.rows import Encoded, encode, flagged_codes, results_body
from service.settings import Settings, get_settings

log = logging.getLogger("redflag")
STATIC_DIR = Path(__file__).resolve().parent / "static"

TEXTS_SCORED = Counter("redflag_texts_scored_total", "Texts scored", ["route"])
FLAGS = Counter("redflag_indicator_flags_total", "Texts flagged per indicator", ["indicator"])
RISK_FLAGS = Counter("redflag_risk_flags_total", "Texts flagged for risk", ["level"])
MODEL_INFO = Info("redflag_model", "The loaded model")


def load_scorer(settings: Settings) -> Any:
    """The Scorer for the configured artifact; trains the bundled model first when allowed and none exists."""
    from model.artifact import ArtifactError
    from model.scorer import Scorer, default_model_path

    path = settings.model_path or default_model_path()
    if path is None:
        if settings.require_artifact:
            raise ArtifactError("no model artifact and REDFLAG_REQUIRE_ARTIFACT=1: refusing to train at start-up")
        from service.autotrain import train_if_missing

        log.warning("no model artifact found: building one from the bundled corpus (about a minute)")
        path = train_if_missing(log=log.warning)  # operators should see the build happen
    scorer = Scorer.load(Path(path))
    scorer.score(["预热 warm-up"])  # first call pays jieba's dictionary load, not the first client
    return scorer


class RateLimiter:
    """Requests per minute per key, sliding window; off when the limit is 0."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self.hits: dict[str, deque[float]] = defaultdict(deque)
        self.lock = threading.Lock()

    def check(self, key: str) -> None:
        if self.per_minute <= 0:
            return
        now = time.monotonic()
        with self.lock:
            q = self.hits[key]
            while q and now - q[0] > 60:
                q.popleft()
            if len(q) >= self.per_minute:
                retry = max(1, int(60 - (now - q[0])) + 1)
                raise ApiError(
                    429,
                    "rate_limited",
                    f"rate limit of {self.per_minute} requests per minute exceeded",
                    headers={"Retry-After": str(retry)},
                )
            q.append(now)


async def scorer_of(request: Request) -> Any:
    """The loaded Scorer, or 503 while there is none."""
    scorer = request.app.state.scorer
    if scorer is None:
        raise ApiError(
            503,
            "not_ready",
            "the model is not loaded: " + (request.app.state.load_error or "still starting"),
            headers={"Retry-After": "5"},
        )
    return scorer


async def authorize(request: Request) -> None:
    """API-key check (when keys are configured) and the optional per-key rate limit."""
    keys: list[bytes] = request.app.state.api_keys
    supplied = ""
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        supplied = auth[7:].strip()
    supplied = supplied or request.headers.get("x-api-key", "")
    if keys:
        ok = False
        for k in keys:  # compare with every key, each in constant time
            ok |= hmac.compare_digest(k, supplied.encode("utf-8", "surrogateescape"))
        if not supplied or not ok:
            raise ApiError(
                401,
                "unauthorized",
                "a valid API key is required (Authorization: Bearer <key> or X-API-Key)",
                headers={"WWW-Authenticate": "Bearer"},
            )
    request.app.state.limiter.check(supplied or client_key(request.scope))


ScorerDep = Annotated[Any, Depends(scorer_of)]


def create_app(settings: Settings | None = None, scorer_loader: Callable[[Settings], Any] | None = None) -> FastAPI:
    """Build the app; `scorer_loader` replaces the artifact loader (tests)."""
    settings = settings or get_settings()
    loader = scorer_loader or load_scorer
    keys = [k.encode() for k in settings.keys()]
    limiter = RateLimiter(settings.rate_limit_per_minute)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.scorer = None
        app.state.load_error = None
        helper_cpus = None
        if settings.pin_cpus:  # before any scoring thread or helper exists (service/affinity.py)
            layout = affinity.plan(settings.worker_index, affinity.allowed_cpus())
            if layout is not None and affinity.pin_process(layout[0]):
                helper_cpus = layout[1]
                log.info(
                    "worker %d pinned to CPU %s; batch helpers on %s",
                    settings.worker_index,
                    sorted(layout[0]),
                    sorted(layout[1]),
                )
        # scoring holds the GIL: concurrent scoring threads only thrash (measured); requests wait their turn instead.
        # A plain executor, not anyio's to_thread: its per-call bookkeeping costs about a tenth of a millisecond
        app.state.score_threads = ThreadPoolExecutor(settings.score_threads, thread_name_prefix="redflag-score")
        app.state.coalescer = None
        app.state.batch_pool = None
        try:
            scorer = loader(settings)
            if settings.coalesce_items > 1:  # otherwise each request goes straight to the scoring thread
                app.state.coalescer = Coalescer(
                    scorer.score, app.state.score_threads, max_items=settings.coalesce_items
                )
                app.state.coalescer.start()
            app.state.scorer = scorer
            MODEL_INFO.info({"version": scorer.version})
            log.info("model %s loaded and verified; ready", scorer.version)
            if settings.batch_processes > 1 and getattr(scorer, "path", None) is not None:
                app.state.batch_pool = BatchPool(scorer.path, settings.batch_processes, cpus=helper_cpus)
                app.state.batch_pool.start()
        except Exception as e:  # a model that fails to load never becomes ready
            app.state.load_error = str(e)
            log.error("model not loaded, service stays not-ready: %s", e)
        yield
        app.state.scorer = None
        if app.state.coalescer is not None:
            await app.state.coalescer.stop()
        if app.state.batch_pool is not None:
            await app.state.batch_pool.stop()
        app.state.score_threads.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(
        title="redflag",
        version="0.1.0",
        description=(
            "Scores descriptions of platforms, programs and offers (Chinese, English or mixed) for pyramid-scheme red "
            "flags — 拉人头, 入门费, 团队计酬, 高额返利, 囤货 — and says why, with evidence spans and stated facts.\n\n"
            'Every 4xx/5xx answers `{"error": {"code", "message", "details"}}`. Limits: text ≤ '
            f"{settings.max_text_chars} characters, batch ≤ {settings.max_batch_items} items, body ≤ {settings.max_body_bytes} bytes."
        ),
        lifespan=lifespan,
    )
    app.state.api_keys = keys
    app.state.limiter = limiter
    app.state.scorer = None
    app.state.load_error = None
    errors.install(app)
    app.add_middleware(BodyGuard, max_bytes=settings.max_body_bytes)
    app.add_middleware(ConcurrencyLimit, limit=settings.max_concurrency)
    Instrumentator(excluded_handlers=["/metrics"]).instrument(app).expose(app, include_in_schema=False)

    v1 = APIRouter(prefix="/v1", dependencies=[Depends(authorize)], responses=schemas.ERRORS)

    async def on_scoring_thread(
        request: Request, scorer: Any, texts: list[str], ids: list[str | None], encoded: bool = False
    ) -> list[Any]:
        """scorer.score on the worker's scoring thread: CPU-bound work off the event loop (`encoded`: the results
        as service.rows.Encoded rows, encoded there too)."""
        fn = (lambda t, i: encode(scorer.score(t, i))) if encoded else scorer.score
        return await asyncio.get_running_loop().run_in_executor(request.app.state.score_threads, fn, texts, ids)

    def record(route: str, scored: list[tuple[str, tuple[str, ...]]]) -> None:
        """Metrics of scored texts, given as (risk level, codes of the flagged indicators): error rows are left out."""
        TEXTS_SCORED.labels(route).inc(len(scored))
        for level, flagged in scored:
            RISK_FLAGS.labels(level).inc()
            for code in flagged:
                FLAGS.labels(code).inc()

    @v1.post(
        "/score",
        response_model=schemas.ScoreResult,
        summary="Score one text",
        responses={200: {"content": {"application/json": {"examples": schemas.RESULT_EXAMPLES}}}},
        openapi_extra=request_body(schemas.ScoreRequest),
    )
    async def score(request: Request, scorer: ScorerDep) -> ContractJSON:
        body = await parse_body(request, schemas.ScoreRequest)
        problem = check_text(body.text, settings.max_text_chars)
        if problem:
            status = 413 if problem[0] == "text_too_long" else 422
            raise ApiError(
                status, problem[0], problem[1], [{"loc": ["body", "text"], "limit": settings.max_text_chars}]
            )
        # CPU-bound: scored on the scoring thread (the event loop keeps serving); with REDFLAG_COALESCE_ITEMS > 1
        # together with any other texts waiting at the same moment (service/coalesce.py)
        coalescer = request.app.state.coalescer
        if coalescer is not None:
            result = await coalescer.submit(body.text, body.id)
        else:
            result = (await on_scoring_thread(request, scorer, [body.text], [body.id]))[0]
        record("score", [(result.risk_level, flagged_codes(result))])
        return ContractJSON(result.to_dict())  # already in the contract's shape: no second validation pass

    @v1.post(
        "/score/batch",
        response_model=schemas.BatchResponse,
        summary="Score up to 256 texts in order",
        openapi_extra=request_body(schemas.BatchRequest),
    )
    async def score_batch(request: Request, scorer: ScorerDep) -> Response:
        body = await parse_body(request, schemas.BatchRequest)
        if len(body.items) > settings.max_batch_items:
            raise ApiError(
                413,
                "batch_too_large",
                f"{len(body.items)} items; the batch limit is {settings.max_batch_items}",
                [{"loc": ["body", "items"], "limit": settings.max_batch_items}],
            )
        if not body.items:
            raise ApiError(422, "empty_batch", "items must hold at least one item")
        ids = [None if it.id is None else str(it.id) for it in body.items]
        problems = [check_text(it.text, settings.max_text_chars) for it in body.items]
        valid = [i for i, p in enumerate(problems) if p is None]
        texts, valid_ids = [body.items[i].text for i in valid], [ids[i] for i in valid]

        async def local(texts: list[str], ids: list[str | None]) -> list[Any]:
            return await on_scoring_thread(request, scorer, texts, ids, encoded=True)

        pool = request.app.state.batch_pool
        if not valid:
            scored = iter(())
        elif pool is not None:  # one vectorized call per chunk, the chunks in parallel processes
            scored = iter(await pool.score(texts, valid_ids, local))
        else:
            scored = iter(await local(texts, valid_ids))
        out: list[Encoded] = []
        for i, p in enumerate(problems):
            out.append(next(scored) if p is None else encode([RowError(ids[i], p[0], f"item {i}: {p[1]}")])[0])
        record("batch", [(r.risk_level, r.flagged) for r in out if r.risk_level is not None])
        return Response(results_body(out), media_type="application/json")

    @v1.get("/model", response_model=schemas.ModelInfo, summary="The loaded model, its thresholds and the taxonomy")
    async def model_info(scorer: ScorerDep) -> dict[str, Any]:
        m = scorer.manifest
        return {
            "version": m["version"],
            "created_at": m["created_at"],
            "versions": m.get("versions", {}),
            "thresholds": m["thresholds"],
            "risk_levels": m["risk_levels"],
            "risk_head": m.get("risk_head", {}),
            "operating_points": m.get("operating_points", []),
            "test_metrics": m.get("test_metrics", {}),
            "corpus": m.get("corpus", {}),
            "taxonomy": [
                {"code": i.code, "name_zh": i.name_zh, "name_en": i.name_en, "legal_basis": i.legal_basis}
                for i in INDICATORS
            ],
        }

    app.include_router(v1)
    generate_openapi = app.openapi
    app.openapi = lambda: add_schemas(generate_openapi(), schemas.ScoreRequest, schemas.BatchRequest)  # type: ignore[method-assign]

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        """The analyst's page: score one description and see why."""
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html")

    @app.get("/healthz", summary="Process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", summary="Model loaded and verified", responses={503: schemas.ERRORS[503]})
    async def readyz(request: Request) -> Any:
        if request.app.state.scorer is None:
            return JSONResponse(
                errors.error_body("not_ready", request.app.state.load_error or "the model is still loading"),
                status_code=503,
            )
        body = {"status": "ready", "model_version": request.app.state.scorer.version}
        pool = request.app.state.batch_pool
        if pool is not None:  # batches are shared with helper processes once they have loaded (service/fanout.py)
            body["batch_processes"] = pool.processes if pool.ready else 1
        return body

    return app
