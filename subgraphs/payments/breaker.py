"""A circuit breaker per provider whose state lives in Redis, so every worker sees the same circuit.

closed -> (threshold failures within the window) -> open -> (cooldown over) -> half-open: one probe
call is let through (a lock with a TTL, so a probe that died does not wedge the circuit); its success
closes the circuit, its failure opens it again for another cooldown. Declines are answers, not
failures: only transient errors and timeouts count. Time is Redis's clock, shared by all workers.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import redis.asyncio as aioredis

# KEYS: state hash, failures counter, probe lock. ARGV: cooldown_ms, probe_ttl_ms
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HGET', KEYS[1], 'state') or 'closed'
if state == 'closed' then return {'closed', '0'} end
local open_until = tonumber(redis.call('HGET', KEYS[1], 'open_until') or '0')
if now < open_until then return {'open', tostring(open_until - now)} end
if redis.call('SET', KEYS[3], '1', 'NX', 'PX', tonumber(ARGV[2])) then
  redis.call('HSET', KEYS[1], 'state', 'half_open')
  return {'probe', '0'}
end
return {'open', tostring(math.max(100, math.floor(tonumber(ARGV[2]) / 4)))}
"""

# KEYS: state hash, failures counter, probe lock. ARGV: probe ('1'|'0')
_SUCCESS = """
local state = redis.call('HGET', KEYS[1], 'state') or 'closed'
if state == 'closed' then redis.call('DEL', KEYS[2]) return 'closed' end
if ARGV[1] == '1' then
  redis.call('HSET', KEYS[1], 'state', 'closed', 'open_until', '0')
  redis.call('DEL', KEYS[2], KEYS[3])
  return 'closed'
end
return state
"""

# KEYS: state hash, failures counter, probe lock. ARGV: probe, threshold, window_ms, cooldown_ms
_FAILURE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HGET', KEYS[1], 'state') or 'closed'
local function open()
  redis.call('HSET', KEYS[1], 'state', 'open', 'open_until', tostring(now + tonumber(ARGV[4])))
  redis.call('HINCRBY', KEYS[1], 'opened', 1)
  redis.call('DEL', KEYS[2], KEYS[3])
  return 'open'
end
if ARGV[1] == '1' then return open() end
if state ~= 'closed' then return state end
local failures = redis.call('INCR', KEYS[2])
if failures == 1 then redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[3])) end
if failures >= tonumber(ARGV[2]) then return open() end
return 'closed'
"""


class CircuitState(enum.Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True)
class Permit:
    """May the caller use the provider now? `probe` calls must report back with probe=True."""

    allowed: bool
    probe: bool = False
    retry_after_seconds: float = 0.0


class CircuitBreaker:
    def __init__(
        self,
        redis: aioredis.Redis,
        name: str,
        *,
        failure_threshold: int,
        window_seconds: float,
        cooldown_seconds: float,
        probe_ttl_seconds: float,
    ) -> None:
        self.name = name
        self._keys = [f"payments:breaker:{name}", f"payments:breaker:{name}:failures",
                      f"payments:breaker:{name}:probe"]
        self._threshold = failure_threshold
        self._window_ms = int(window_seconds * 1000)
        self._cooldown_ms = int(cooldown_seconds * 1000)
        self._probe_ttl_ms = max(1, int(probe_ttl_seconds * 1000))
        self._redis = redis
        self._acquire = redis.register_script(_ACQUIRE)
        self._success = redis.register_script(_SUCCESS)
        self._failure = redis.register_script(_FAILURE)

    async def acquire(self) -> Permit:
        state, wait_ms = await self._acquire(keys=self._keys, args=[self._cooldown_ms, self._probe_ttl_ms])
        if state == "closed":
            return Permit(allowed=True)
        if state == "probe":
            return Permit(allowed=True, probe=True)
        return Permit(allowed=False, retry_after_seconds=int(wait_ms) / 1000)

    async def record_success(self, permit: Permit) -> CircuitState:
        return CircuitState(await self._success(keys=self._keys, args=["1" if permit.probe else "0"]))

    async def record_failure(self, permit: Permit) -> CircuitState:
        state = await self._failure(
            keys=self._keys,
            args=["1" if permit.probe else "0", self._threshold, self._window_ms, self._cooldown_ms],
        )
        return CircuitState(state)

    async def state(self) -> CircuitState:
        raw = await self._redis.hget(self._keys[0], "state")  # type: ignore[misc]
        return CircuitState(raw or "closed")

    async def times_opened(self) -> int:
        return int(await self._redis.hget(self._keys[0], "opened") or 0)  # type: ignore[misc]

    async def reset(self) -> None:
        await self._redis.delete(*self._keys)
