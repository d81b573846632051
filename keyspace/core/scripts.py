"""The Lua scripts behind every write.

Each write is one script call on one key family, so that

* value and expiry are applied atomically (no key of a TTL model ever exists
  without its expiry; a persistent model's write removes a stale TTL);
* the key's Redis type is checked first: a write never replaces or half-writes
  a key that holds another type (WRONGTYPE is reported with the actual type);
* every write is a single command, so bulk writes pipeline without MULTI and
  stay on one key's slot (cluster-safe).

The TTL argument of every write script is the policy (keyspace.core.model): seconds (> 0:
EXPIRE / SET EX), ``0`` (persistent: PERSIST / plain SET), or ``keep`` (leave the key's TTL as
it is: HSET and SADD keep it, strings are SET with KEEPTTL, a whole set/list rewrite restores it).

A model with an invalidation channel passes ``channel, payload``: the script PUBLISHes them after
the write succeeded — in the same round trip, never after a refused or conflicting write (``''``
= no channel).  PUBLISH inside a script is propagated to the whole cluster like any other.

Scripts are sent as EVALSHA; the executor loads a script on NOSCRIPT and
retries, which is safe because NOSCRIPT means nothing ran.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Script:
    name: str
    source: str

    @property
    def sha(self) -> str:
        return hashlib.sha1(self.source.encode("utf-8")).hexdigest()


_CHECK = """
local function check(k, want)
  local t = redis.call('TYPE', k)['ok']
  if t ~= 'none' and t ~= want then
    return redis.error_reply('WRONGTYPE ' .. t)
  end
  return nil
end
local function ttl(k, policy)
  if policy == 'keep' then return end
  local seconds = tonumber(policy)
  if seconds > 0 then redis.call('EXPIRE', k, seconds) else redis.call('PERSIST', k) end
end
local function publish(channel, payload)
  if channel and channel ~= '' then redis.call('PUBLISH', channel, payload) end
end
"""

# KEYS: the keys (primary and alternates). ARGV: ttl, value[, channel, payload].
SAVE_STRING = Script(
    "save_string",
    _CHECK
    + """
for _, k in ipairs(KEYS) do
  local err = check(k, 'string'); if err then return err end
end
local policy = ARGV[1]
for _, k in ipairs(KEYS) do
  if policy == 'keep' then
    redis.call('SET', k, ARGV[2], 'KEEPTTL')
  else
    local seconds = tonumber(policy)
    if seconds > 0 then redis.call('SET', k, ARGV[2], 'EX', seconds) else redis.call('SET', k, ARGV[2]) end
  end
end
publish(ARGV[3], ARGV[4])
return #KEYS
""",
)

# KEYS: the keys. ARGV: ttl, mode ('save' | 'update'), channel, payload, g, n,
# then g guards (field, '1' if it must hold the value / '0' if it must be absent, value),
# n field/value pairs, then the fields to delete.
# Returns the number of keys written; 0 in 'update' mode when the key is missing (nothing
# written); -1 when a guard no longer holds (another writer changed a guarded field: nothing
# written, the caller re-reads and retries).  Guards are how a partial write of encrypted
# fields is made conditional on the record's other encrypted fields (see programs.save).
WRITE_HASH = Script(
    "write_hash",
    _CHECK
    + """
for _, k in ipairs(KEYS) do
  local err = check(k, 'hash'); if err then return err end
end
if ARGV[2] == 'update' and redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local g = tonumber(ARGV[5])
local n = tonumber(ARGV[6])
local at = 7
for _, k in ipairs(KEYS) do
  for i = 0, g - 1 do
    local current = redis.call('HGET', k, ARGV[at + 3 * i])
    if ARGV[at + 3 * i + 1] == '1' then
      if current ~= ARGV[at + 3 * i + 2] then return -1 end
    elseif current then
      return -1
    end
  end
end
local first = at + 3 * g
local deletes = first + 2 * n
for _, k in ipairs(KEYS) do
  local i = first
  while i < deletes do
    local stop = math.min(i + 1999, deletes - 1)
    redis.call('HSET', k, unpack(ARGV, i, stop))
    i = stop + 1
  end
  i = deletes
  while i <= #ARGV do
    local stop = math.min(i + 1999, #ARGV)
    redis.call('HDEL', k, unpack(ARGV, i, stop))
    i = stop + 1
  end
  if redis.call('EXISTS', k) == 1 then ttl(k, ARGV[1]) end
end
publish(ARGV[3], ARGV[4])
return #KEYS
""",
)

# KEYS: the key. ARGV: ttl, 'set'|'list', channel, payload, members...  Replaces the whole
# collection; under the 'keep' policy the key's remaining TTL is carried over the rewrite.
SAVE_COLLECTION = Script(
    "save_collection",
    _CHECK
    + """
local k = KEYS[1]
local err = check(k, ARGV[2]); if err then return err end
local left = -1
if ARGV[1] == 'keep' then left = redis.call('PTTL', k) end
redis.call('DEL', k)
local cmd = (ARGV[2] == 'set') and 'SADD' or 'RPUSH'
local i = 5
while i <= #ARGV do
  local stop = math.min(i + 3999, #ARGV)
  redis.call(cmd, k, unpack(ARGV, i, stop))
  i = stop + 1
end
if #ARGV >= 5 then
  if ARGV[1] == 'keep' then
    if left > 0 then redis.call('PEXPIRE', k, left) end
  else
    ttl(k, ARGV[1])
  end
end
publish(ARGV[3], ARGV[4])
return #ARGV - 4
""",
)

# KEYS: the key. ARGV: ttl, expected type, channel, payload, command, args...  Runs one write
# command on a key of the expected type and applies the TTL policy if the key still exists.
WRITE = Script(
    "write",
    _CHECK
    + """
local k = KEYS[1]
local err = check(k, ARGV[2]); if err then return err end
local reply = redis.call(ARGV[5], k, unpack(ARGV, 6))
if redis.call('EXISTS', k) == 1 then ttl(k, ARGV[1]) end
publish(ARGV[3], ARGV[4])
return reply
""",
)

# KEYS: the keys. ARGV: expected type[, channel, payload].  Deletes only keys of the expected
# type; publishes when something was deleted.
DELETE = Script(
    "delete",
    _CHECK
    + """
for _, k in ipairs(KEYS) do
  local err = check(k, ARGV[1]); if err then return err end
end
local n = redis.call('DEL', unpack(KEYS))
if n > 0 then publish(ARGV[2], ARGV[3]) end
return n
""",
)

# KEYS: the key. ARGV: expected old value, new value, ttl ('keep' or seconds, 0 = persist)
# [, channel, payload].  Compare-and-set of a STRING: writes only if the value is still what
# was read (returns 1; 0 when it changed meanwhile: nothing written, nothing published).
CAS_STRING = Script(
    "cas_string",
    _CHECK
    + """
local k = KEYS[1]
local err = check(k, 'string'); if err then return err end
if redis.call('GET', k) ~= ARGV[1] then return 0 end
if ARGV[3] == 'keep' then
  redis.call('SET', k, ARGV[2], 'KEEPTTL')
else
  local seconds = tonumber(ARGV[3])
  if seconds > 0 then redis.call('SET', k, ARGV[2], 'EX', seconds) else redis.call('SET', k, ARGV[2]) end
end
publish(ARGV[4], ARGV[5])
return 1
""",
)

ALL: dict[str, Script] = {
    s.sha: s for s in (SAVE_STRING, WRITE_HASH, SAVE_COLLECTION, WRITE, DELETE, CAS_STRING)
}


def call(script: Script, keys: list[str], args: list[object]) -> tuple[object, ...]:
    """The EVALSHA command for a script call."""
    return ("EVALSHA", script.sha, len(keys), *keys, *args)


# KEYS: the key. ARGV: n, then n quadruples (field, "1" if it existed else "0", expected value, new value).
# Compare-and-set of hash fields: writes only if every field still holds what was
# read; HSET keeps the key's TTL.  Returns 1 (written) or 0 (changed meanwhile).
# (No TYPE pre-check: HGET on another type fails with WRONGTYPE before anything is written.)
CAS_HASH = Script(
    "cas_hash",
    """
local k = KEYS[1]
local n = tonumber(ARGV[1])
local pairs = {}
for i = 0, n - 1 do
  local field = ARGV[2 + 4 * i]
  local current = redis.call('HGET', k, field)
  if ARGV[3 + 4 * i] == '1' then
    if current ~= ARGV[4 + 4 * i] then return 0 end
  elseif current then
    return 0
  end
  pairs[2 * i + 1] = field
  pairs[2 * i + 2] = ARGV[5 + 4 * i]
end
redis.call('HSET', k, unpack(pairs))
return 1
""",
)

# KEYS: the lock key. ARGV: expected value, lease ms.  Renews a lease we still hold.
LOCK_RENEW = Script(
    "lock_renew",
    """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
""",
)

# KEYS: the lock key. ARGV: expected value.  Deletes the lock only if we hold it.
LOCK_RELEASE = Script(
    "lock_release",
    """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
""",
)

ALL.update({s.sha: s for s in (CAS_HASH, LOCK_RENEW, LOCK_RELEASE)})
