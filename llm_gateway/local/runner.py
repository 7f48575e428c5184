"""``LocalGateway``: the synthesized stack, served on loopback with AWS emulated locally (moto, in its own process)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import IO, Any

import boto3
import uvicorn

from llm_gateway.contract import Settings
from llm_gateway.core.tenants import KeyStore
from llm_gateway.core.wiring import default_routes
from llm_gateway.local import iam_audit
from llm_gateway.local.cloudformation import REGION, AsyncInvokeConfig, Deployment, Provisioner, function_arn
from llm_gateway.local.emulator import EmulatorProcess
from llm_gateway.local.lambda_emulation import (
    ApiGateway,
    ExtensionsApi,
    HandlerProcess,
    QueuePoller,
    Sandbox,
    WebAdapterProcess,
)
from llm_gateway.local.log_subscriptions import LogDelivery
from llm_gateway.local.site import PREFIX as DASHBOARD_PATH
from llm_gateway.local.site import LocalSite

# Where the package's code is, as a code asset would hold it: the folder holding ``llm_gateway/``.
TASK_ROOT = Path(__file__).resolve().parents[2]

EMULATED_SERVICES = ("dynamodb", "sqs", "events", "secretsmanager", "cloudwatch", "s3vectors")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def synthesize(app_command: str, context: dict[str, Any], stack: str | None = None,
               cwd: str | Path = ".") -> tuple[str, dict[str, Any]]:
    """Run the CDK app as the CDK CLI does (bundling skipped) and return the gateway stack's template."""
    program, _, rest = app_command.partition(" ")
    if program in ("python", "python3"):  # the interpreter running us, venv and all
        app_command = f"{sys.executable} {rest}"
    with tempfile.TemporaryDirectory(prefix="llm-gateway-synth-") as outdir:
        env = {**os.environ, "CDK_OUTDIR": outdir, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
               "CDK_CONTEXT_JSON": json.dumps({**context, "aws:cdk:bundling-stacks": []})}
        synth = subprocess.run(app_command, shell=True, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True, check=False)
        if synth.returncode:
            raise SystemExit(f"synthesis failed ({app_command}):\n{synth.stderr.strip()[-4000:]}")
        manifest = json.loads((Path(outdir) / "manifest.json").read_text())
        for name, artifact in manifest["artifacts"].items():
            if artifact["type"] != "aws:cloudformation:stack" or (stack and name != stack):
                continue
            template = json.loads((Path(outdir) / artifact["properties"]["templateFile"]).read_text())
            if stack or any("GATEWAY_ASGI_APP" in json.dumps(r) for r in template["Resources"].values()):
                return name, template
    raise SystemExit(f"no stack with a GuardedEndpoint found in {app_command!r} (use --stack)")


def queue_url(queues: dict[str, str], arn: str) -> str:
    """A queue's URL (``queues``: the stack's, by URL) from its ARN."""
    return next(url for url in queues if url.endswith("/" + arn.rsplit(":", 1)[-1]))


class LocalGateway:
    """Start the emulator, create the stack's resources, serve the gateway app, run the pollers and
    the log subscriptions."""

    def __init__(self, template: dict[str, Any], *, stack_name: str = "local", host: str = "127.0.0.1",
                 port: int | None = None, answers_path: str | None = None, retry_delay: int = 1,
                 quiet: bool = False, environment: dict[str, str] | None = None,
                 sandbox: Sandbox | None = None, dev_key: str | None = None, await_records: bool = False,
                 audit_iam: bool = False) -> None:
        self.template, self.stack_name = template, stack_name
        self.audit_iam = audit_iam  # the emulator records what IAM would check: see denied_calls
        self.await_records = await_records  # see WebAdapterProcess: for tests
        self.host, self.port = host, port if port is not None else free_port()
        self.answers_path, self.retry_delay, self.quiet = answers_path, retry_delay, quiet
        self.environment = environment or {}  # extra function environment (tests shorten caches)
        self.sandbox = sandbox or Sandbox(TASK_ROOT)  # the package as installed, or a bundled asset
        self.functions: dict[str, HandlerProcess] = {}  # by logical id
        self._gateway: WebAdapterProcess | None = None
        self._devnull: IO[str] | None = None
        self.aws_endpoint = ""
        self.deployment = Deployment(stack_name)
        self.iam_statements: dict[str, list[dict[str, Any]]] = {}  # each function's role, by logical id
        self.emulator: EmulatorProcess | None = None
        self._server: uvicorn.Server | None = None
        self._pollers: list[QueuePoller] = []
        self._deliveries: list[LogDelivery] = []
        self.keys_table: str | None = None
        self.dev_key: str | None = dev_key  # the dev tenant's key: this one, or a new one

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def environment_of_gateway(self) -> dict[str, str]:
        """The gateway function's environment, as the template gives it."""
        return dict(next(f for f in self.deployment.functions.values() if "GATEWAY_ASGI_APP" in f.environment)
                    .environment)

    @property
    def has_dashboard(self) -> bool:
        """The stack deploys the usage dashboard (a ``UsageDashboard``'s distribution)."""
        return any(r["Type"] == "AWS::CloudFront::Distribution" for r in self.template["Resources"].values())

    @property
    def dashboard_url(self) -> str | None:
        return f"{self.url}{DASHBOARD_PATH}/" if self.has_dashboard else None

    @property
    def aliases(self) -> list[str]:
        """The model aliases the gateway function is configured with."""
        return sorted(default_routes(Settings.from_env(self.environment_of_gateway())))

    def client(self, service: str, *, function: str | None = None) -> Any:
        """A client of the emulator; ``function`` (a logical id): with that function's access key,
        as Lambda calls on a function's behalf with its role (polling its queue, say)."""
        key = ({"aws_access_key_id": iam_audit.access_key(function), "aws_secret_access_key": "local"}
               if function else {})
        return boto3.client(service, endpoint_url=self.aws_endpoint, region_name=REGION, **key)

    def log(self, message: str) -> None:
        if not self.quiet:
            print(f"[local] {message}", file=sys.stderr, flush=True)

    def _start_emulator(self) -> None:
        self.emulator = EmulatorProcess(audit_iam=self.audit_iam).start()  # an empty account, in its own process
        self.aws_endpoint = self.emulator.endpoint
        # The functions reach the emulator through the standard endpoint override, nothing else.
        aws = {"AWS_ENDPOINT_URL": self.aws_endpoint, "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION,
               "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
               "POWERTOOLS_TRACE_DISABLED": "true"}  # no X-Ray daemon here
        os.environ.update(aws)  # and so do tools run from this process (the keys CLI, scripts)
        os.environ.pop("AWS_SESSION_TOKEN", None)
        os.environ.pop("AWS_PROFILE", None)
        if self.quiet and self.sandbox.log is None:
            self._devnull = open(os.devnull, "w")  # noqa: SIM115  # closed in stop()
        self.sandbox = Sandbox(self.sandbox.task_root, self.sandbox.python, self.sandbox.runtime_dir,
                               {**aws, **self.sandbox.aws}, self.sandbox.log or self._devnull)

    def start(self, *, serve: bool = True) -> LocalGateway:
        self.log("starting the AWS emulator...")
        self._start_emulator()
        clients = {service: self.client(service) for service in EMULATED_SERVICES}
        self.log(f"creating the stack's {len(self.template['Resources'])} resources from its template...")
        provisioner = Provisioner(self.template, self.stack_name, clients)
        self.deployment = provisioner.provision()
        self.iam_statements = {logical_id: iam_audit.role_statements(self.template, logical_id, provisioner.resolve)
                               for logical_id in self.deployment.functions}
        overrides = {"LLM_MODE": "local", "GUARDRAIL_BACKEND": "builtin", **self.environment}
        if self.answers_path:
            overrides["LLM_LOCAL_ANSWERS_PATH"] = self.answers_path

        functions = self.deployment.functions
        gateway = next((f for f in functions.values() if "GATEWAY_ASGI_APP" in f.environment), None)
        if gateway is None:
            raise SystemExit("the template has no gateway function (GuardedEndpoint)")
        self.log(f"starting its {len(functions)} functions as Lambda would...")
        # Functions events or requests call start warm; the rest (scheduled ones) on their first call.
        called = ({t.function for t in self.deployment.triggers} | {a.function for a in self.deployment.authorizers}
                  | {s.function for s in self.deployment.subscriptions})

        def own(logical_id: str) -> dict[str, str]:  # its own access key: its calls name it (iam_audit)
            return {**overrides, "AWS_ACCESS_KEY_ID": iam_audit.access_key(logical_id)}

        for logical_id, function in functions.items():
            if function is not gateway:
                self.functions[logical_id] = HandlerProcess(function, self.sandbox, own(logical_id))
        self._gateway = WebAdapterProcess(gateway, self.sandbox, own(gateway.logical_id), port=free_port(),
                                          await_records=self.await_records)
        queues = {self.deployment.physical[k]: k for k, r in self.template["Resources"].items()
                  if r["Type"] == "AWS::SQS::Queue"}
        self._subscribe(queues)
        for logical_id, process in self.functions.items():
            if logical_id in called:
                process.start()
        authorizer = None
        if self.deployment.authorizers:
            spec = self.deployment.authorizers[0]
            self.keys_table = functions[spec.function].environment.get("KEYS_TABLE")
            if self.keys_table:  # a dev tenant to call with (GATEWAY_DEV_KEY fixes its key)
                self.dev_key, _ = KeyStore(self.keys_table, clients["dynamodb"]).create(
                    "t_dev", "dev", key=self.dev_key)
            authorizer = (self.functions[spec.function], spec.identity_header, spec.ttl_seconds)
        self._gateway.start()
        app: Any = ApiGateway(self._gateway, authorizer=authorizer, responses=self.deployment.gateway_responses)
        if self.has_dashboard:
            app = LocalSite(app)

        self._poll(queues)

        self._server = uvicorn.Server(uvicorn.Config(
            app, host=self.host, port=self.port, log_level="warning", access_log=not self.quiet,
            lifespan="on"))
        if serve:
            threading.Thread(target=self._server.run, daemon=True, name="gateway-http").start()
            deadline = time.monotonic() + 10
            while not self._server.started:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the gateway did not start on {self.url}")
                time.sleep(0.02)
        return self

    def _poll(self, queues: dict[str, str]) -> None:
        """The SQS event source mappings."""
        for trigger in self.deployment.triggers:
            poller = QueuePoller(self.client("sqs", function=trigger.function), queue_url(queues, trigger.queue_arn),
                                 trigger.queue_arn, self.functions[trigger.function], batch_size=trigger.batch_size,
                                 report_failures=trigger.report_batch_item_failures, retry_delay=self.retry_delay,
                                 log=self.log, batching_window=trigger.batching_window)
            poller.start()
            self._pollers.append(poller)

    def _subscribe(self, queues: dict[str, str]) -> None:
        """The log groups' subscription filters: each function's output tapped for the deliveries
        to the functions they name, with those functions' asynchronous invocation settings."""
        processes: dict[str, HandlerProcess | WebAdapterProcess] = {**self.functions}
        if self._gateway:
            processes[self._gateway.function.logical_id] = self._gateway
        for subscription in self.deployment.subscriptions:
            destination = self.functions[subscription.function]
            settings = self.deployment.async_configs.get(subscription.function, AsyncInvokeConfig())
            on_failure = None
            if settings.on_failure.startswith("arn:aws:sqs:"):
                url, sqs = queue_url(queues, settings.on_failure), self.client("sqs", function=subscription.function)
                on_failure = partial(lambda sqs, url, body: sqs.send_message(QueueUrl=url, MessageBody=body), sqs, url)
            delivery = LogDelivery(subscription.log_group, subscription.name, subscription.pattern, destination,
                                   function_arn(destination.function.name), retries=settings.retries,
                                   retry_delay=self.retry_delay, on_failure=on_failure, log=self.log)
            for process in processes.values():
                if process.function.log_group == subscription.log_group:
                    process.log_subscriptions.append(delivery)
            delivery.start()
            self._deliveries.append(delivery)

    def serve_forever(self) -> None:
        """Serve in the foreground until Ctrl-C (uvicorn handles the signal)."""
        assert self._server is not None
        try:
            self._server.run()
        except KeyboardInterrupt:  # Ctrl-C, re-raised once uvicorn has shut down: the rest stops below
            pass
        finally:
            self.stop()

    def keys(self) -> KeyStore:
        """The stack's API keys (its TenantAuthorizer's table), on the emulator."""
        if not self.keys_table:
            raise LookupError("the stack has no TenantAuthorizer")
        return KeyStore(self.keys_table, self.client("dynamodb"))

    def function(self, name: str) -> HandlerProcess:
        """A running function by its logical id, or the start of it (``"EvalLoopJudge"``)."""
        return next(f for logical_id, f in self.functions.items() if logical_id.startswith(name))

    @property
    def extensions(self) -> ExtensionsApi | None:
        """The gateway function's Extensions API (what registered with it, what is still open)."""
        return self._gateway.extensions if self._gateway else None

    def denied_calls(self) -> list[str]:
        """The AWS calls a function made that its execution role, as the template grants it, does
        not allow (``audit_iam``; see iam_audit)."""
        if not (self.audit_iam and self.emulator):
            raise RuntimeError("started without audit_iam")
        return iam_audit.denied(self.emulator.audited(), self.iam_statements)

    def settled(self, timeout: float = 30.0) -> bool:
        """Every request so far complete, its records written after the response included."""
        return self._gateway.extensions.settled(timeout) if self._gateway else True

    def stop(self) -> None:
        """Everything ends at once: the emulator's end releases the pollers' long polls."""
        for poller in self._pollers:
            poller.stopping.set()
        for delivery in self._deliveries:
            delivery.stop()
        if self._server:
            self._server.should_exit = True
        processes: list[HandlerProcess | WebAdapterProcess] = [*self.functions.values()]
        if self._gateway:
            processes.append(self._gateway)
        with ThreadPoolExecutor(max_workers=max(1, len(processes))) as pool:
            list(pool.map(lambda process: process.stop(), processes))
        if self.emulator:
            self.emulator.stop()
        for poller in self._pollers:
            poller.join(timeout=5)
        if self._devnull:
            self._devnull.close()

    def __enter__(self) -> LocalGateway:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
