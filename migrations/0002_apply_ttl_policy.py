"""Give keys of TTL models written before the policy existed their expiry.

Keys that already expire are left as they are (EXPIRE ... NX); keys of
persistent models, and of models whose policy is ``keep`` (no opinion), are
never given an expiry.  The same operation runs at any time as
``keyspace ttl apply`` (``Runner.apply_ttl_policy``): for models added after
this migration was applied.
"""

from keyspace import ApplyTtlPolicy, Migration

migration = Migration(
    id="0002",
    description="apply the TTL policy to keys that have no expiry",
    depends_on=("0001",),
    operations=[ApplyTtlPolicy()],
)
