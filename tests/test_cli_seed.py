"""``keyspace seed``: the live-format dataset under the configured ENCRYPTION_KEY, never over data."""

from __future__ import annotations

import json

from keyspace.testing.dataset import okx_uid
from tests.cli_support import PASSWORD, Deployment, deployment, invoke, resolved, server, snapshot

__all__ = ["deployment", "server"]  # fixtures


def test_seed_writes_the_dataset_under_the_configured_key(deployment: Deployment) -> None:
    deployment.app.flushall()
    code, out, err = invoke("seed", "--users", "6", "--plaintext-share", "0", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["users"] == 6 and doc["counts"]["UserApiKeys"] >= 6 and doc["plaintext_api_keys"] == 0
    assert doc["keys"] == deployment.app.dbsize() + deployment.celery.dbsize()
    assert PASSWORD not in out + err
    key = f"user:{okx_uid(1)}:api:keys"
    stored = deployment.app.hget(key, "api_secret")
    assert stored is not None and b"gAAAA" in stored  # a Fernet token, not plaintext
    # the configured key (the one in .env) decrypts it: keyspace reads it back
    model, args = resolved(key)
    code, out, err = invoke("get", model, *args, "--reveal", "--json")
    assert code == 0, err
    secret = json.loads(out)["fields"]["api_secret"]
    assert secret and secret != "**********" and secret.encode() not in stored
    code, out, _ = invoke("migrate", "verify", "--json")
    counts = json.loads(out)["counts"]
    # every stored form the seed reports is what verify finds (the live mix: current, nested, bare, …)
    for form, count in doc["stored_forms"].items():
        assert counts.get(form, 0) == count, (form, counts)
    assert doc["stored_forms"]["current"] > 0


def test_seed_simple_forms_writes_only_current_tokens(deployment: Deployment) -> None:
    deployment.app.flushall()
    deployment.celery.flushall()
    code, out, err = invoke(
        "seed", "--users", "6", "--plaintext-share", "0", "--secret-forms", "simple", "--json"
    )
    assert code == 0, err
    assert json.loads(out)["stored_forms"] == {"current": 18}  # 6 users x 3 secrets, under the current key
    code, out, _ = invoke("migrate", "verify", "--json")
    assert json.loads(out)["counts"].get("current", 0) == 18


def test_seed_refuses_a_database_that_is_not_empty(deployment: Deployment) -> None:
    before = snapshot(deployment.app)
    code, out, err = invoke("seed", "--users", "3")
    assert code == 2 and "not empty" in err and "--force" in err and out == ""
    assert snapshot(deployment.app) == before
    code, out, err = invoke("seed", "--users", "3", "--force", "--json")
    assert code == 0 and json.loads(out)["users"] == 3, err


def test_seed_needs_an_encryption_key_and_works_on_memory(deployment: Deployment) -> None:
    env = deployment.dir / ".env"
    env.write_text("".join(x for x in env.read_text().splitlines(True) if "ENCRYPTION_KEY" not in x))
    code, _, err = invoke("seed", "--url", "memory://seedtest")
    assert code == 2 and "ENCRYPTION_KEY" in err
    code, out, err = invoke(
        "seed", "--url", "memory://seedtest", "--json", env={"ENCRYPTION_KEY": deployment.key}
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["users"] == 20 and "memory" in err  # says the dataset lives in this process
    code, out, err = invoke(
        "stats", "--url", "memory://seedtest", "--json", env={"ENCRYPTION_KEY": deployment.key}
    )
    models = {m["model"]: m for m in json.loads(out)["models"]}
    assert code == 0 and models["UserApiKeys"]["undecryptable"] >= 1  # the deliberately foreign token
    assert models["UserApiKeys"]["keys"] > models["UserApiKeys"]["undecryptable"]  # the rest decrypt
