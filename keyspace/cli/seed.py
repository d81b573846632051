"""``keyspace seed``: fill a server with the live-format TradingBoost dataset, under the configured key."""

from __future__ import annotations

from collections import Counter
from typing import Annotated

import typer
from rich.text import Text

from keyspace.cli.context import state
from keyspace.cli.errors import KeyspaceCommand, exit_codes_epilog
from keyspace.cli.options import CeleryUrl, Json, Url
from keyspace.cli.output import emit_json, stdout, warn
from keyspace.core.crypto import Keyring

app = typer.Typer()


@app.command("seed", cls=KeyspaceCommand, epilog=exit_codes_epilog("seed"))
def seed(
    ctx: typer.Context,
    url: Url = None,
    celery_url: CeleryUrl = None,
    users: Annotated[int, typer.Option("--users", min=1, help="users in the dataset")] = 20,
    plaintext_share: Annotated[
        float,
        typer.Option(
            "--plaintext-share", min=0.0, max=1.0, help="share of API-key hashes left in legacy plaintext"
        ),
    ] = 0.3,
    forms: Annotated[
        str,
        typer.Option(
            "--secret-forms",
            help="live: every stored form the application leaves (enc_v1 under the current key and, with "
            "ENCRYPTION_OLD_KEYS, a retired one; mixed, nested, bare, suspicious; Telegram-id hashes); "
            "simple: plaintext or enc_v1 only",
        ),
    ] = "live",
    force: Annotated[
        bool, typer.Option("--force", help="write into a database that already holds keys")
    ] = False,
    json_: Json = False,
) -> None:
    """Write the dataset the application writes (API keys, statuses, positions, grid, Celery, a few bad
    keys) into the configured servers, encrypting under the configured ENCRYPTION_KEY.

    For staging and rehearsals: refuses a database that is not empty unless --force.
    """
    from keyspace.errors import ConfigError
    from keyspace.testing.dataset import seed as write_dataset

    st = state(ctx)
    if forms not in ("live", "simple"):
        raise typer.BadParameter("--secret-forms is live or simple")
    settings = st.settings()
    keyring = settings.keyring()
    old_keys = settings.ENCRYPTION_OLD_KEYS.get_secret_value() if settings.ENCRYPTION_OLD_KEYS else ""
    first_old = next((k.strip() for k in old_keys.split(",") if k.strip()), None)
    old_keyring = Keyring(first_old) if first_old else None
    if keyring is None:
        raise ConfigError(
            "ENCRYPTION_KEY is not set: seed encrypts under it (create one with `keyspace keygen`)"
        )
    where = st.servers(url, celery_url)
    with st.mapper(url, celery_url) as mapper:
        app_client = mapper.clients["app"]
        celery_client = mapper.clients["celery"]
        shared = mapper.links["celery"] is mapper.links["app"]
        if not force:
            for name, client in (("app", app_client), ("celery", celery_client)):
                if (name == "app" or not shared) and client.dbsize():
                    raise typer.BadParameter(
                        f"the {name} database ({where[name]}) is not empty: add --force to seed it anyway"
                    )
        if url is not None and celery_url is None:
            warn(f"note: Celery's keys go to {where['celery']}")
        data = write_dataset(
            app_client,
            celery_client,
            users=users,
            plaintext_share=plaintext_share,
            keyring=keyring,
            old_keyring=old_keyring,
            secret_forms=forms,  # type: ignore[arg-type]
        )
    result = {
        "users": users,
        "keys": sum(data.counts.values()) + len(data.bad_keys),
        "counts": data.counts,
        "plaintext_api_keys": len(data.plaintext_keys),
        "bad_keys": sorted(data.bad_keys),
        "secret_forms": forms,
        "stored_forms": dict(
            sorted(Counter(form for fields in data.forms.values() for form in fields.values()).items())
        ),
        "servers": where,
        "key_fingerprint": keyring.current_fingerprint,
    }
    if url is not None and url.startswith("memory:"):
        warn("note: a memory:// server lives in this process only: the dataset is gone when it exits")
    if json_:
        emit_json(result)
        return
    stdout().print(
        Text(
            f"seeded {users} users: {result['keys']} keys on {where['app']} (celery: {where['celery']}); "
            f"{len(data.plaintext_keys)} API-key hashes left in plaintext, {len(data.bad_keys)} bad keys; "
            f"encrypted under key {keyring.current_fingerprint}"
        )
    )
