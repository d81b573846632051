"""The legacy-secret migration, step by step, on a realistic legacy dataset.

    python examples/07_migration_walkthrough.py [--url …]   (an empty server: it seeds data)

The same steps on the command line: keyspace doctor; keyspace migrate plan; keyspace migrate up;
keyspace migrate verify.
"""

from __future__ import annotations

from _common import parse, require_empty

from keyspace import Keyring, Mapper, Runner, generate_key
from keyspace.ops.inspect import run_doctor
from keyspace.testing.dataset import seed


def main() -> None:
    args = parse(__doc__ or "")
    keyring = Keyring(generate_key())  # in production: ENCRYPTION_KEY
    with Mapper.from_url(args.url, keyring=keyring) as mapper:
        require_empty(mapper, args.url)
        data = seed(
            mapper.clients["app"], mapper.clients["celery"], users=50, plaintext_share=0.4, keyring=keyring
        )
        print(f"1. legacy data: {len(data.plaintext_keys)} API-key hashes still in plaintext")
        for check in run_doctor(mapper):
            if check.status != "ok":
                print(f"   doctor {check.status}: {check.name}: {check.message}")

        runner = Runner(mapper, batch=20)
        plan = runner.plan()["tradingboost/0001"]
        print(f"2. plan (writes nothing): {dict(plan.by_field)}; samples {plan.samples['UserApiKeys'][:2]}")

        report = runner.up()["tradingboost/0001"]
        print(
            f"3. up: changed {report.changed}, already done {report.already}, skipped {dict(report.skipped)}"
        )
        for kind, keys in report.errors.items():
            print(f"   left untouched ({kind}): {keys}")

        for key in data.bad_keys:  # the operator fixes what was reported ...
            mapper.clients["app"].delete(key)
        reports = Runner(mapper).up()  # ... and runs up again: 0001 and 0002 are recorded
        print("4. up again:", {mid: r.changed for mid, r in reports.items()})
        result = Runner(mapper).verify()
        print(f"5. verify: ok={result['ok']} {result['counts']}")
        assert result["ok"]
        if args.url.startswith("memory:"):
            return
        mapper.clients["app"].flushdb()  # leave the development server as we found it
        mapper.clients["celery"].flushdb()


if __name__ == "__main__":
    main()
