"""The local cloud: deploy a synthesized stack into moto and run it in-process.

``LocalCloud.deploy`` reads a CloudFormation template produced by ``cdk synth`` (from a
Stack object or a cloud assembly folder), creates the resources moto emulates, registers
the template's Lambda functions with their real handler code and resolved environment,
and wires the template's event source mappings to the local delivery engines. Tests then
write to tables and streams with boto3, call :meth:`LocalCloud.run_until_idle`, and assert
on results and on :attr:`LocalCloud.log`.

Nothing here imports aws_cdk: a Stack is used only through its duck-typed API.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import boto3

from lambda_blueprints.testing import (
    _moto_limits,
    _moto_speedups,
    cognito,
    dynamodb,
    ec2,
    kms,
    route53,
    s3_deployment,
)
from lambda_blueprints.testing._cloudformation import (
    INERT_TYPES,
    DeployedStack,
    Deployment,
    Resource,
    Services,
    deployed_types,
)
from lambda_blueprints.testing._core import ServiceContext
from lambda_blueprints.testing._moto_reads import MotoKinesisReader
from lambda_blueprints.testing.activity import ActivityLog, Invocation, InvokeResult
from lambda_blueprints.testing.apigateway import ApiGateway, HttpResponse
from lambda_blueprints.testing.apigatewayv2 import HttpApis
from lambda_blueprints.testing.clock import Clock
from lambda_blueprints.testing.cloudfront import Distributions
from lambda_blueprints.testing.cognito_sign_in import answer_sign_in
from lambda_blueprints.testing.event_source_mappings import StreamMappings
from lambda_blueprints.testing.eventbridge import EventBridge
from lambda_blueprints.testing.firehose import DeliveryStreams, FirehoseDeliveryStream
from lambda_blueprints.testing.http_server import LocalServer, StageRequest
from lambda_blueprints.testing.iot import IotCore
from lambda_blueprints.testing.kinesis import KinesisReads
from lambda_blueprints.testing.lambda_ import AsyncInvocations, Faults, Lambda, LocalFunction
from lambda_blueprints.testing.s3 import BucketNotifications
from lambda_blueprints.testing.sns import SnsDeliveries
from lambda_blueprints.testing.sqs import QueueMappings, SqsEventSourceMapping
from lambda_blueprints.testing.streams import StreamEventSourceMapping, run_mappings

# Importing a service module registers the resource types it deploys; these have
# nothing else the front needs.
_SERVICE_MODULES = (cognito, dynamodb, ec2, kms, route53, s3_deployment)
#: Resource types the local cloud creates or runs (each registered by its service module).
EMULATED_TYPES = frozenset(deployed_types())

__all__ = [
    "EMULATED_TYPES",
    "INERT_TYPES",
    "DeployedStack",
    "Faults",
    "LocalCloud",
    "LocalFunction",
    "Resource",
]


class LocalCloud:
    """An in-process AWS for tests: moto services plus Lambda delivery with AWS semantics.

    Use it as a context manager; it starts moto's ``mock_aws`` (and fake credentials when
    none are set) and stops them on exit: ``with LocalCloud() as cloud:``, then
    ``cloud.deploy(stack)``, write to the deployed resources with boto3, and
    ``cloud.run_until_idle()`` before asserting on the results.

    Args:
        region: The region of every resource.
        account_id: The account id in ARNs.
        clock: The clock that batching windows, tumbling windows and record ages follow.
            Defaults to a clock frozen at the current time.
        strict_imports: A function may import only what Lambda would give it: its code,
            its layers (the library's runtime layer from its asset; the Powertools layer
            stood in by the installed package) and the Python runtime's standard library and
            AWS SDK. Anything else fails: at load as Lambda's ``Runtime.ImportModuleError``
            with the module named, later as ``ModuleNotFoundError``. Defaults to True; False
            lets functions import anything your test environment has.
    """

    def __init__(
        self,
        *,
        region: str = "us-east-1",
        account_id: str = "123456789012",
        clock: Clock | None = None,
        strict_imports: bool = True,
    ) -> None:
        self.region = region
        #: Whether functions may import only what they would have in Lambda.
        self.strict_imports = strict_imports
        self.account_id = account_id
        self.clock = clock or Clock()
        #: Everything delivered: invocations, checkpoints, failure records.
        self.log = ActivityLog()
        #: Faults to inject into invocations; a function may be named any way it is found.
        self.faults = Faults(resolve=lambda name: self._lambda.function(name).name)
        #: Functions by physical name.
        self.functions: dict[str, LocalFunction] = {}
        self._stacks: dict[str, DeployedStack] = {}
        self._lambda = Lambda(
            region=region,
            account_id=account_id,
            faults=self.faults,
            functions=self.functions,
            stacks=self._stacks,
            strict_imports=lambda: self.strict_imports,
        )
        #: Layers deployed here, by version ARN: the folder holding their content.
        self.layers: dict[str, Path] = self._lambda.layers
        self._context = ServiceContext(
            region=region,
            account_id=account_id,
            clock=self.clock,
            log=self.log,
            client=self.client,
            invoke=self._lambda.invoke,
            function=self._lambda.function,
        )
        self._async_invocations = AsyncInvocations(
            invoke=self._lambda.invoke,
            log=self.log,
            clock=self.clock,
            send=self._context.send_message,
        )
        #: Stream event source mappings by UUID.
        self.stream_mappings: dict[str, StreamEventSourceMapping] = StreamMappings()
        #: SQS event source mappings by UUID.
        self.queue_mappings: dict[str, SqsEventSourceMapping] = QueueMappings()
        #: Resources that were not emulated, as ``(stack, logical id, type)``.
        self.skipped: list[tuple[str, str, str]] = []
        #: EventBridge buses, rules and targets; send events with :meth:`put_events`.
        self.events = EventBridge(
            invoke=self._lambda.invoke,
            log=self.log,
            clock=self.clock,
            send=self._context.send_message,
            account=account_id,
            region=region,
            async_invocations=self._async_invocations,
        )
        #: Firehose delivery streams by name; send records with :meth:`put_firehose_records`.
        self.delivery_streams: dict[str, FirehoseDeliveryStream] = DeliveryStreams()
        #: Buckets whose new objects go to EventBridge, SQS or SNS as S3 notifications.
        self.bucket_notifications = BucketNotifications(
            client=lambda: self.client("s3"),
            put_events=self.events.put_events,
            send=self._context.send_message,
            clock=self.clock,
            account=account_id,
            region=region,
        )
        #: AWS IoT Core topic rules; publish with :meth:`iot_publish`.
        self.iot = IotCore(
            self._context,
            async_invocations=self._async_invocations,
            firehose=lambda: getattr(self, "put_firehose_records", None),
        )
        #: Failures to inject into IoT rule actions: ``iot_faults.fail(rule, "Kinesis")``.
        self.iot_faults = self.iot.faults
        #: Every IoT rule execution (:class:`~lambda_blueprints.testing.iot.IotRuleRun`).
        self.iot_rule_runs = self.iot.runs
        #: API Gateway REST APIs; send requests with :meth:`http`.
        self.apigateway = ApiGateway(self._context)
        #: API Gateway HTTP APIs (v2); send requests with :meth:`http_api`.
        self.http_apis = HttpApis(self._context)
        #: CloudFront distributions; serve one with :meth:`serve_distribution`.
        self.cloudfront = Distributions(self._context, self.apigateway.request)
        #: SNS subscriptions of functions, delivered by :meth:`run_until_idle`.
        self.sns = SnsDeliveries(self._context, async_invocations=self._async_invocations)
        self._ec2_states = ec2.InstanceStateChanges(
            self.clock, client=lambda: self.client("ec2"), region=region, account=account_id
        )
        # Servers of serve() still open, and the lock they answer requests under.
        self._servers: list[LocalServer] = []
        self._serve_lock = threading.Lock()
        self._mock: Any = None
        self._restore_moto: Callable[[], None] = lambda: None
        # Kinesis records fetched once per shard and shared by every reader of the stream.
        self._kinesis_reads: dict[str, Any] = {}
        # The mappings' and Firehose's Kinesis reads, served by moto's models directly.
        self._kinesis_reader = MotoKinesisReader(account_id, region)
        self._saved_env: dict[str, str | None] = {}
        # What deployments deploy into: each service module finds its own by class.
        self._services = Services(
            self._lambda,
            self._async_invocations,
            self.stream_mappings,
            self.queue_mappings,
            self.events,
            self.delivery_streams,
            self.bucket_notifications,
            self.iot,
            self.apigateway,
            self.http_apis,
            self.cloudfront,
            self.sns,
            KinesisReads(self._kinesis_reader, self._kinesis_reads),
        )

    # -- lifecycle -----------------------------------------------------------------------

    def __enter__(self) -> LocalCloud:
        from moto import mock_aws

        defaults = {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        }
        for name, value in defaults.items():
            if name not in os.environ or name in ("AWS_DEFAULT_REGION", "AWS_REGION"):
                self._saved_env[name] = os.environ.get(name)
                os.environ[name] = value
        self._mock = mock_aws()
        self._mock.start()
        restore_speedups = _moto_speedups.apply()
        restore_limits = _moto_limits.apply()

        def restore() -> None:
            restore_limits()
            restore_speedups()

        self._restore_moto = restore
        return self

    def __exit__(self, *exc: object) -> None:
        servers, self._servers = self._servers, []
        for server in servers:
            server.close()
        if self._mock is not None:
            self._mock.stop()
            self._mock = None
            self._restore_moto()
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env.clear()

    def client(self, service: str) -> Any:
        """A boto3 client of the local cloud's region."""
        return boto3.client(service, region_name=self.region)  # type: ignore[call-overload]

    # -- deploy ----------------------------------------------------------------------------

    def deploy(
        self,
        stack: Any = None,
        *,
        assembly_dir: str | Path | None = None,
        stack_name: str | None = None,
    ) -> DeployedStack:
        """Deploy a stack: a CDK ``Stack`` object, or ``stack_name`` from ``assembly_dir``.

        Args:
            stack: A ``aws_cdk.Stack``; its app is synthesized to read the template.
            assembly_dir: A cloud assembly folder (``cdk.out``), with ``stack_name``.
            stack_name: The stack's artifact id in the assembly.

        Returns:
            The deployed stack, to look up physical ids.
        """
        if self._mock is None:
            raise RuntimeError("use the LocalCloud as a context manager: with LocalCloud() as c:")
        paths: dict[str, str] = {}
        if stack is not None:
            assembly = stack.node.root.synth()
            directory = Path(assembly.directory)
            artifact = stack.artifact_id
            # Construct paths from the tree: templates carry them only when the CLI synths.
            paths = {
                stack.get_logical_id(child): child.node.path
                for child in stack.node.find_all()
                if hasattr(child, "cfn_resource_type")
            }
        elif assembly_dir is not None and stack_name is not None:
            directory, artifact = Path(assembly_dir), stack_name
        else:
            raise ValueError("deploy() needs a Stack, or assembly_dir and stack_name")
        manifest = json.loads((directory / "manifest.json").read_text())
        properties = manifest["artifacts"][artifact]["properties"]
        template = json.loads((directory / properties["templateFile"]).read_text())
        name = properties.get("stackName", artifact)
        deployed = _Deployment(self, name, template, directory, paths).run()
        self._stacks[name] = deployed
        return deployed

    # -- delivery --------------------------------------------------------------------------

    def run_until_idle(self, *, advance_clock: bool = True, max_rounds: int = 1000) -> None:
        """Deliver everything that is due, advancing the clock to pending deadlines.

        Streams, queues, SNS subscriptions of functions, Firehose streams and S3
        notifications are served in turns until none has anything left, since a function
        fed by one may write to another. When a turn finds nothing to do, the clock jumps
        to the next Firehose buffering deadline.

        Raises:
            RuntimeError: When a mapping stalls (a batch that never succeeds nor expires),
                or work remains after ``max_rounds`` turns.
        """
        # Served requests (serve(), serve_distribution()) wait while deliveries run.
        with self._serve_lock:
            self._run_until_idle(advance_clock=advance_clock, max_rounds=max_rounds)

    def _run_until_idle(self, *, advance_clock: bool, max_rounds: int) -> None:
        for _ in range(max_rounds):
            before = len(self.log.entries)
            run_mappings(self.stream_mappings.values(), self.clock, advance_clock=advance_clock)
            for mapping in self.queue_mappings.values():
                if advance_clock:
                    mapping.run_until_empty()
                else:
                    while mapping.poll():
                        pass
            # What was published to topics with function subscriptions waits in their
            # internal queues.
            moved = self.sns.deliver()
            if self._deliver_to_s3() or moved or len(self.log.entries) != before:
                continue
            if not (advance_clock and self._advance_to_firehose_deadline()):
                return
        raise RuntimeError(f"the local cloud was still busy after {max_rounds} turns")

    def _deliver_to_s3(self) -> bool:
        """Flush the Firehose buffers that are due, then announce new objects."""
        moved = False
        for delivery_stream in self.delivery_streams.values():
            moved |= delivery_stream.poll()
        return self.bucket_notifications.scan() or moved

    def _advance_to_firehose_deadline(self) -> bool:
        deadlines = [
            deadline
            for delivery_stream in self.delivery_streams.values()
            if (deadline := delivery_stream.next_deadline()) is not None
        ]
        # A deadline already passed would have been flushed: only a later one can help.
        if not deadlines or min(deadlines) <= self.clock.now():
            return False
        self.clock.advance_to(min(deadlines))
        return True

    def put_firehose_records(
        self,
        delivery_stream_name: str,
        records: Sequence[bytes | str | Mapping[str, Any]],
    ) -> None:
        """Send records to a ``DirectPut`` Firehose stream, as ``PutRecordBatch`` does.

        They wait in the stream's buffer; :meth:`run_until_idle` delivers them when the
        buffering hints say so, :meth:`flush_firehose` at once.

        Args:
            delivery_stream_name: The stream's name, ARN or logical id.
            records: Bytes as they are, text as UTF-8, mappings as compact JSON.
        """
        self._delivery_stream(delivery_stream_name).put_records(records)

    def flush_firehose(self, name: str | None = None) -> None:
        """Deliver what Firehose streams have buffered now, due or not.

        Objects are announced (S3 notifications) by the next :meth:`run_until_idle`.

        Args:
            name: One stream's name, ARN or logical id; every stream when None.
        """
        targets = (
            [self._delivery_stream(name)] if name is not None else self.delivery_streams.values()
        )
        for delivery_stream in targets:
            delivery_stream.flush()

    def _delivery_stream(self, name_or_arn: str) -> FirehoseDeliveryStream:
        name = name_or_arn.rsplit("deliverystream/", 1)[-1]
        if name in self.delivery_streams:
            return self.delivery_streams[name]
        for stack in self._stacks.values():
            try:
                resource = stack.resource(name)
            except KeyError:
                continue
            if resource.ref in self.delivery_streams:
                return self.delivery_streams[resource.ref]
        raise KeyError(f"no Firehose delivery stream {name_or_arn!r} is deployed")

    def put_events(self, entries: Sequence[Mapping[str, Any]]) -> list[str]:
        """Send events to EventBridge (``PutEvents`` entries or whole events); return ids.

        Matching rules deliver at once: Lambda targets as asynchronous invocations with the
        function's retry settings, SQS and SNS targets as messages.
        """
        return self.events.put_events(entries)

    def ec2_state_changes(self) -> list[dict[str, Any]]:
        """The EC2 state-change events since the last call, in order; not delivered.

        Send them with :meth:`put_events`. See
        :class:`~lambda_blueprints.testing.ec2.InstanceStateChanges`.
        """
        return self._ec2_states.collect()

    def iot_publish(
        self,
        topic: str,
        payload: bytes | str | Mapping[str, Any],
        *,
        qos: int = 0,
        client_id: str = "n/a",
    ) -> None:
        """Publish an MQTT message as a device would; matching IoT rules run at once.

        See :mod:`lambda_blueprints.testing.iot` for the rule SQL and actions emulated.

        Args:
            topic: The topic, without wildcards.
            payload: Bytes as they are, text as UTF-8, a mapping as JSON.
            qos: The MQTT quality of service, 0 or 1.
            client_id: What the rules' ``clientid()`` returns.

        Raises:
            MessageTooLargeError: The payload is over IoT Core's 128 KB
                (:class:`~lambda_blueprints.testing.iot.MessageTooLargeError`, a ValueError).
            ValueError: A topic with wildcards, or ``qos`` other than 0 or 1.
        """
        self.iot.publish(topic, payload, qos=qos, client_id=client_id)

    def iot_messages(self, topic_filter: str = "#") -> list[tuple[str, bytes]]:
        """Messages published to IoT Core whose topic matches the MQTT ``topic_filter``.

        In order: those of :meth:`iot_publish`, of Republish actions and of handlers that
        call boto3's ``iot-data`` ``publish`` (which needs no endpoint URL under moto).
        """
        return self.iot.messages(topic_filter)

    def http(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str | Sequence[str]] | None = None,
        headers: Mapping[str, str] | None = None,
        body: str | bytes | None = None,
        api: str | None = None,
        stage: str | None = None,
    ) -> HttpResponse:
        """Send an HTTP request to a deployed API Gateway REST API stage.

        See :mod:`lambda_blueprints.testing.apigateway` for the routing, integrations and
        gateway responses emulated. Cognito user pool authorizers read their token's claims
        (not its signature); IAM and Lambda authorizers are not enforced.

        Args:
            method: The HTTP method.
            path: The path after the stage (``/items/42``), optionally with ``?query``.
            query: Query string parameters, each one value or several.
            headers: Request headers.
            body: The request body.
            api: The API's id, name or logical id; needed when several are deployed.
            stage: The stage name; needed when the API has several.
        """
        # One request at a time, with those the servers of serve() answer.
        with self._serve_lock:
            return self.apigateway.request(
                method, path, query=query, headers=headers, body=body, api=api, stage=stage
            )

    def http_api(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str | Sequence[str]] | None = None,
        headers: Mapping[str, str] | None = None,
        body: str | bytes | None = None,
        api: str | None = None,
        stage: str | None = None,
    ) -> HttpResponse:
        """Send an HTTP request to a deployed API Gateway HTTP API (v2) stage.

        See :mod:`lambda_blueprints.testing.apigatewayv2` for the routing, JWT
        authorizers and Lambda payloads emulated.

        Args:
            method: The HTTP method.
            path: The path after the stage (from the root for ``$default``), optionally
                with ``?query``.
            query: Query string parameters, each one value or several.
            headers: Request headers; ``Cookie`` becomes the event's ``cookies``.
            body: The request body.
            api: The API's id, name or logical id; needed when several are deployed.
            stage: The stage name; by default ``$default`` or the API's only stage.
        """
        with self._serve_lock:
            return self.http_apis.request(
                method, path, query=query, headers=headers, body=body, api=api, stage=stage
            )

    def serve_http_api(self, api: str | None = None, *, port: int = 0) -> LocalServer:
        """Serve a deployed HTTP API over HTTP on ``127.0.0.1``, as its invoke URL would.

        ``http://127.0.0.1:{port}/{path}`` answers as
        ``https://{id}.execute-api.{region}.amazonaws.com/{path}``: a first segment naming
        a stage goes to that stage, every other path to ``$default``.

        Raises:
            RuntimeError: The cloud is not entered.
            ValueError: No API matches ``api``, or several do.
        """
        if self._mock is None:
            raise RuntimeError("use the LocalCloud as a context manager: with LocalCloud() as c:")
        root = self.http_apis.url_request(api)
        self._servers = [server for server in self._servers if not server.closed]
        server = LocalServer({}, port=port, lock=self._serve_lock, root=root)
        self._servers.append(server)
        return server

    def serve(self, api: str | None = None, *, port: int = 0) -> LocalServer:
        """Serve a deployed REST API over HTTP on ``127.0.0.1``, as its invoke URLs would.

        ``http://127.0.0.1:{port}/{stage}/{path}`` answers as the stage's invoke URL
        (``https://{id}.execute-api.{region}.amazonaws.com/{stage}/{path}``) would, through
        :meth:`http`; a first path segment that is not a stage of the API is ``403
        {"message":"Forbidden"}``. Requests are answered one at a time, and an exception
        raised while answering one (such as ``NotImplementedError``) is a ``500`` kept in
        the server's ``errors``. See :mod:`lambda_blueprints.testing.http_server`.

        Use the server as a context manager (``with cloud.serve() as server:``) or close it
        with ``server.close()``; leaving the cloud's ``with`` block closes it too.

        Args:
            api: The API's id, name or logical id; needed when several are deployed.
            port: The port to listen on; 0 (the default) picks a free one.

        Returns:
            The running server: ``url``, ``port``, ``stage_url(stage)``, ``errors``.

        Raises:
            RuntimeError: The cloud is not entered (use it as a context manager).
            ValueError: No API matches ``api``, or several do.
            OSError: The port cannot be bound.
        """
        if self._mock is None:
            raise RuntimeError("use the LocalCloud as a context manager: with LocalCloud() as c:")
        rest_api = self.apigateway.find_api(api)
        stages = {name: self._stage_request(rest_api.id, name) for name in rest_api.stages}
        self._servers = [server for server in self._servers if not server.closed]
        server = LocalServer(stages, port=port, lock=self._serve_lock)
        self._servers.append(server)
        return server

    def serve_distribution(
        self, distribution: str | None = None, *, port: int = 0, sign_in_path: str | None = None
    ) -> LocalServer:
        """Serve a deployed CloudFront distribution over HTTP on ``127.0.0.1``.

        ``http://127.0.0.1:{port}/{path}`` answers as ``https://{domain}/{path}`` would:
        the path's cache behavior picks the origin, an S3 bucket (its objects, in moto) or a
        REST API (through the local API Gateway), and the behavior's response headers
        policy adds its headers. See :mod:`lambda_blueprints.testing.cloudfront`. Requests
        are answered one at a time, as with :meth:`serve`.

        Args:
            distribution: The distribution's id, domain name or logical id; needed when
                several are deployed.
            port: The port to listen on; 0 (the default) picks a free one.
            sign_in_path: A path (``/local-cognito``) where ``POST`` answers Cognito's
                sign-in API from the user pools in moto
                (:mod:`lambda_blueprints.testing.cognito_sign_in`), for a page whose
                Cognito endpoint is set to it. None (the default) serves the
                distribution only.

        Returns:
            The running server (``url``, ``errors``, ``close()``).

        Raises:
            RuntimeError: The cloud is not entered.
            ValueError: No distribution matches, or several do.
        """
        if self._mock is None:
            raise RuntimeError("use the LocalCloud as a context manager: with LocalCloud() as c:")
        found = self.cloudfront.find(distribution)

        def request(
            method: str,
            path: str,
            *,
            query: Mapping[str, Sequence[str]] | None = None,
            headers: Mapping[str, str] | None = None,
            body: bytes | None = None,
        ) -> HttpResponse:
            if sign_in_path is not None and path == sign_in_path and method == "POST":
                return answer_sign_in(self.client, headers or {}, body)
            return self.cloudfront.request(
                found, method, path, query=query, headers=headers, body=body
            )

        self._servers = [server for server in self._servers if not server.closed]
        server = LocalServer({}, port=port, lock=self._serve_lock, root=request)
        self._servers.append(server)
        return server

    def _stage_request(self, api_id: str, stage: str) -> StageRequest:
        """``ApiGateway.request`` bound to one API and stage."""

        def request(
            method: str,
            path: str,
            *,
            query: Mapping[str, Sequence[str]] | None = None,
            headers: Mapping[str, str] | None = None,
            body: bytes | None = None,
        ) -> HttpResponse:
            return self.apigateway.request(
                method, path, query=query, headers=headers, body=body, api=api_id, stage=stage
            )

        return request

    def invoke(self, function_name: str, event: dict[str, Any]) -> InvokeResult:
        """Invoke a function synchronously, as ``lambda:Invoke`` with ``RequestResponse``.

        Function errors are reported in the result, never raised; the invocation is logged
        with source ``direct``.
        """
        result = self._lambda.invoke(function_name, event)
        self.log.add(
            Invocation(
                source="direct",
                mapping_id="",
                function=self._lambda.function(function_name).name,
                items=(),
                event=event,
                result=result,
                outcome="success" if result.ok else "failure",
                at=self.clock.now(),
            )
        )
        return result


class _Deployment(Deployment):
    """A deployment into a local cloud's services."""

    def __init__(
        self,
        cloud: LocalCloud,
        stack_name: str,
        template: dict[str, Any],
        directory: Path,
        paths: Mapping[str, str],
    ) -> None:
        super().__init__(
            cloud._context,
            cloud._services,
            stack_name,
            template,
            directory,
            paths,
            skipped=cloud.skipped,
        )
