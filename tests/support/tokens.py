"""Development tokens for tests, signed with the services' default secret."""

from __future__ import annotations

from typing import Any

from subgraphs.kit.auth import issue_token
from subgraphs.kit.settings import DEV_JWT_SECRET


def bearer(subject: str, *scopes: str, **claims: Any) -> dict[str, str]:
    token = issue_token(subject, scopes, DEV_JWT_SECRET, **claims)
    return {"Authorization": f"Bearer {token}"}
