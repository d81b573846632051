"""Give keys of TTL models written before the policy existed their expiry.

Keys that already expire are left as they are (EXPIRE ... NX); keys of
persistent models are never given an expiry.
"""

from keyspace import ApplyTtlPolicy, Migration

migration = Migration(
    id="0002",
    description="apply the TTL policy to keys that have no expiry",
    depends_on=("0001",),
    operations=[ApplyTtlPolicy()],
)
