"""The migration engine's own Lua scripts (registered with the core's, so NOSCRIPT reloads them)."""

from __future__ import annotations

from keyspace.core import scripts

# KEYS: hashes (of one slot).  ARGV, per key in order: n, then n quadruples (field, "1" if it
# existed else "0", expected value, new value).  Per key, like CAS_HASH: writes only if every
# field still holds what was read (HSET keeps the TTL).  Returns one reply per key: 1 written,
# 0 changed meanwhile, -1 not a hash (checked first, so one wrong key never aborts the others).
CAS_HASH_MANY = scripts.Script(
    "cas_hash_many",
    """
local out = {}
local at = 1
for i, k in ipairs(KEYS) do
  local n = tonumber(ARGV[at])
  at = at + 1
  local kind = redis.call('TYPE', k)['ok']
  if kind ~= 'hash' and kind ~= 'none' then
    out[i] = -1
  else
    local ok = 1
    local values = {}
    for j = 0, n - 1 do
      local base = at + 4 * j
      local current = redis.call('HGET', k, ARGV[base])
      if ARGV[base + 1] == '1' then
        if current ~= ARGV[base + 2] then ok = 0 end
      elseif current then
        ok = 0
      end
      values[2 * j + 1] = ARGV[base]
      values[2 * j + 2] = ARGV[base + 3]
    end
    if ok == 1 then redis.call('HSET', k, unpack(values)) end
    out[i] = ok
  end
  at = at + 4 * n
end
return out
""",
)

# KEYS: the source key. ARGV: its DUMP as read.  Deletes it only if it still holds exactly that.
DELETE_IF_UNCHANGED = scripts.Script(
    "delete_if_unchanged",
    """
if redis.call('DUMP', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
""",
)

scripts.ALL.update({s.sha: s for s in (CAS_HASH_MANY, DELETE_IF_UNCHANGED)})
