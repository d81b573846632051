"""The Lua scripts behind every write.

Each write is one script call on one key family, so that

* value and expiry are applied atomically (no key of a TTL model ever exists
  without its expiry; a persistent model's write removes a stale TTL);
* the key's Redis type is checked first: a write never replaces or half-writes
  a key that holds another type (WRONGTYPE is reported with the actual type);
* every write is a single command, so bulk writes pipeline without MULTI and
  stay on one key's slot (cluster-safe).

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
local function ttl(k, seconds)
  if seconds > 0 then redis.call('EXPIRE', k, seconds) else redis.call('PERSIST', k) end
end
"""

# KEYS: the keys (primary and alternates). ARGV: ttl, value.
SAVE_STRING = Script(
    "save_string",
    _CHECK
    + """
for _, k in ipairs(KEYS) do
  local err = check(k, 'string'); if err then return err end
end
local seconds = tonumber(ARGV[1])
for _, k in ipairs(KEYS) do
  if seconds > 0 then redis.call('SET', k, ARGV[2], 'EX', seconds) else redis.call('SET', k, ARGV[2]) end
end
return #KEYS
""",
)

# KEYS: the keys. ARGV: ttl, n (number of field/value pairs), pairs..., fields to delete...
SAVE_HASH = Script(
    "save_hash",
    _CHECK
    + """
for _, k in ipairs(KEYS) do
  local err = check(k, 'hash'); if err then return err end
end
local seconds = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
for _, k in ipairs(KEYS) do
  local i = 3
  while i < 3 + 2 * n do
    local stop = math.min(i + 1999, 2 + 2 * n)
    redis.call('HSET', k, unpack(ARGV, i, stop))
    i = stop + 1
  end
  if #ARGV >= 3 + 2 * n then redis.call('HDEL', k, unpack(ARGV, 3 + 2 * n)) end
  ttl(k, seconds)
end
return #KEYS
""",
)

# KEYS: the key. ARGV: ttl, n, pairs..., deletes...  Returns 0 (and writes nothing) when the key is missing.
UPDATE_HASH = Script(
    "update_hash",
    _CHECK
    + """
local k = KEYS[1]
local err = check(k, 'hash'); if err then return err end
if redis.call('EXISTS', k) == 0 then return 0 end
local n = tonumber(ARGV[2])
if n > 0 then redis.call('HSET', k, unpack(ARGV, 3, 2 + 2 * n)) end
if #ARGV >= 3 + 2 * n then redis.call('HDEL', k, unpack(ARGV, 3 + 2 * n)) end
if redis.call('EXISTS', k) == 1 then ttl(k, tonumber(ARGV[1])) end
return 1
""",
)

# KEYS: the key. ARGV: ttl, 'set'|'list', members...  Replaces the whole collection.
SAVE_COLLECTION = Script(
    "save_collection",
    _CHECK
    + """
local k = KEYS[1]
local err = check(k, ARGV[2]); if err then return err end
redis.call('DEL', k)
local cmd = (ARGV[2] == 'set') and 'SADD' or 'RPUSH'
local i = 3
while i <= #ARGV do
  local stop = math.min(i + 3999, #ARGV)
  redis.call(cmd, k, unpack(ARGV, i, stop))
  i = stop + 1
end
if #ARGV >= 3 then ttl(k, tonumber(ARGV[1])) end
return #ARGV - 2
""",
)

# KEYS: the key. ARGV: ttl, expected type, command, args...  Runs one write command
# on a key of the expected type and applies the TTL policy if the key still exists.
WRITE = Script(
    "write",
    _CHECK
    + """
local k = KEYS[1]
local err = check(k, ARGV[2]); if err then return err end
local reply = redis.call(ARGV[3], k, unpack(ARGV, 4))
if redis.call('EXISTS', k) == 1 then ttl(k, tonumber(ARGV[1])) end
return reply
""",
)

# KEYS: the keys. ARGV: expected type.  Deletes only keys of the expected type.
DELETE = Script(
    "delete",
    _CHECK
    + """
for _, k in ipairs(KEYS) do
  local err = check(k, ARGV[1]); if err then return err end
end
return redis.call('DEL', unpack(KEYS))
""",
)

# KEYS: the key. ARGV: expected old value, new value, ttl ('keep' or seconds, 0 = persist).
# Compare-and-set of a STRING: writes only if the value is still what was read.
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
return 1
""",
)

ALL: dict[str, Script] = {
    s.sha: s for s in (SAVE_STRING, SAVE_HASH, UPDATE_HASH, SAVE_COLLECTION, WRITE, DELETE, CAS_STRING)
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
