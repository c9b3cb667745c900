from __future__ import annotations

import pytest

from subgraphs.kit.auth import Authenticator, decode_token, issue_token
from subgraphs.kit.errors import Forbidden, Unauthenticated

SECRET = "a-test-secret-that-is-long-enough-for-hs256"


def test_a_token_round_trips_to_a_viewer() -> None:
    viewer = decode_token(issue_token("u1", ["catalog:write", "orders:admin"], SECRET), SECRET)
    assert viewer.user_id == "u1"
    assert viewer.scopes == {"catalog:write", "orders:admin"}


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (None, "sign in required"),
        ("Basic abc", "must be `Bearer <token>`"),
        ("Bearer not-a-jwt", "invalid token"),
        (f"Bearer {issue_token('u1', [], 'another-secret-that-is-also-long-enough')}", "invalid token"),
        (f"Bearer {issue_token('u1', [], SECRET, ttl_seconds=-10)}", "expired"),
    ],
)
def test_refused_tokens_say_why(header: str | None, message: str) -> None:
    auth = Authenticator(header, SECRET)
    assert auth.viewer is None
    with pytest.raises(Unauthenticated, match=message) as info:
        auth.require_viewer()
    assert info.value.extensions["code"] == "UNAUTHENTICATED"


def test_missing_scope_is_forbidden() -> None:
    auth = Authenticator(f"Bearer {issue_token('u1', ['orders:read'], SECRET)}", SECRET)
    with pytest.raises(Forbidden) as info:
        auth.require_scope("catalog:write")
    assert info.value.extensions == {"code": "FORBIDDEN", "requiredScope": "catalog:write"}
