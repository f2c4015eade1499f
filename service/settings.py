"""Service settings: one pydantic-settings object read from REDFLAG_* environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REDFLAG_", extra="ignore")

    model_path: Path | None = None  # REDFLAG_MODEL_PATH: the .joblib to load (default: newest in model/artifacts)
    require_artifact: bool = False  # REDFLAG_REQUIRE_ARTIFACT=1: never train at start-up; stay not-ready instead
    api_keys: str | None = None  # REDFLAG_API_KEYS: comma-separated keys, or the path of a file with one per line
    max_text_chars: int = 20_000
    max_batch_items: int = 256
    max_body_bytes: int = 4 * 1024 * 1024
    max_concurrency: int = 64  # connections+tasks per worker before uvicorn answers 503
    graceful_timeout_s: int = 30
    rate_limit_per_minute: int = 0  # per API key (or client address); 0 = off
    score_threads: int = 1  # threads scoring at once per worker (scoring holds the GIL; more only thrash)
    # single-text requests waiting at the same moment scored together in one call (1 = each alone; see README)
    coalesce_items: int = 1
    # processes sharing one batch request (service/fanout.py); `redflag serve` sets cores // workers
    batch_processes: int = 1
    # pin each worker to one CPU and its batch helpers to the others (service/affinity.py); `redflag serve` turns it
    # on unless REDFLAG_PIN_CPUS=0; the worker's index among `--workers` (set by redflag serve) picks its CPU
    pin_cpus: bool = False
    worker_index: int = 0
    log_level: str = "info"

    def keys(self) -> list[str]:
        """The configured API keys (empty: auth off)."""
        if not self.api_keys:
            return []
        raw = self.api_keys.strip()
        path = Path(raw)
        if "," not in raw and path.is_file():
            raw = path.read_text(encoding="utf-8").replace("\n", ",")
        return [k.strip() for k in raw.split(",") if k.strip()]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
