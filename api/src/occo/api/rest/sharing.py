"""Which process of the REST service maintains which attached infrastructure.

Rendezvous (highest random weight) hashing: every member scores every
infrastructure with a hash of the pair, and the member with the highest score
maintains it. Each process computes the same answer from the same list of
live members, with no coordination; when a member leaves, only its own
infrastructures move (each to the member that scored second), and a member
that joins takes about its share from the others.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable


def score(member: str, infra_id: str) -> int:
    """The weight of `member` for `infra_id`: a stable 64-bit hash of the pair."""
    digest = hashlib.blake2b(f"{member}\0{infra_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def owner(infra_id: str, members: Iterable[str]) -> str | None:
    """The member that maintains `infra_id` (None without members); ties, which a 64-bit
    hash all but never has, go to the greater name so that every process agrees."""
    return max(members, key=lambda member: (score(member, infra_id), member), default=None)
