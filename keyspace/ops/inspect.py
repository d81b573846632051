"""What the operator commands look at — one key, the whole keyspace, a deployment's health.

The engines live in their own modules (each a plan on the public mapper API,
so each runs on Mapper and AsyncMapper): ``keyspace.ops.show`` (one key),
``keyspace.ops.stats`` (every key, per model), ``keyspace.ops.doctor`` (checks,
and the per-user check hook).  This module keeps the names the CLI imports.
"""

from __future__ import annotations

from keyspace.ops.doctor import Check, UserContext, run_doctor, user_check
from keyspace.ops.show import MASK, describe_key
from keyspace.ops.stats import KeyspaceStats, ModelStats, collect_stats

__all__ = [
    "MASK",
    "Check",
    "KeyspaceStats",
    "ModelStats",
    "UserContext",
    "collect_stats",
    "describe_key",
    "run_doctor",
    "user_check",
]
