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
from adunion.campaigns import endpoints as campaigns_endpoints
from adunion.campaigns import pages as campaigns_pages
from adunion.config import Settings, load_settings
from adunion.context import AppContext, build_context
from adunion.http.api_docs import install_api_docs
from adunion.http.errors import install_error_handlers
from adunion.http.middleware import RequestLogMiddleware
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
from adunion.serving.fastpath import AdunionApp, ServingFastPath
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
    context: AppContext | None = None,
) -> FastAPI:
    settings = settings or load_settings()
    configure_logging(settings.log_level, json=settings.log_json)
    ctx = context or build_context(settings, database)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await ctx.serving.start()
        jobs = job_runner(ctx) if settings.run_jobs else None
        if jobs is not None:
            jobs.start()
        yield
        if jobs is not None:
            jobs.stop()
        await ctx.serving.stop()  # writes every accepted event before the process ends
        ctx.close()

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
    app.state.ctx = ctx
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
    app.add_middleware(RequestLogMiddleware, ctx=ctx)
    app.fast_path = ServingFastPath(ctx)  # asked first: the hot path skips the rest
    return app
