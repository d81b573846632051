"""Celery wired to the celery server from the same settings as keyspace.

::

    from celery import Celery
    from keyspace.io.celery import celery_settings

    app = Celery("tradingboost")
    app.conf.update(celery_settings())

Broker and result backend are CELERY_BROKER_URL_OVERRIDE and
CELERY_RESULT_BACKEND_OVERRIDE (default ``redis://localhost:6379/1``), and
results expire after one hour — the TTL the CeleryTaskMeta model declares.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

RESULT_EXPIRES = 3600


def celery_settings(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    from keyspace.io.settings import Settings

    settings = Settings.load(env)
    backend = settings.CELERY_RESULT_BACKEND_OVERRIDE or settings.celery_url()
    broker = settings.CELERY_BROKER_URL_OVERRIDE or backend
    return {
        "broker_url": broker,
        "result_backend": backend,
        "result_expires": RESULT_EXPIRES,
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "broker_connection_retry_on_startup": True,
    }
