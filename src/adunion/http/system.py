"""Operational endpoints: health and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from adunion import __version__
from adunion.http.deps import Context
from adunion.kernel.logging import get_logger

router = APIRouter(tags=["system"])
log = get_logger("adunion.health")


@router.get("/healthz", operation_id="health")
def health(ctx: Context) -> JSONResponse:
    """200 when the database answers, 503 otherwise."""
    try:
        ctx.database.ping()
    except Exception as exc:  # noqa: BLE001 - any failure means "not healthy"
        log.warning("health_database_down", error=exc.__class__.__name__)
        return JSONResponse(
            {"status": "unhealthy", "database": "unreachable", "version": __version__},
            status_code=503,
        )
    return JSONResponse({"status": "ok", "database": "ok", "version": __version__})


@router.get("/metrics", operation_id="metrics", response_class=Response)
def metrics(ctx: Context) -> Response:
    return Response(generate_latest(ctx.metrics.registry), media_type=CONTENT_TYPE_LATEST)
