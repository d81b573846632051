"""What a run did (or, for a plan, would do): counts and sample keys, never values.

Memory stays flat: every list of keys is a bounded sample, every count a
counter, whatever the size of the keyspace.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

MAX_KEYS_PER_ERROR = 50  # sample keys kept per skip kind
MAX_SAMPLES = 5  # sample changed keys kept per model


def _counters() -> defaultdict[str, Counter[str]]:
    return defaultdict(Counter)


def _lists() -> defaultdict[str, list[str]]:
    return defaultdict(list)


@dataclass
class Report:
    """Counts of one run.  ``ok`` is False while any key was skipped (left untouched, reported).

    * ``changed`` counts writes the server confirmed (a compare-and-set reply of 1,
      or the operation's own confirmation), never intentions;
    * ``forms``: per model, how many secret values were found in each stored form
      (plaintext / bare / nested / current / old / empty / undecryptable / suspicious /
      masked - ``masked`` is plaintext *by policy*, never a failure);
    * ``key_types``: per model, keys in its SCAN pattern that fail its key types (with a
      sample in ``key_type_samples``): never processed, always counted;
    * ``ignored``: non-blocking tallies an operation reports (ids with no mapping, …);
    * ``notes``: what the operator should know (a discarded checkpoint, the key canary).
    """

    scanned: int = 0
    changed: int = 0
    already: int = 0
    conflicts: int = 0  # compare-and-set retries because the application wrote meanwhile
    skipped: Counter[str] = field(default_factory=Counter)
    errors: defaultdict[str, list[str]] = field(default_factory=_lists)
    by_field: Counter[str] = field(default_factory=Counter)  # "Model.field" -> changes
    samples: defaultdict[str, list[str]] = field(default_factory=_lists)
    forms: defaultdict[str, Counter[str]] = field(default_factory=_counters)
    key_types: Counter[str] = field(default_factory=Counter)
    key_type_samples: defaultdict[str, list[str]] = field(default_factory=_lists)
    ignored: Counter[str] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)

    def skip(self, kind: str, key: str) -> None:
        self.skipped[kind] += 1
        keys = self.errors[kind]
        if len(keys) < MAX_KEYS_PER_ERROR and key not in keys:
            keys.append(key)

    def change(self, model: str, key: str, fields: tuple[str, ...]) -> None:
        self.changed += 1
        for name in fields:
            self.by_field[f"{model}.{name}"] += 1
        if len(self.samples[model]) < MAX_SAMPLES:
            self.samples[model].append(key)

    def key_type_failure(self, model: str, key: str) -> None:
        self.key_types[model] += 1
        if len(self.key_type_samples[model]) < MAX_KEYS_PER_ERROR:
            self.key_type_samples[model].append(key)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    @property
    def ok(self) -> bool:
        return not self.skipped

    def as_dict(self) -> dict[str, Any]:
        return {
            "scanned": self.scanned,
            "changed": self.changed,
            "already": self.already,
            "conflicts": self.conflicts,
            "skipped": dict(self.skipped),
            "errors": {k: list(v) for k, v in self.errors.items() if v},
            "by_field": dict(self.by_field),
            "samples": {k: list(v) for k, v in self.samples.items() if v},
            "forms": {k: dict(v) for k, v in self.forms.items() if v},
            "key_types": dict(self.key_types),
            "key_type_samples": {k: list(v) for k, v in self.key_type_samples.items() if v},
            "ignored": dict(self.ignored),
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report:
        report = cls(
            scanned=data.get("scanned", 0),
            changed=data.get("changed", 0),
            already=data.get("already", 0),
            conflicts=data.get("conflicts", 0),
        )
        report.skipped.update(data.get("skipped", {}))
        for kind, keys in data.get("errors", {}).items():
            report.errors[kind].extend(keys)
        report.by_field.update(data.get("by_field", {}))
        for model, keys in data.get("samples", {}).items():
            report.samples[model].extend(keys)
        for model, forms in data.get("forms", {}).items():
            report.forms[model].update(forms)
        report.key_types.update(data.get("key_types", {}))
        for model, keys in data.get("key_type_samples", {}).items():
            report.key_type_samples[model].extend(keys)
        report.ignored.update(data.get("ignored", {}))
        report.notes.extend(data.get("notes", []))
        return report

    def totals(self) -> Counter[str]:
        """Stored forms over every model."""
        out: Counter[str] = Counter()
        for forms in self.forms.values():
            out.update(forms)
        return out
