"""The format of the secrets this app issues, and how they are stored: only as a hash.

A key reads ``rma_<kind>_<id>_<secret>``:

- ``kind`` says what the key is for: ``pat`` for a personal API token (sent as
  ``Authorization: Token <key>``), ``key`` for a tenant API key (sent as
  ``Authorization: Api-Key <key>``). A key presented under the wrong kind is refused before
  any lookup.
- ``id`` (8 random base62 characters) is public: with the kind it forms the *prefix* that is
  stored, shown in lists ("rma_pat_Xy12AbCd…") and used to find the row.
- ``secret`` is 43 random base62 characters, about 256 bits from `secrets`.

Keys issued by DRF's token model before this app (40 hexadecimal characters) are still
accepted as personal tokens; their prefix is their first 8 characters.

The database holds the SHA-256 digest of the whole key, never the key. A fast hash is right
here, unlike for passwords: the secret is random and long, so there is nothing to guess, and
a slow hash would cost every API request tens of milliseconds. Digests are compared in
constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
from dataclasses import dataclass

SCHEME = "rma"
PERSONAL_TOKEN = "pat"  # noqa: S105 - the kind of key, not a secret
API_KEY = "key"

ALPHABET = string.ascii_letters + string.digits
ID_LENGTH = 8
SECRET_LENGTH = 43  # 43 x log2(62) ≈ 256 bits

_KEY = re.compile(
    rf"^(?P<prefix>{SCHEME}_(?P<kind>[a-z]+)_[{ALPHABET}]{{{ID_LENGTH}}})"
    rf"_[{ALPHABET}]{{{SECRET_LENGTH}}}$"
)
# DRF's rest_framework.authtoken key: 20 random bytes as hexadecimal.
_LEGACY_KEY = re.compile(r"^[0-9a-f]{40}$")
LEGACY_PREFIX_LENGTH = 8


@dataclass(frozen=True)
class NewKey:
    """A freshly generated key: `key` is shown once to its owner, then only the rest is kept."""

    key: str
    prefix: str
    digest: str


@dataclass(frozen=True)
class ParsedKey:
    kind: str
    prefix: str


def _random(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def digest(key: str) -> str:
    """The stored form of a key: SHA-256, hexadecimal."""
    return hashlib.sha256(key.encode()).hexdigest()


def same_digest(stored: str, presented: str) -> bool:
    """Constant-time comparison, so response times say nothing about how much matched."""
    return hmac.compare_digest(stored.encode(), presented.encode())


def generate(kind: str) -> NewKey:
    prefix = f"{SCHEME}_{kind}_{_random(ID_LENGTH)}"
    key = f"{prefix}_{_random(SECRET_LENGTH)}"
    return NewKey(key=key, prefix=prefix, digest=digest(key))


def parse(key: str) -> ParsedKey | None:
    """The kind and public prefix of a well-formed key; None for anything else."""
    match = _KEY.match(key)
    if match is not None:
        return ParsedKey(kind=match["kind"], prefix=match["prefix"])
    if _LEGACY_KEY.match(key):
        return ParsedKey(kind=PERSONAL_TOKEN, prefix=key[:LEGACY_PREFIX_LENGTH])
    return None
