"""Tenant API keys: generated once, stored only as SHA-256 hashes, in a DynamoDB table keyed by
the hash.

An item carries ``hash, key_id, tenantId, label, status (active|revoked|expired), createdAt, expiresAt``
and optional per-tenant ``quotas`` ({"rpm", "rpd", "tpm"}), ``models`` (allowed aliases) and
``guardrail`` (a profile). Finding the key a request presents is one GetItem by its hash, however
many keys exist; every change is a conditional write on one item, so concurrent changes never lose
one another. The key id is public (listing, revoking: the ``by-key-id`` index); the key itself is
shown once, at creation, and never stored. Keys kept in the Secrets Manager document of earlier
versions (``{"version": 1, "keys": {<key_id>: <record>}}``) move over with ``keys migrate``.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from llm_gateway.contract import KEYS_BY_ID_INDEX, check_profile
from llm_gateway.core.budgets import BUDGET_WINDOWS

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
    # USD limits: key_day, key_month; tenant_day, tenant_month (the tenant's, stamped on each of its keys).
    budgets: dict[str, float] = field(default_factory=dict)
    admin: bool = False  # may read every tenant's usage

    def usable(self, at: datetime) -> bool:
        return self.status == "active" and (self.expiresAt is None or parse_iso(self.expiresAt) > at)

    @property
    def quota(self) -> Quotas:
        return Quotas(**{k: int(v) for k, v in self.quotas.items() if k in ("rpm", "rpd", "tpm")})

    def public(self) -> dict[str, Any]:
        """What may be shown or logged: everything but the hash."""
        return {k: v for k, v in asdict(self).items() if k != "hash"}


def parse_records(document: str | dict[str, Any]) -> dict[str, KeyRecord]:
    """The records of a Secrets Manager keys document (what ``keys migrate`` reads)."""
    data = json.loads(document) if isinstance(document, str) else document
    return {key_id: KeyRecord(key_id=key_id, **{k: v for k, v in record.items() if k != "key_id"})
            for key_id, record in (data.get("keys") or {}).items()}


def well_formed(key: str) -> bool:
    return KEY_PATTERN.fullmatch(key) is not None


def bearer(token: str) -> str:
    return token[7:].strip() if token.lower().startswith("bearer ") else token


_TO, _FROM = TypeSerializer(), TypeDeserializer()


def _exact(budgets: dict[str, float]) -> dict[str, Decimal]:
    """Budgets as DynamoDB numbers, checked: known windows, in USD >= 0."""
    if set(budgets) - set(BUDGET_WINDOWS) or any(v < 0 for v in budgets.values()):
        raise ValueError(f"budgets {budgets}: expected {', '.join(BUDGET_WINDOWS)}, in USD >= 0")
    return {k: Decimal(str(v)) for k, v in budgets.items()}


def key_item(record: KeyRecord) -> dict[str, Any]:
    plain = {**asdict(record), "budgets": _exact(record.budgets)}
    return {k: _TO.serialize(v) for k, v in plain.items() if v is not None and v not in ([], {}, False)}


def _record(item: dict[str, Any]) -> KeyRecord:
    plain = {k: _FROM.deserialize(v) for k, v in item.items()}
    plain["quotas"] = {k: int(v) for k, v in (plain.get("quotas") or {}).items()}
    plain["models"] = list(plain.get("models") or [])
    plain["budgets"] = {k: float(v) for k, v in (plain.get("budgets") or {}).items()}
    return KeyRecord(**{k: v for k, v in plain.items() if k in KeyRecord.__dataclass_fields__})


class KeyConflict(Exception):
    """The key changed (or appeared) between reading it and writing it: nothing was written."""


class KeyStore:
    """Find, create, list, revoke and rotate keys in the keys table (the authorizer finds; the CLI
    and the local runner manage)."""

    def __init__(self, table_name: str, client: Any) -> None:
        self.table, self._ddb = table_name, client

    def find(self, token: str, at: datetime | None = None) -> KeyRecord | None:
        """The usable record of the key ``token`` presents (one item read, by the key's hash)."""
        token = bearer(token)
        if not well_formed(token):
            return None
        item = self._ddb.get_item(TableName=self.table, Key={"hash": {"S": hash_key(token)}},
                                  ConsistentRead=True).get("Item")
        record = _record(item) if item else None
        return record if record and record.usable(at or now_utc()) else None

    def load(self) -> dict[str, KeyRecord]:
        """Every record by key id (an operator's listing: a scan, never on the request path)."""
        records: dict[str, KeyRecord] = {}
        request: dict[str, Any] = {"TableName": self.table}
        while True:
            page = self._ddb.scan(**request)
            records |= {r.key_id: r for r in map(_record, page.get("Items", []))}
            if "LastEvaluatedKey" not in page:
                return records
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def get(self, key_id: str) -> KeyRecord:
        items = self._ddb.query(TableName=self.table, IndexName=KEYS_BY_ID_INDEX,
                                KeyConditionExpression="key_id = :id",
                                ExpressionAttributeValues={":id": {"S": key_id}}).get("Items", [])
        if not items:
            raise KeyError(f"no key {key_id!r}")
        return _record(items[0])

    def put(self, record: KeyRecord) -> bool:
        """Store a new record; False if its hash is already stored (nothing is overwritten)."""
        try:
            self._ddb.put_item(TableName=self.table, Item=key_item(record),
                               ConditionExpression="attribute_not_exists(#h)", ExpressionAttributeNames={"#h": "hash"})
        except self._ddb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def create(self, tenant_id: str, label: str, *, expires_in: timedelta | None = None,
               quotas: Quotas | None = None, models: list[str] | None = None,
               key: str | None = None, guardrail: str | None = None, budgets: dict[str, float] | None = None,
               admin: bool = False) -> tuple[str, KeyRecord]:
        """A new key for the tenant: returns the key (to show once) and its stored record.
        ``budgets``: its USD limits (``BUDGET_WINDOWS``; the CLI adds the tenant's, see
        ``tenant_budgets``)."""
        key, record = new_record(tenant_id, label, expires_in=expires_in, quotas=quotas, models=models, key=key)
        record = replace(record, guardrail=check_profile(guardrail), admin=admin,
                         budgets={k: v for k, v in (budgets or {}).items() if v is not None})
        if not self.put(record):
            raise KeyConflict("that key is already registered")
        return key, record

    def _update(self, record: KeyRecord, changed: dict[str, Any], *, as_read: bool = True) -> KeyRecord:
        """Write ``changed`` onto the record. ``as_read``: only onto the record as it was read; if
        anyone changed its status or expiry meanwhile, KeyConflict (read again and decide again)
        instead of a lost update. Otherwise only onto a record that still exists."""
        names = {f"#{k}": k for k in changed}
        values = {f":{k}": _TO.serialize(v) for k, v in changed.items()}
        if not as_read:
            names["#h"] = "hash"
            condition = "attribute_exists(#h)"
        else:
            names |= {"#status": "status", "#exp": "expiresAt"}
            values[":was"] = {"S": record.status}
            condition = "#status = :was AND " + (
                "#exp = :wasexp" if record.expiresAt else "attribute_not_exists(#exp)")
            if record.expiresAt:
                values[":wasexp"] = {"S": record.expiresAt}
        try:
            item = self._ddb.update_item(
                TableName=self.table, Key={"hash": {"S": record.hash}}, ConditionExpression=condition,
                UpdateExpression="SET " + ", ".join(f"#{k} = :{k}" for k in changed),
                ExpressionAttributeNames=names, ExpressionAttributeValues=values, ReturnValues="ALL_NEW")
        except self._ddb.exceptions.ConditionalCheckFailedException:
            raise KeyConflict(f"key {record.key_id} changed meanwhile; nothing was written") from None
        return _record(item["Attributes"])

    def set_budgets(self, key_id: str, budgets: dict[str, float | None]) -> KeyRecord:
        """Set (a number) or lift (None) some of a key's budgets, leaving the others."""
        record = self.get(key_id)
        merged = {k: v for k, v in {**record.budgets, **budgets}.items() if v is not None}
        return self._update(record, {"budgets": _exact(merged)}, as_read=False)

    def tenant_budgets(self, tenant_id: str) -> dict[str, float]:
        """The tenant's limits as its keys carry them (an operator's read: a scan)."""
        return next(({k: v for k, v in r.budgets.items() if k.startswith("tenant_")}
                     for r in self.load().values() if r.tenantId == tenant_id and r.budgets), {})

    def revoke(self, key_id: str) -> KeyRecord:
        # Revoking never yields to a concurrent change (a rotation's new expiry, say): it must stand.
        return self._update(self.get(key_id), {"status": "revoked"}, as_read=False)

    def rotate(self, key_id: str, *, overlap: timedelta) -> tuple[str, KeyRecord, KeyRecord]:
        """A new key with the same tenant, label, quotas, models and guardrail; the old one expires
        after ``overlap`` (sooner if it already did)."""
        old = self.get(key_id)
        if old.status != "active":
            raise KeyConflict(f"key {key_id} is {old.status}: create a new one instead")
        key, new = new_record(old.tenantId, old.label, quotas=old.quota, models=old.models)
        new = replace(new, guardrail=old.guardrail, budgets=old.budgets, admin=old.admin)
        deadline = now_utc() + overlap
        if old.expiresAt is None or parse_iso(old.expiresAt) > deadline:
            old = self._update(old, {"expiresAt": iso(deadline)})
        if not self.put(new):
            raise KeyConflict("the new key collided with a stored one")
        return key, new, old

    def sweep(self, at: datetime | None = None, *, warn_within: timedelta = timedelta(days=7)) -> Sweep:
        """Mark the active keys whose expiry has passed ``expired``, and list those expiring within
        ``warn_within`` (a scan: the scheduled sweeper's, never on the request path). A key changed
        while the sweep ran is left for the next one to decide."""
        at = at or now_utc()
        expired, expiring = [], []
        for record in self.load().values():
            if record.status != "active" or record.expiresAt is None:
                continue
            if parse_iso(record.expiresAt) <= at:
                try:
                    expired.append(self._update(record, {"status": "expired"}))
                except KeyConflict:
                    continue
            elif parse_iso(record.expiresAt) - at <= warn_within:
                expiring.append(record)
        return Sweep(expired, expiring)


@dataclass(frozen=True)
class Sweep:
    expired: list[KeyRecord]  # marked expired by this sweep
    expiring: list[KeyRecord]  # still active, expiring within the warning window: rotate them


def new_record(tenant_id: str, label: str, *, expires_in: timedelta | None = None, quotas: Quotas | None = None,
                models: list[str] | None = None, key: str | None = None) -> tuple[str, KeyRecord]:
    key = key or new_key()
    if not well_formed(key):
        raise ValueError(KEY_FORMAT)
    return key, KeyRecord(
        key_id="k_" + secrets.token_hex(6), hash=hash_key(key), tenantId=tenant_id, label=label,
        expiresAt=iso(now_utc() + expires_in) if expires_in else None,
        quotas={k: v for k, v in asdict(quotas or Quotas()).items() if v}, models=list(models or []))
