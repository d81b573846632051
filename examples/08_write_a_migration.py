"""Writing a new migration: a numbered file with a few declarative lines, run by the same engine.

python examples/08_write_a_migration.py [--url …]
"""

from __future__ import annotations

import tempfile
import textwrap
from pathlib import Path

from _common import parse

from keyspace import Mapper, Runner
from models import UserPreferences

MIGRATION = '''
from keyspace import Migration, TransformValues


def upper_language(fields):
    """Hash fields as stored (bytes); return the fields to change, or None."""
    language = fields.get("language")
    if language and language != language.upper():
        return {"language": language.upper()}
    return None


migration = Migration(
    id="0901",
    description="upper-case the language preference",
    operations=[TransformValues("UserPreferences", upper_language)],
)
'''


def main() -> None:
    args = parse(__doc__ or "")
    with Mapper.from_url(args.url) as mapper, tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "example_migrations"  # the folder's name is the namespace of its ids
        folder.mkdir()
        (folder / "0901_upper_language.py").write_text(textwrap.dedent(MIGRATION))
        for i in range(5):
            mapper.save(UserPreferences(user_id=f"50000000000000090{i}", language="ko" if i % 2 else "en"))
        runner = Runner(mapper, directory=folder)  # keyspace migrate up --dir FOLDER
        print("pending:", [m.id for m in runner.pending()])  # ["example_migrations/0901"]
        report = runner.up()["example_migrations/0901"]
        print("changed:", report.changed, "of", report.scanned)
        print("now:", sorted(p.model_extra["language"] for p in mapper.scan(UserPreferences)))
        assert all(p.model_extra["language"].isupper() for p in mapper.scan(UserPreferences))
        assert Runner(mapper, directory=folder).pending() == []
        for i in range(5):
            mapper.delete(UserPreferences, user_id=f"50000000000000090{i}")


if __name__ == "__main__":
    main()
