"""Tenant API keys: generated once, stored only as SHA-256 hashes in a Secrets Manager secret.

The secret holds ``{"version": 1, "keys": {<key_id>: <record>}}``. A record carries
``hash, tenantId, label, status (active|revoked), createdAt, expiresAt`` and optional per-tenant
``quotas`` ({"rpm", "rpd", "tpm"}) and ``models`` (allowed aliases). The key id is public (for
listing and revoking); the key itself is shown once, at creation, and never stored.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from llm_gateway.contract import check_profile

KEY_PREFIX = "gw_sk_"
KEY_BYTES = 32  # of randomness, base64url: 43 characters after the prefix
KEY_PATTERN = re.compile(re.escape(KEY_PREFIX) + r"[A-Za-z0-9_-]{43}")
KEY_FORMAT = f"a key is {KEY_PREFIX} followed by 43 base64url characters"


def now_utc() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_iso(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(KEY_BYTES)


@dataclass(frozen=True)
class Quotas:
    rpm: int | None = None  # requests per minute
    rpd: int | None = None  # requests per day
    tpm: int | None = None  # tokens per minute

    def over(self, defaults: Quotas) -> Quotas:
        return Quotas(rpm=self.rpm or defaults.rpm, rpd=self.rpd or defaults.rpd, tpm=self.tpm or defaults.tpm)


@dataclass(frozen=True)
class KeyRecord:
    key_id: str
    hash: str
    tenantId: str
    label: str
    status: str = "active"
    createdAt: str = field(default_factory=lambda: iso(now_utc()))
    expiresAt: str | None = None
    quotas: dict[str, int] = field(default_factory=dict)
    models: list[str] = field(default_factory=list)
    guardrail: str | None = None  # a guardrail profile name (contract.GUARDRAIL_PROFILES)

    def usable(self, at: datetime) -> bool:
        return self.status == "active" and (self.expiresAt is None or parse_iso(self.expiresAt) > at)

    @property
    def quota(self) -> Quotas:
        return Quotas(**{k: int(v) for k, v in self.quotas.items() if k in ("rpm", "rpd", "tpm")})

    def public(self) -> dict[str, Any]:
        """What may be shown or logged: everything but the hash."""
        return {k: v for k, v in asdict(self).items() if k != "hash"}


def parse_records(document: str | dict[str, Any]) -> dict[str, KeyRecord]:
    data = json.loads(document) if isinstance(document, str) else document
    return {key_id: KeyRecord(key_id=key_id, **{k: v for k, v in record.items() if k != "key_id"})
            for key_id, record in (data.get("keys") or {}).items()}


def dump_records(records: dict[str, KeyRecord]) -> str:
    return json.dumps({"version": 1, "keys": {
        key_id: {k: v for k, v in asdict(r).items() if k != "key_id"} for key_id, r in records.items()}},
        sort_keys=True)


def well_formed(key: str) -> bool:
    return KEY_PATTERN.fullmatch(key) is not None


def authenticate(token: str, records: dict[str, KeyRecord], at: datetime | None = None) -> KeyRecord | None:
    """The usable record whose hash matches ``token``, comparing every hash in constant time."""
    if token.lower().startswith("bearer "):
        token = token[7:].strip()
    if not well_formed(token):
        return None
    presented = hash_key(token)
    match = None
    for record in records.values():  # no early exit: timing does not tell which record is close
        if hmac.compare_digest(record.hash, presented):
            match = record
    at = at or now_utc()
    return match if match and match.usable(at) else None


class KeyStore:
    """Create, list, revoke and rotate keys in the secret (used by the CLI and the local runner)."""

    def __init__(self, secret_id: str, client: Any) -> None:
        self.secret_id, self._sm = secret_id, client

    def load(self) -> dict[str, KeyRecord]:
        return parse_records(self._sm.get_secret_value(SecretId=self.secret_id)["SecretString"])

    def _save(self, records: dict[str, KeyRecord]) -> None:
        self._sm.put_secret_value(SecretId=self.secret_id, SecretString=dump_records(records))

    def create(self, tenant_id: str, label: str, *, expires_in: timedelta | None = None,
               quotas: Quotas | None = None, models: list[str] | None = None,
               key: str | None = None, guardrail: str | None = None) -> tuple[str, KeyRecord]:
        """A new key for the tenant: returns the key (to show once) and its stored record."""
        key, record = _new_record(tenant_id, label, expires_in=expires_in, quotas=quotas, models=models, key=key)
        record = replace(record, guardrail=check_profile(guardrail))
        self._save({**self.load(), record.key_id: record})
        return key, record

    def revoke(self, key_id: str) -> KeyRecord:
        records = self.load()
        if key_id not in records:
            raise KeyError(f"no key {key_id!r}")
        records[key_id] = replace(records[key_id], status="revoked")
        self._save(records)
        return records[key_id]

    def rotate(self, key_id: str, *, overlap: timedelta) -> tuple[str, KeyRecord, KeyRecord]:
        """A new key with the same tenant, label, quotas and models; the old one expires after ``overlap``."""
        records = self.load()
        if key_id not in records:
            raise KeyError(f"no key {key_id!r}")
        old = records[key_id]
        key, new = _new_record(old.tenantId, old.label, quotas=old.quota, models=old.models)
        deadline = now_utc() + overlap
        if old.expiresAt is None or parse_iso(old.expiresAt) > deadline:
            records[key_id] = replace(old, expiresAt=iso(deadline))
        self._save({**records, new.key_id: new})
        return key, new, records[key_id]


def _new_record(tenant_id: str, label: str, *, expires_in: timedelta | None = None, quotas: Quotas | None = None,
                models: list[str] | None = None, key: str | None = None) -> tuple[str, KeyRecord]:
    key = key or new_key()
    if not well_formed(key):
        raise ValueError(KEY_FORMAT)
    return key, KeyRecord(
        key_id="k_" + secrets.token_hex(6), hash=hash_key(key), tenantId=tenant_id, label=label,
        expiresAt=iso(now_utc() + expires_in) if expires_in else None,
        quotas={k: v for k, v in asdict(quotas or Quotas()).items() if v}, models=list(models or []))
