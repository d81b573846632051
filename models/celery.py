"""Celery's keys on the local Redis (DB 1).  Celery writes them; keyspace only reads."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from keyspace import JsonModel, ListModel
from models.types import TaskId


class CeleryQueue(ListModel, key="celery", server="celery", read_only=True):
    """Pending task messages of the default queue (kombu JSON envelopes)."""

    messages: list[str] = []


class CeleryTaskMeta(
    JsonModel, key="celery-task-meta-{task_id}", ttl=timedelta(hours=1), server="celery", read_only=True
):
    """A task result (celery's result backend); expires after one hour."""

    task_id: TaskId
    status: str
    result: Any = None
    traceback: str | None = None
    date_done: str | None = None
    children: list[Any] = []
