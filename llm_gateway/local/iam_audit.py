"""Each function's AWS calls against its execution role, as the synthesized template grants it.

moto does not enforce IAM, so a function whose code calls an API its role was never granted passes
every local test and is denied on AWS. The local runner gives each function its own access key
(``access_key``); the emulator, auditing (``AUDIT_ENV``), records each caller with the IAM actions
and resources its calls needed (``needs``); ``denied`` then checks them against the role's
statements. DynamoDB authorizes a transaction by its items' own actions, and a batch by its
tables, as IAM does; conditions are not evaluated (a call they would deny is not caught).
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Callable, Iterable
from typing import Any

AUDIT_ENV = "LOCAL_EMULATOR_AUDIT_IAM"
KEY_PREFIX = "LOCALFN"
CREDENTIAL = re.compile(r"Credential=([^/]+)/")
# The emulator's service names (JSON protocols' target prefixes, signing names) -> IAM's.
SERVICES = {"DynamoDB": "dynamodb", "AmazonSQS": "sqs", "AWSEvents": "events", "secretsmanager": "secretsmanager",
            "s3vectors": "s3vectors", "Logs": "logs"}
SQS_BATCH_ACTIONS = {"SendMessageBatch": "SendMessage", "DeleteMessageBatch": "DeleteMessage",
                     "ChangeMessageVisibilityBatch": "ChangeMessageVisibility"}  # IAM has no batch actions
TRANSACTION_ACTIONS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                       "ConditionCheck": "ConditionCheckItem"}


def access_key(function_logical_id: str) -> str:
    """The access key the runner gives a function, so that its calls name it."""
    return f"{KEY_PREFIX}{function_logical_id}"


def caller_of(environ: dict[str, Any]) -> str:
    match = CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
    return match.group(1) if match else ""


def needs(operation: str, body: bytes, region: str, account: str) -> list[tuple[str, str]]:
    """The (IAM action, resource ARN) pairs an AWS call is authorized on; ``operation`` as the
    emulator names it (``DynamoDB.Query``)."""
    service, _, name = operation.partition(".")
    prefix = SERVICES.get(service, service.lower())
    try:
        request = json.loads(body) if body else {}
    except ValueError:
        request = {}
    arn = f"arn:aws:{prefix}:{region}:{account}"
    if prefix == "dynamodb":
        return list(_dynamodb(name, request, arn))
    if prefix == "sqs" and "QueueUrl" in request:
        queue = request["QueueUrl"].rstrip("/").rsplit("/", 1)[-1]
        return [(f"sqs:{SQS_BATCH_ACTIONS.get(name, name)}", f"{arn}:{queue}")]
    if prefix == "events" and name == "PutEvents":
        buses = {entry.get("EventBusName") or "default" for entry in request.get("Entries", [])}
        return [("events:PutEvents", bus if bus.startswith("arn:") else f"{arn}:event-bus/{bus}") for bus in buses]
    if prefix == "s3vectors" and ("indexArn" in request or "indexName" in request):
        bucket = request.get("vectorBucketArn") or f"{arn}:bucket/{request.get('vectorBucketName')}"
        return [(f"s3vectors:{name}", request.get("indexArn") or f"{bucket}/index/{request['indexName']}")]
    if prefix == "secretsmanager" and "SecretId" in request:
        return [(f"secretsmanager:{name}", request["SecretId"])]
    return [(f"{prefix}:{name}", "*")]


def _dynamodb(name: str, request: dict[str, Any], arn: str) -> Iterable[tuple[str, str]]:
    def table(name_or_arn: str, index: str | None = None) -> str:
        base = name_or_arn if name_or_arn.startswith("arn:") else f"{arn}:table/{name_or_arn}"
        return f"{base}/index/{index}" if index else base

    if name in ("BatchWriteItem", "BatchGetItem"):
        yield from ((f"dynamodb:{name}", table(t)) for t in request.get("RequestItems", {}))
    elif name in ("TransactWriteItems", "TransactGetItems"):
        for item in request.get("TransactItems", []):
            for kind, detail in item.items():
                yield f"dynamodb:{TRANSACTION_ACTIONS.get(kind, 'GetItem')}", table(detail["TableName"])
    elif "TableName" in request:
        yield f"dynamodb:{name}", table(request["TableName"], request.get("IndexName"))
    else:
        yield f"dynamodb:{name}", "*"


def role_statements(template: dict[str, Any], function_logical_id: str,
                    resolve: Callable[[Any], Any]) -> list[dict[str, Any]]:
    """The Allow statements of a function's execution role: its inline policies and the
    ``AWS::IAM::Policy`` resources attached to it, their references resolved (what cannot be
    resolved locally matches nothing)."""
    resources = template["Resources"]
    role = resources[function_logical_id]["Properties"].get("Role", {})
    role_id = role.get("Fn::GetAtt", [None])[0] if isinstance(role, dict) else None
    documents = [p["PolicyDocument"] for p in resources.get(role_id, {}).get("Properties", {}).get("Policies", [])]
    documents += [r["Properties"]["PolicyDocument"] for r in resources.values()
                  if r["Type"] == "AWS::IAM::Policy" and {"Ref": role_id} in r["Properties"].get("Roles", [])]
    statements = []
    for document in documents:
        for statement in document.get("Statement", []):
            if statement.get("Effect") != "Allow":
                continue
            found = []
            for resource in _listed(statement.get("Resource", [])):
                try:
                    found.append(str(resolve(resource)))
                except Exception:  # not provisioned locally (a KMS key, a model): matches nothing here
                    continue
            statements.append({"Action": _listed(statement.get("Action", [])), "Resource": found})
    return statements


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def allowed(statements: list[dict[str, Any]], action: str, resource: str) -> bool:
    return any(any(fnmatch.fnmatchcase(action.lower(), str(a).lower()) for a in s["Action"])
               and any(fnmatch.fnmatchcase(resource, r) for r in s["Resource"]) for s in statements)


def denied(audited: Iterable[tuple[str, str, str]], statements_of: dict[str, list[dict[str, Any]]]) -> list[str]:
    """What functions did that their roles do not allow, from (caller's access key, action,
    resource): ``function: action on resource``. A caller that is no function (a test) is skipped."""
    found = set()
    for caller, action, resource in audited:
        function = caller.removeprefix(KEY_PREFIX)
        if function in statements_of and not allowed(statements_of[function], action, resource):
            found.add(f"{function}: {action} on {resource}")
    return sorted(found)
