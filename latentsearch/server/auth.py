"""API-key authentication and role checks.

A key arrives as ``Authorization: Bearer <key>`` (or ``X-API-Key: <key>``). A caller's principals
come from its key only (its groups, for a directory key, from the synced directory: see
`latentsearch.server.principals`); an ``admin`` key may name other principals with ``on_behalf_of``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from latentsearch.server.keystore import KeyInfo, authenticate, principals_for
from latentsearch.server.principals import resolve
from latentsearch.server.schemas import OnBehalfOf

RANK = {"reader": 0, "writer": 1, "admin": 2}


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated key behind a request."""

    key: KeyInfo

    @property
    def role(self) -> str:
        return self.key.role

    def principals(self, on_behalf_of: OnBehalfOf | None = None) -> list[str]:
        """The principals a request runs with: the key's, or (admin only) the named user's."""
        if on_behalf_of is None:
            return self.key.principals
        if self.role != "admin":
            raise HTTPException(
                403, "only an admin key may query on behalf of others (on_behalf_of)"
            )
        return principals_for(on_behalf_of.user, on_behalf_of.groups)


def _key_from(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
        return None
    return request.headers.get("x-api-key")


def current_caller(request: Request) -> Caller:
    key = _key_from(request)
    if not key:
        raise HTTPException(
            401,
            "missing API key: send 'Authorization: Bearer <key>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    state = request.app.state.ls
    with state.db.store.session() as s:
        info = authenticate(s, key)
    if info is not None:  # a disabled or deleted directory user is refused like an unknown key
        info = resolve(state.db, state.accounts, info)
    if info is None:
        raise HTTPException(
            401, "invalid or revoked API key", headers={"WWW-Authenticate": "Bearer"}
        )
    request.state.caller = info.key_id
    return Caller(info)


def require(role: str):  # type: ignore[no-untyped-def]
    """A dependency that authenticates and checks the key's role is at least ``role``."""

    def check(caller: Annotated[Caller, Depends(current_caller)]) -> Caller:
        if RANK[caller.role] < RANK[role]:
            raise HTTPException(403, f"this needs a {role} key; yours is a {caller.role} key")
        return caller

    return check


Reader = Annotated[Caller, Depends(require("reader"))]
Writer = Annotated[Caller, Depends(require("writer"))]
Admin = Annotated[Caller, Depends(require("admin"))]
