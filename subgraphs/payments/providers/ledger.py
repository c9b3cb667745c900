"""The simulated provider's own records, in Redis, so they outlive any worker process.

This stands for the remote provider's database: every completed charge and refund is stored under
its idempotency key by one Lua script, so two workers racing with the same key cannot both charge.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

from subgraphs.payments.providers.base import (
    ChargeResult,
    IdempotencyConflict,
    RefundRejected,
    RefundResult,
    TransientProviderError,
)

RECORD_TTL_SECONDS = 30 * 24 * 3600

# KEYS: charge record, transient counter, index, successful-charges counter
# ARGV: mode, fingerprint, amount, currency, reference, error_code, message, retryable,
#       failures_before_success, now_ms, ttl
_CHARGE = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  if redis.call('HGET', KEYS[1], 'fingerprint') ~= ARGV[2] then return {'conflict'} end
  return {'replay', unpack(redis.call('HGETALL', KEYS[1]))}
end
local mode = ARGV[1]
if mode == 'transient' then
  local failures = redis.call('INCR', KEYS[2])
  redis.call('EXPIRE', KEYS[2], tonumber(ARGV[11]))
  if failures <= tonumber(ARGV[9]) then return {'transient', tostring(failures)} end
  mode = 'succeed'
end
local status = 'declined'
if mode == 'succeed' then status = 'succeeded' end
redis.call('HSET', KEYS[1], 'status', status, 'fingerprint', ARGV[2], 'amount', ARGV[3],
  'currency', ARGV[4], 'reference', ARGV[5], 'error_code', ARGV[6], 'message', ARGV[7],
  'retryable', ARGV[8], 'refunded', '0', 'created_ms', ARGV[10])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[11]))
redis.call('ZADD', KEYS[3], tonumber(ARGV[10]), KEYS[1])
if status == 'succeeded' then redis.call('INCR', KEYS[4]) end
return {'new', unpack(redis.call('HGETALL', KEYS[1]))}
"""

# KEYS: refund record, charge record, successful-refunds counter
# ARGV: fingerprint, amount, reference, now_ms, ttl
_REFUND = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  if redis.call('HGET', KEYS[1], 'fingerprint') ~= ARGV[1] then return {'conflict'} end
  return {'replay', redis.call('HGET', KEYS[1], 'reference'), redis.call('HGET', KEYS[1], 'amount')}
end
if redis.call('HGET', KEYS[2], 'status') ~= 'succeeded' then return {'no_charge'} end
local captured = tonumber(redis.call('HGET', KEYS[2], 'amount'))
local refunded = tonumber(redis.call('HGET', KEYS[2], 'refunded'))
local amount = tonumber(ARGV[2])
if refunded + amount > captured then return {'exceeds', tostring(captured - refunded)} end
redis.call('HINCRBY', KEYS[2], 'refunded', amount)
redis.call('HSET', KEYS[1], 'fingerprint', ARGV[1], 'reference', ARGV[3], 'amount', ARGV[2], 'created_ms', ARGV[4])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[5]))
redis.call('INCR', KEYS[3])
return {'new', ARGV[3], ARGV[2]}
"""


@dataclass(frozen=True)
class LedgerOutcome:
    """How the simulated provider answers a request, decided from the test token."""

    mode: str  # "succeed" | "decline" | "transient"
    error_code: str = ""
    message: str = ""
    retryable: bool = False
    failures_before_success: int = 0


def _pairs(flat: list[Any]) -> dict[str, str]:
    return {str(flat[i]): str(flat[i + 1]) for i in range(0, len(flat), 2)}


def _charge_result(record: dict[str, str], *, replayed: bool) -> ChargeResult:
    succeeded = record["status"] == "succeeded"
    return ChargeResult(
        succeeded=succeeded,
        reference=record["reference"],
        amount=int(record["amount"]),
        currency=record["currency"],
        error_code=None if succeeded else record.get("error_code") or None,
        message=None if succeeded else record.get("message") or None,
        retryable_decline=record.get("retryable") == "1",
        replayed=replayed,
    )


class ProviderLedger:
    def __init__(self, redis: aioredis.Redis, provider: str) -> None:
        self.redis = redis
        self.prefix = f"simprovider:{provider}"
        self._charge = redis.register_script(_CHARGE)
        self._refund = redis.register_script(_REFUND)

    def _charge_key(self, idempotency_key: str) -> str:
        return f"{self.prefix}:charge:{idempotency_key}"

    async def record_charge(
        self, *, idempotency_key: str, fingerprint: str, amount: int, currency: str, reference: str,
        outcome: LedgerOutcome, now_ms: int,
    ) -> ChargeResult:
        """Store the first result for the key and return it; later calls replay it."""
        reply = await self._charge(
            keys=[self._charge_key(idempotency_key), f"{self.prefix}:transient:{idempotency_key}",
                  f"{self.prefix}:index", f"{self.prefix}:charges"],
            args=[outcome.mode, fingerprint, amount, currency, reference, outcome.error_code, outcome.message,
                  "1" if outcome.retryable else "0", outcome.failures_before_success, now_ms, RECORD_TTL_SECONDS],
        )
        kind = str(reply[0])
        if kind == "conflict":
            raise IdempotencyConflict("idempotency_conflict", "the key was used with different parameters")
        if kind == "transient":
            raise TransientProviderError("processing_error", f"temporary processing error (failure {reply[1]})")
        return _charge_result(_pairs(list(reply[1:])), replayed=kind == "replay")

    async def lookup(self, idempotency_key: str) -> ChargeResult | None:
        record = await self.redis.hgetall(self._charge_key(idempotency_key))  # type: ignore[misc]
        return _charge_result(record, replayed=True) if record else None

    async def record_refund(
        self, *, idempotency_key: str, charge_idempotency_key: str, fingerprint: str, amount: int,
        reference: str, now_ms: int,
    ) -> RefundResult:
        reply = await self._refund(
            keys=[f"{self.prefix}:refund:{idempotency_key}", self._charge_key(charge_idempotency_key),
                  f"{self.prefix}:refunds"],
            args=[fingerprint, amount, reference, now_ms, RECORD_TTL_SECONDS],
        )
        kind = str(reply[0])
        if kind == "conflict":
            raise IdempotencyConflict("idempotency_conflict", "the refund key was used with different parameters")
        if kind == "no_charge":
            raise RefundRejected("charge_not_found", "no successful charge to refund")
        if kind == "exceeds":
            raise RefundRejected("amount_too_large", f"at most {reply[1]} can be refunded")
        return RefundResult(reference=str(reply[1]), amount=int(reply[2]), replayed=kind == "replay")

    async def charge_count(self) -> int:
        """Charges that moved money (what a customer's statement would show)."""
        return int(await self.redis.get(f"{self.prefix}:charges") or 0)

    async def refund_count(self) -> int:
        return int(await self.redis.get(f"{self.prefix}:refunds") or 0)
