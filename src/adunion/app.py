"""The FastAPI application factory. Nothing is created at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles

from adunion import __version__
from adunion.accounts import pages as accounts_pages
from adunion.accounts.endpoints import router as accounts_router
from adunion.background import job_runner
from adunion.bootstrap import Runtime, build_runtime
from adunion.campaigns import endpoints as campaigns_endpoints
from adunion.campaigns import pages as campaigns_pages
from adunion.config import Settings, load_settings
from adunion.fastpath import AdunionApp, ServingFastPath
from adunion.http.api_docs import install_api_docs
from adunion.http.errors import install_error_handlers
from adunion.http.middleware import RequestLogMiddleware
from adunion.http.security import SecurityHeadersMiddleware
from adunion.http.system import router as system_router
from adunion.inventory import endpoints as inventory_endpoints
from adunion.inventory import pages as inventory_pages
from adunion.kernel.db import Database
from adunion.kernel.logging import configure_logging
from adunion.reporting import endpoints as reporting_endpoints
from adunion.reporting import overview
from adunion.reporting import pages as reporting_pages
from adunion.risk.endpoints import router as risk_router
from adunion.risk.pages import router as risk_pages
from adunion.serving import pages as serving_pages
from adunion.serving.endpoints import router as serving_router
from adunion.tracking.endpoints import router as tracking_router
from adunion.wallet.endpoints import router as wallet_router
from adunion.wallet.pages import router as wallet_pages
from adunion.web.render import STATIC_DIR


def _operation_id(route: APIRoute) -> str:
    """Stable operation ids (the endpoint's name), so generated clients keep their method names."""
    return route.name


def create_app(
    settings: Settings | None = None,
    *,
    database: Database | None = None,
    runtime: Runtime | None = None,
) -> FastAPI:
    settings = settings or load_settings()
    configure_logging(settings.log_level, json=settings.log_json)
    parts = runtime or build_runtime(settings, database)
    ctx = parts.ctx

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await parts.start()  # serving's first index is built before the first request
        jobs = job_runner(ctx) if settings.run_jobs else None
        if jobs is not None:
            jobs.start()
        yield
        if jobs is not None:
            jobs.stop()
        await parts.stop()  # commits every accepted event before the process ends

    app = AdunionApp(
        title="adunion",
        version=__version__,
        summary="An advertising marketplace for small and medium websites, with a wallet.",
        docs_url=None,  # served by install_api_docs, from local files
        redoc_url=None,
        generate_unique_id_function=_operation_id,
        lifespan=lifespan,
        # adunion exports Prometheus metrics and sets up no OpenTelemetry provider; FastAPI's
        # native telemetry would still look the global providers up on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    # The long-lived parts, for the endpoints' dependencies (http.deps.get_context,
    # serving.runtime.serving_runtime, tracking.endpoints.tracking_intake).
    app.state.ctx = ctx
    app.state.serving = parts.serving
    app.state.intake = parts.intake
    install_error_handlers(app)
    install_api_docs(app)  # before the /static mount, which would take /static/api-docs
    app.include_router(system_router)
    app.include_router(accounts_router)
    app.include_router(serving_router)
    app.include_router(tracking_router)
    app.include_router(risk_router)
    app.include_router(wallet_router)
    app.include_router(overview.router)
    app.include_router(accounts_pages.router)
    app.include_router(wallet_pages)
    app.include_router(inventory_endpoints.router)
    app.include_router(inventory_endpoints.public_router)
    app.include_router(inventory_pages.router)
    app.include_router(campaigns_endpoints.router)
    app.include_router(campaigns_endpoints.public_router)
    app.include_router(campaigns_pages.router)
    app.include_router(reporting_endpoints.router)
    app.include_router(reporting_pages.router)
    app.include_router(risk_pages)
    app.include_router(serving_pages.router)
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    app.add_middleware(SecurityHeadersMiddleware, settings=settings)
    app.add_middleware(RequestLogMiddleware, ctx=ctx)
    app.fast_path = ServingFastPath(ctx, parts.serving, parts.intake)  # asked first
    return app
