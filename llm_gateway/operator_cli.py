"""What the operator commands share: finding a deployed (or ``make dev``) gateway's resources.

A resource is named directly (``--secret-id``, ``--table``), by a deployed stack's output
(``--stack``), or, with ``--local``, from the state file ``make dev`` writes.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import boto3

LOCAL_STATE = Path(".llm-gateway-local.json")


def where_parser() -> argparse.ArgumentParser:
    where = argparse.ArgumentParser(add_help=False)
    where.add_argument("--stack", help="a deployed gateway stack, whose outputs name its resources")
    where.add_argument("--local", action="store_true", help="the gateway `make dev` is running")
    where.add_argument("--region", help="AWS region (default: your AWS configuration)")
    where.add_argument("--endpoint-url", help="an AWS endpoint override")
    return where


def locate(args: argparse.Namespace, named: str | None, *, output: str, state: str,
           flag: str) -> tuple[Any, str | None, str]:
    """(boto3 session, endpoint override, resource id) for the resource ``named`` directly, else
    by the stack's ``output``, else by the local state file's ``state`` entry."""
    endpoint = args.endpoint_url
    if args.local:
        if not LOCAL_STATE.exists():
            raise SystemExit(f"{LOCAL_STATE} not found: start the local gateway with `make dev` first")
        local = json.loads(LOCAL_STATE.read_text())
        endpoint, named = local["aws_endpoint"], named or local.get(state)
        session = boto3.session.Session(region_name="us-east-1", aws_access_key_id="local",
                                        aws_secret_access_key="local")  # the emulator checks no signature
    else:
        session = boto3.session.Session(region_name=args.region)
    if args.stack and not named:
        outputs = session.client("cloudformation", endpoint_url=endpoint).describe_stacks(
            StackName=args.stack)["Stacks"][0].get("Outputs", [])
        named = next((o["OutputValue"] for o in outputs if o["OutputKey"] == output), None)
        if not named:
            raise SystemExit(f"stack {args.stack} has no {output} output")
    if not named:
        raise SystemExit(f"name it: {flag}, --stack or --local")
    return session, endpoint, named


def print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, sort_keys=True))
