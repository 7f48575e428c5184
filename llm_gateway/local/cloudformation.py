"""Just enough CloudFormation to stand a synthesized template up on the emulator.

Resources are created from the template itself, so the local stack cannot drift from the deployed
one: tables with their keys, indexes and TTL, queues with their redrive policies, the bus, its rules
and targets, secrets. The package's functions, authorizers, event source mappings, log
subscriptions and asynchronous invocation settings are recorded for the runner to emulate.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

REGION = "us-east-1"
PACKAGE = "llm_gateway"  # the functions the runner emulates: handlers in this package
ACCOUNT = "123456789012"


def function_arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"


class Unresolved(LookupError):
    """A value depends on something the emulator does not create (e.g. a Bedrock guardrail)."""


@dataclass
class LocalFunction:
    logical_id: str
    name: str
    handler: str
    environment: dict[str, str]
    timeout: int
    memory_size: int
    log_group: str = ""  # LoggingConfig.LogGroup: where its output goes


@dataclass
class LogSubscription:
    """A subscription filter with a function as its destination."""

    name: str
    log_group: str
    function: str  # the destination's logical id
    pattern: str


@dataclass
class AsyncInvokeConfig:
    retries: int = 2  # Lambda's defaults
    on_failure: str = ""  # an SQS queue's ARN, or none


@dataclass
class QueueTrigger:
    function: str  # logical id
    queue_arn: str
    batch_size: int
    report_batch_item_failures: bool
    batching_window: int = 0  # MaximumBatchingWindowInSeconds


@dataclass
class TokenAuthorizer:
    function: str  # logical id
    identity_header: str
    ttl_seconds: int


@dataclass
class GatewayResponse:
    status: int | None
    body: str
    headers: dict[str, str]


@dataclass
class Deployment:
    stack_name: str
    physical: dict[str, str] = field(default_factory=dict)  # logical id -> Ref value
    functions: dict[str, LocalFunction] = field(default_factory=dict)
    triggers: list[QueueTrigger] = field(default_factory=list)
    authorizers: list[TokenAuthorizer] = field(default_factory=list)
    subscriptions: list[LogSubscription] = field(default_factory=list)
    async_configs: dict[str, AsyncInvokeConfig] = field(default_factory=dict)  # by the function's logical id
    gateway_responses: dict[str, GatewayResponse] = field(default_factory=dict)  # by ResponseType
    outputs: dict[str, str] = field(default_factory=dict)


class Provisioner:
    def __init__(self, template: dict[str, Any], stack_name: str, clients: dict[str, Any]) -> None:
        self.template, self.clients = template, clients
        self.deployment = Deployment(stack_name)
        self._attrs: dict[tuple[str, str], str] = {}

    # -- intrinsic functions ------------------------------------------------------------------
    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (fn, arg), = value.items()
            if fn == "Ref":
                return self._ref(arg)
            if fn == "Fn::GetAtt":
                logical, attr = arg if isinstance(arg, list) else arg.split(".", 1)
                if (logical, attr) not in self._attrs:
                    raise Unresolved(f"{logical}.{attr}")
                return self._attrs[(logical, attr)]
            if fn == "Fn::Join":
                sep, parts = arg
                return sep.join(str(self.resolve(p)) for p in parts)
            if fn == "Fn::Sub":
                text, names = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))
                return re.sub(r"\$\{([^}]+)\}", lambda m: str(
                    names[m.group(1)] if m.group(1) in names else self.resolve(
                        {"Fn::GetAtt": m.group(1).split(".", 1)} if "." in m.group(1) else {"Ref": m.group(1)})),
                    text)
            if fn == "Fn::Select":
                return self.resolve(arg[1])[int(arg[0])]
            if fn == "Fn::Split":
                return str(self.resolve(arg[1])).split(arg[0])
        return {k: self.resolve(v) for k, v in value.items()}

    def _ref(self, name: str) -> str:
        pseudo = {"AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::Partition": "aws",
                  "AWS::URLSuffix": "amazonaws.com", "AWS::StackName": self.deployment.stack_name,
                  "AWS::NoValue": ""}
        if name in pseudo:
            return pseudo[name]
        if name not in self.deployment.physical:
            raise Unresolved(name)
        return self.deployment.physical[name]

    def _arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{resource}"

    def _name(self, logical_id: str, limit: int = 80) -> str:
        return f"{self.deployment.stack_name}-{logical_id}"[:limit]

    # -- resources ----------------------------------------------------------------------------
    def provision(self) -> Deployment:
        pending = dict(self.template["Resources"])
        while pending:
            progressed = False
            for logical_id, resource in list(pending.items()):
                create = getattr(self, "_" + resource["Type"].replace("::", "_"), None)
                try:
                    if create:
                        create(logical_id, resource.get("Properties", {}))
                except Unresolved:
                    continue  # depends on something created later in this pass, or never
                del pending[logical_id]
                progressed = True
            if not progressed:
                break  # what is left depends on resources the emulator does not create
        for name, output in self.template.get("Outputs", {}).items():
            with contextlib.suppress(Unresolved):  # an output of something not emulated
                self.deployment.outputs[name] = str(self.resolve(output["Value"]))
        return self.deployment

    def _AWS_DynamoDB_Table(self, logical_id: str, props: dict[str, Any]) -> None:
        name = props.get("TableName") or self._name(logical_id, 255)
        request: dict[str, Any] = {
            "TableName": name, "KeySchema": props["KeySchema"],
            "AttributeDefinitions": props["AttributeDefinitions"], "BillingMode": "PAY_PER_REQUEST"}
        if props.get("GlobalSecondaryIndexes"):
            request["GlobalSecondaryIndexes"] = [
                {k: v for k, v in gsi.items() if k in ("IndexName", "KeySchema", "Projection")}
                for gsi in props["GlobalSecondaryIndexes"]]
        ddb = self.clients["dynamodb"]
        ddb.create_table(**request)
        ttl = props.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={
                "Enabled": True, "AttributeName": ttl["AttributeName"]})
        self.deployment.physical[logical_id] = name
        self._attrs[(logical_id, "Arn")] = self._arn("dynamodb", f"table/{name}")

    # No AWS::S3Vectors::Index: the gateway creates a missing index on its first ingest at the
    # embedding model's dimension, and locally that model is the stand-in's (384), not the template's.
    def _AWS_S3Vectors_VectorBucket(self, logical_id: str, props: dict[str, Any]) -> None:
        name = props.get("VectorBucketName") or self._name(logical_id, 63).lower()
        self.clients["s3vectors"].create_vector_bucket(vectorBucketName=name)
        arn = self._arn("s3vectors", f"bucket/{name}")
        self.deployment.physical[logical_id] = arn
        self._attrs[(logical_id, "VectorBucketArn")] = arn

    def _AWS_SQS_Queue(self, logical_id: str, props: dict[str, Any]) -> None:
        name = props.get("QueueName") or self._name(logical_id)
        attributes: dict[str, str] = {k: str(props[k]) for k in ("VisibilityTimeout", "MessageRetentionPeriod",
                                                  "DelaySeconds", "ReceiveMessageWaitTimeSeconds")
                      if k in props}
        if "RedrivePolicy" in props:
            attributes["RedrivePolicy"] = json.dumps(self.resolve(props["RedrivePolicy"]))
        url = self.clients["sqs"].create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        self.deployment.physical[logical_id] = url
        self._attrs[(logical_id, "Arn")] = self._arn("sqs", name)
        self._attrs[(logical_id, "QueueName")] = name
        self._attrs[(logical_id, "QueueUrl")] = url

    def _AWS_Events_EventBus(self, logical_id: str, props: dict[str, Any]) -> None:
        name = props.get("Name") or self._name(logical_id, 256)
        arn = self.clients["events"].create_event_bus(Name=name)["EventBusArn"]
        self.deployment.physical[logical_id] = name
        self._attrs[(logical_id, "Arn")] = arn
        self._attrs[(logical_id, "Name")] = name

    def _AWS_Events_Rule(self, logical_id: str, props: dict[str, Any]) -> None:
        bus = self.resolve(props.get("EventBusName", "default"))
        targets = [{"Id": t["Id"], "Arn": self.resolve(t["Arn"])} for t in props.get("Targets", [])]
        name = props.get("Name") or self._name(logical_id, 64)
        events = self.clients["events"]
        # A schedule is kept, not fired: the runner calls scheduled functions only when asked.
        trigger = ({"ScheduleExpression": props["ScheduleExpression"]} if "ScheduleExpression" in props
                   else {"EventPattern": json.dumps(props["EventPattern"])})
        arn = events.put_rule(Name=name, EventBusName=bus, State=props.get("State", "ENABLED"), **trigger)["RuleArn"]
        if targets:
            events.put_targets(Rule=name, EventBusName=bus, Targets=targets)
        self.deployment.physical[logical_id] = name
        self._attrs[(logical_id, "Arn")] = arn

    def _AWS_SecretsManager_Secret(self, logical_id: str, props: dict[str, Any]) -> None:
        name = props.get("Name") or self._name(logical_id, 256)
        request: dict[str, Any] = {"Name": name}
        if "SecretString" in props:
            request["SecretString"] = self.resolve(props["SecretString"])
        arn = self.clients["secretsmanager"].create_secret(**request)["ARN"]
        self.deployment.physical[logical_id] = arn

    def _AWS_Lambda_Function(self, logical_id: str, props: dict[str, Any]) -> None:
        name = props.get("FunctionName") or self._name(logical_id, 64)
        self.deployment.physical[logical_id] = name
        self._attrs[(logical_id, "Arn")] = function_arn(name)
        if not props.get("Handler", "").startswith(PACKAGE):
            return  # CDK's own (the dashboard's upload, bucket clean-up): what it does is the runner's
        environment = {}
        for key, value in props.get("Environment", {}).get("Variables", {}).items():
            with contextlib.suppress(Unresolved):  # e.g. the Bedrock guardrail id: unused locally
                environment[key] = str(self.resolve(value))
        log_group = props.get("LoggingConfig", {}).get("LogGroup")
        self.deployment.functions[logical_id] = LocalFunction(
            logical_id, name, props["Handler"], environment, int(props.get("Timeout", 3)),
            int(props.get("MemorySize", 128)), str(self.resolve(log_group)) if log_group else f"/aws/lambda/{name}")

    def _AWS_Logs_LogGroup(self, logical_id: str, props: dict[str, Any]) -> None:
        name = props.get("LogGroupName") or self._name(logical_id, 512)
        self.deployment.physical[logical_id] = name
        self._attrs[(logical_id, "Arn")] = self._arn("logs", f"log-group:{name}:*")

    def _AWS_Logs_SubscriptionFilter(self, logical_id: str, props: dict[str, Any]) -> None:
        # (one whose destination is not a function of the package stays unresolved: not emulated)
        self.deployment.subscriptions.append(LogSubscription(
            props.get("FilterName") or logical_id, self.resolve(props["LogGroupName"]),
            self._function_logical_id(props["DestinationArn"]), props["FilterPattern"]))

    def _AWS_Lambda_EventInvokeConfig(self, logical_id: str, props: dict[str, Any]) -> None:
        on_failure = props.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        self.deployment.async_configs[self._function_logical_id(props["FunctionName"])] = AsyncInvokeConfig(
            int(props.get("MaximumRetryAttempts", 2)), str(self.resolve(on_failure)) if on_failure else "")

    def _AWS_Lambda_EventSourceMapping(self, logical_id: str, props: dict[str, Any]) -> None:
        function = self._function_logical_id(props["FunctionName"])
        self.deployment.triggers.append(QueueTrigger(
            function, self.resolve(props["EventSourceArn"]), int(props.get("BatchSize", 10)),
            "ReportBatchItemFailures" in props.get("FunctionResponseTypes", []),
            int(props.get("MaximumBatchingWindowInSeconds", 0))))

    def _AWS_ApiGateway_Authorizer(self, logical_id: str, props: dict[str, Any]) -> None:
        if props.get("Type") != "TOKEN":
            return
        uri = json.dumps(props["AuthorizerUri"])
        function = next((k for k in self.deployment.functions if k in uri), None)
        if function is None:
            raise Unresolved(f"authorizer {logical_id}: function")
        source = props.get("IdentitySource", "method.request.header.Authorization")
        self.deployment.authorizers.append(TokenAuthorizer(
            function, source.rsplit(".", 1)[-1], int(props.get("AuthorizerResultTtlInSeconds", 300))))

    def _AWS_ApiGateway_GatewayResponse(self, logical_id: str, props: dict[str, Any]) -> None:
        headers = {k.rsplit(".", 1)[-1]: v.strip("'") for k, v in props.get("ResponseParameters", {}).items()}
        self.deployment.gateway_responses[props["ResponseType"]] = GatewayResponse(
            int(props["StatusCode"]) if props.get("StatusCode") else None,
            props.get("ResponseTemplates", {}).get("application/json", ""), headers)

    def _function_logical_id(self, ref: Any) -> str:
        name = self.resolve(ref)
        for logical_id, function in self.deployment.functions.items():
            if name in (function.name, self._attrs.get((logical_id, "Arn"))):
                return logical_id
        raise Unresolved(f"function {name}")
