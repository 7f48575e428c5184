"""``python -m llm_gateway keys create|list|budget|revoke|rotate|migrate``: manage tenant API keys.

The keys table is found by ``--table``, by a deployed stack's ``KeysTableName`` output
(``--stack``), or, with ``--local``, from the state file ``make dev`` writes (``operator_cli``).
``migrate --from-secret`` copies the keys of the Secrets Manager document earlier versions kept.
"""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from llm_gateway.contract import GUARDRAIL_PROFILES
from llm_gateway.core.tenants import KeyConflict, KeyStore, Quotas, parse_records
from llm_gateway.operator_cli import locate, print_json, where_parser


def _store(args: argparse.Namespace) -> tuple[KeyStore, Any, str | None]:
    session, endpoint, table = locate(args, args.table, output="KeysTableName", state="keys_table", flag="--table")
    return KeyStore(table, session.client("dynamodb", endpoint_url=endpoint)), session, endpoint


def run(args: argparse.Namespace) -> None:
    try:
        _run(args)
    except (BotoCoreError, ClientError, KeyError, ValueError, KeyConflict) as exc:
        raise SystemExit(f"llm-gateway keys {args.command}: {exc}") from None


def _run(args: argparse.Namespace) -> None:
    store, session, endpoint = _store(args)
    if args.command == "create":
        quotas = Quotas(rpm=args.rpm, rpd=args.rpd, tpm=args.tpm)
        models = [m for m in (args.models or "").split(",") if m]
        expires = timedelta(days=args.expires_in_days) if args.expires_in_days else None
        key, record = store.create(args.tenant, args.label or args.tenant, expires_in=expires, quotas=quotas,
                                   models=models, guardrail=args.guardrail_profile, admin=args.admin,
                                   budgets={**store.tenant_budgets(args.tenant),  # a new key takes them on
                                            "key_day": args.budget_day_usd, "key_month": args.budget_month_usd})
        print("Store this key now; it is not shown again.", file=sys.stderr)
        print_json({"key": key, **record.public()})
    elif args.command == "list":
        records = [r.public() for r in store.load().values() if not args.tenant or r.tenantId == args.tenant]
        print_json(sorted(records, key=lambda r: (r["tenantId"], r["createdAt"])))
    elif args.command == "budget":
        if bool(args.key_id) == bool(args.tenant):
            raise ValueError("name a key id or --tenant, not both")
        scope = "tenant" if args.tenant else "key"
        changes = {f"{scope}_{period}": None if value == "none" else float(value)
                   for period, value in (("day", args.day_usd), ("month", args.month_usd)) if value is not None}
        if not changes:
            raise ValueError("give --day-usd and/or --month-usd")
        targets = ([r.key_id for r in store.load().values() if r.tenantId == args.tenant] if args.tenant
                   else [args.key_id])
        if not targets:
            raise ValueError(f"tenant {args.tenant!r} has no keys")
        print_json([store.set_budgets(key_id, changes).public() for key_id in targets])
    elif args.command == "revoke":
        print_json(store.revoke(args.key_id).public())
    elif args.command == "rotate":
        key, new, old = store.rotate(args.key_id, overlap=timedelta(hours=args.overlap_hours))
        print(f"Store the new key now; the old one works until {old.expiresAt}.", file=sys.stderr)
        print_json({"key": key, "new": new.public(), "old": old.public()})
    elif args.command == "migrate":
        document = session.client("secretsmanager", endpoint_url=endpoint).get_secret_value(
            SecretId=args.from_secret)["SecretString"]
        legacy = parse_records(document)
        copied = [r.key_id for r in legacy.values() if store.put(r)]  # a key already there is left as it is
        print_json({"migrated": len(copied), "already_there": len(legacy) - len(copied)})


def add_parser(commands: Any) -> None:
    keys = commands.add_parser("keys", help="manage tenant API keys", description=__doc__)
    where = argparse.ArgumentParser(add_help=False, parents=[where_parser()])
    where.add_argument("--table", help="the keys table (or its stack's KeysTableName output)")
    actions = keys.add_subparsers(dest="command", required=True)
    create = actions.add_parser("create", parents=[where], help="create a key (printed once)")
    create.add_argument("--tenant", required=True)
    create.add_argument("--label")
    create.add_argument("--expires-in-days", type=int)
    create.add_argument("--rpm", type=int, help="requests per minute (overrides the default)")
    create.add_argument("--rpd", type=int, help="requests per day")
    create.add_argument("--tpm", type=int, help="tokens per minute")
    create.add_argument("--models", help="comma-separated model aliases this key may use (default: all)")
    create.add_argument("--guardrail-profile", choices=sorted(GUARDRAIL_PROFILES),
                        help="how strict the guardrail is for this key (default: the route's, else standard)")
    create.add_argument("--budget-day-usd", type=float, help="this key's daily budget in USD")
    create.add_argument("--budget-month-usd", type=float, help="this key's monthly budget in USD")
    create.add_argument("--admin", action="store_true", help="may read every tenant's usage")
    budget = actions.add_parser("budget", parents=[where], help="set a key's or a tenant's USD budgets",
                                description="A tenant's budgets are shared by all its keys (and taken on by new "
                                            "ones); 'none' lifts a limit.")
    budget.add_argument("key_id", nargs="?")
    budget.add_argument("--tenant")
    budget.add_argument("--day-usd", help="per UTC day, in USD (or 'none')")
    budget.add_argument("--month-usd", help="per UTC month, in USD (or 'none')")
    listing = actions.add_parser("list", parents=[where], help="list keys (never the keys themselves)")
    listing.add_argument("--tenant")
    revoke = actions.add_parser("revoke", parents=[where], help="revoke a key at once")
    revoke.add_argument("key_id")
    rotate = actions.add_parser("rotate", parents=[where], help="replace a key, the old one valid for an overlap")
    rotate.add_argument("key_id")
    rotate.add_argument("--overlap-hours", type=float, default=24.0)
    migrate = actions.add_parser("migrate", parents=[where], help="copy the keys of an earlier version's secret")
    migrate.add_argument("--from-secret", required=True, help="the Secrets Manager keys document (name or ARN)")
    keys.set_defaults(run=run)
