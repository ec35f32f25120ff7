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

import base64
import json
import os
import re
import tempfile
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from lambda_blueprints.testing import _moto_limits, _moto_speedups
from lambda_blueprints.testing._core import ServiceContext
from lambda_blueprints.testing._moto_reads import MotoKinesisReader
from lambda_blueprints.testing.activity import (
    ActivityLog,
    Invocation,
    InvokeResult,
)
from lambda_blueprints.testing.apigateway import APIGATEWAY_TYPES, ApiGateway, HttpResponse
from lambda_blueprints.testing.clock import Clock
from lambda_blueprints.testing.eventbridge import EventBridge, Rule, RuleTarget
from lambda_blueprints.testing.firehose import (
    BucketNotifications,
    FirehoseDeliveryStream,
    delivery_stream_source_and_destination,
)
from lambda_blueprints.testing.iot import IotCore
from lambda_blueprints.testing.lambda_ import (
    AsyncInvocations,
    Faults,
    Lambda,
    LocalFunction,
)
from lambda_blueprints.testing.lambda_imports import POWERTOOLS_LAYER_MARK, ImportScope
from lambda_blueprints.testing.sqs import SqsEventSourceMapping
from lambda_blueprints.testing.streams import (
    DynamoDBStreamSource,
    InvalidParameterValueError,
    KinesisStreamSource,
    StreamEventSourceMapping,
    run_mappings,
)

#: Resource types the local cloud creates or runs.
EMULATED_TYPES = frozenset(
    {
        "AWS::DynamoDB::Table",
        "AWS::DynamoDB::GlobalTable",
        "AWS::SQS::Queue",
        "AWS::SNS::Topic",
        "AWS::SNS::Subscription",
        "AWS::Kinesis::Stream",
        "AWS::Kinesis::StreamConsumer",
        "AWS::S3::Bucket",
        "AWS::Lambda::Function",
        "AWS::Lambda::LayerVersion",
        "AWS::Lambda::EventSourceMapping",
        "AWS::Lambda::EventInvokeConfig",
        "AWS::Events::Rule",
        "AWS::KinesisFirehose::DeliveryStream",
        "Custom::S3BucketNotifications",
        "AWS::IoT::TopicRule",
        *APIGATEWAY_TYPES,
    }
)
#: Resource types that have no behaviour to emulate offline: they get placeholder ids.
INERT_TYPES = frozenset(
    {
        "AWS::CDK::Metadata",
        "AWS::CloudWatch::Alarm",
        "AWS::CloudWatch::Dashboard",
        "AWS::IAM::Role",
        "AWS::IAM::Policy",
        "AWS::IAM::ManagedPolicy",
        "AWS::KMS::Key",
        "AWS::KMS::Alias",
        "AWS::Lambda::Permission",
        "AWS::Logs::LogGroup",
        "AWS::S3::BucketPolicy",
        "AWS::SNS::TopicPolicy",
        "AWS::SQS::QueuePolicy",
    }
)
_PSEUDO_PARTITION = "aws"
_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")
_NO_VALUE = object()


@dataclass
class Resource:
    """One deployed resource: its template entry and what intrinsics resolve to."""

    logical_id: str
    type: str
    path: str
    ref: str
    attributes: dict[str, str] = field(default_factory=dict)
    emulated: bool = True


class DeployedStack:
    """A stack deployed into the local cloud."""

    def __init__(self, name: str, resources: dict[str, Resource], outputs: dict[str, str]) -> None:
        self.name = name
        self.resources = resources
        #: The stack outputs, resolved.
        self.outputs = outputs

    def resource(self, key: str) -> Resource:
        """Find a resource by logical id or by (the end of) its construct path.

        ``stack.resource("UsersAudit/AuditTable")`` finds the resource whose path is
        ``<Stack>/UsersAudit/AuditTable/Resource``.
        """
        if key in self.resources:
            return self.resources[key]
        wanted = key.strip("/")
        matches = [
            r
            for r in self.resources.values()
            if r.path.removesuffix("/Resource").endswith("/" + wanted)
            or r.path.removesuffix("/Resource") == wanted
        ]
        if not matches:
            # No path metadata (an app synthesized outside the CLI): CDK logical ids are the
            # path's components joined, plus an 8-character hash.
            pattern = re.compile(re.escape(wanted.replace("/", "")) + "[0-9A-F]{8}")
            matches = [r for r in self.resources.values() if pattern.fullmatch(r.logical_id)]
        if len(matches) != 1:
            found = ", ".join(sorted(r.path for r in matches)) or "nothing"
            raise KeyError(f"{key!r} matches {found} in stack {self.name}")
        return matches[0]

    def physical_id(self, key: str) -> str:
        """The resource's ``Ref`` value: table or function name, queue URL, topic ARN..."""
        return self.resource(key).ref

    def attribute(self, key: str, name: str) -> str:
        """A ``Fn::GetAtt`` value of the resource, e.g. ``attribute("Users", "StreamArn")``."""
        return self.resource(key).attributes[name]


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
        #: Faults to inject into invocations.
        self.faults = Faults()
        #: Functions by physical name.
        self.functions: dict[str, LocalFunction] = {}
        self._stacks: dict[str, DeployedStack] = {}
        self._lambda = Lambda(
            region=region,
            account_id=account_id,
            faults=self.faults,
            functions=self.functions,
            stacks=self._stacks,
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
        self.stream_mappings: dict[str, StreamEventSourceMapping] = {}
        #: SQS event source mappings by UUID.
        self.queue_mappings: dict[str, SqsEventSourceMapping] = {}
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
        self.delivery_streams: dict[str, FirehoseDeliveryStream] = {}
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
        self._mock: Any = None
        self._restore_moto: Callable[[], None] = lambda: None
        # Kinesis records fetched once per shard and shared by every reader of the stream.
        self._kinesis_reads: dict[tuple[str, str], Any] = {}
        # The mappings' and Firehose's Kinesis reads, served by moto's models directly.
        self._kinesis_reader = MotoKinesisReader(account_id, region)
        self._saved_env: dict[str, str | None] = {}

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

        Streams, queues, Firehose streams and S3 notifications are served in turns until
        none has anything left, since a function fed by one may write to another. When a
        turn finds nothing to do, the clock jumps to the next Firehose buffering deadline.

        Raises:
            RuntimeError: When a mapping stalls (a batch that never succeeds nor expires),
                or work remains after ``max_rounds`` turns.
        """
        for _ in range(max_rounds):
            before = len(self.log.entries)
            run_mappings(self.stream_mappings.values(), self.clock, advance_clock=advance_clock)
            for mapping in self.queue_mappings.values():
                if advance_clock:
                    mapping.run_until_empty()
                else:
                    while mapping.poll():
                        pass
            if self._deliver_to_s3() or len(self.log.entries) != before:
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
        gateway responses emulated; authorization is not enforced.

        Args:
            method: The HTTP method.
            path: The path after the stage (``/items/42``), optionally with ``?query``.
            query: Query string parameters, each one value or several.
            headers: Request headers.
            body: The request body.
            api: The API's id, name or logical id; needed when several are deployed.
            stage: The stage name; needed when the API has several.
        """
        return self.apigateway.request(
            method, path, query=query, headers=headers, body=body, api=api, stage=stage
        )

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


def _text(value: Any) -> str:
    """A resolved value as CloudFormation writes it into a string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class _Deployment:
    """Creates one template's resources, in dependency order."""

    def __init__(
        self,
        cloud: LocalCloud,
        stack_name: str,
        template: dict[str, Any],
        directory: Path,
        paths: Mapping[str, str],
    ) -> None:
        self.cloud = cloud
        self.paths = paths
        self.stack_name = stack_name
        self.template = template
        self.directory = directory
        self.resources: dict[str, Resource] = {}
        self.conditions: dict[str, bool] = {}
        self.assets = self._asset_directories()

    def _asset_directories(self) -> dict[str, Path]:
        found: dict[str, Path] = {}
        for name in self.directory.glob("*.assets.json"):
            for key, asset in json.loads(name.read_text()).get("files", {}).items():
                source = self.directory / asset["source"]["path"]
                for destination in asset.get("destinations", {}).values():
                    found[destination.get("objectKey", f"{key}.zip")] = source
        return found

    def run(self) -> DeployedStack:
        resources = self.template.get("Resources", {})
        for name, condition in self.template.get("Conditions", {}).items():
            self.conditions[name] = bool(self.resolve(condition))
        for logical_id in _dependency_order(resources):
            definition = resources[logical_id]
            if "Condition" in definition and not self.conditions.get(definition["Condition"]):
                continue
            self.resources[logical_id] = self.create(logical_id, definition)
        outputs = {
            name: str(self.resolve(output["Value"]))
            for name, output in self.template.get("Outputs", {}).items()
        }
        return DeployedStack(self.stack_name, self.resources, outputs)

    # -- intrinsics ------------------------------------------------------------------------

    def resolve(self, value: Any) -> Any:
        """Resolve CloudFormation intrinsic functions in ``value``."""
        if isinstance(value, list):
            return [r for v in value if (r := self.resolve(v)) is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref":
                return self._ref(argument)
            if key == "Fn::GetAtt":
                logical_id, attribute = (
                    argument if isinstance(argument, list) else argument.split(".", 1)
                )
                return self._attribute(logical_id, attribute)
            if key == "Fn::Join":
                separator, parts = argument
                return separator.join(_text(p) for p in self.resolve(parts))
            if key == "Fn::Sub":
                return self._sub(argument)
            if key == "Fn::Select":
                index, items = argument
                return self.resolve(items)[int(self.resolve(index))]
            if key == "Fn::Split":
                separator, text = argument
                return str(self.resolve(text)).split(separator)
            if key == "Fn::If":
                condition, when_true, when_false = argument
                return self.resolve(when_true if self.conditions.get(condition) else when_false)
            if key == "Fn::Equals":
                left, right = self.resolve(argument)
                return left == right
            if key == "Fn::Not":
                return not self.resolve(argument[0])
            if key in ("Fn::And", "Fn::Or"):
                values = [bool(self.resolve(v)) for v in argument]
                return all(values) if key == "Fn::And" else any(values)
            if key == "Condition":
                return self.conditions.get(argument, False)
            if key == "Fn::FindInMap":
                name, top, second = (self.resolve(a) for a in argument)
                return self.template["Mappings"][name][top][second]
            if key == "Fn::Base64":
                return base64.b64encode(str(self.resolve(argument)).encode()).decode()
            if key == "Fn::GetAZs":
                return [f"{self.cloud.region}{zone}" for zone in "abc"]
            if key.startswith("Fn::"):
                raise NotImplementedError(
                    f"{key} is not supported by the local cloud (stack {self.stack_name})"
                )
        return {k: r for k, v in value.items() if (r := self.resolve(v)) is not _NO_VALUE}

    def _ref(self, name: str) -> Any:
        pseudo = {
            "AWS::Region": self.cloud.region,
            "AWS::AccountId": self.cloud.account_id,
            "AWS::Partition": _PSEUDO_PARTITION,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": self.stack_name,
            "AWS::StackId": f"arn:aws:cloudformation:{self.cloud.region}:{self.cloud.account_id}:"
            f"stack/{self.stack_name}/local",
            "AWS::NoValue": _NO_VALUE,
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.resources:
            return self.resources[name].ref
        parameter = self.template.get("Parameters", {}).get(name)
        if parameter is not None:
            return parameter.get("Default", "")
        raise KeyError(f"Ref to unknown {name!r} in stack {self.stack_name}")

    def _attribute(self, logical_id: str, attribute: str) -> str:
        resource = self.resources[logical_id]
        if attribute in resource.attributes:
            return resource.attributes[attribute]
        if not resource.emulated:
            # Placeholder for resources that are not emulated (KMS keys, roles, ...).
            return self._arn("local", f"{logical_id}/{attribute}")
        raise KeyError(f"{logical_id} ({resource.type}) has no attribute {attribute!r} locally")

    def _sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        resolved = {k: self.resolve(v) for k, v in variables.items()}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in resolved:
                return str(resolved[name])
            if "." in name:
                logical_id, attribute = name.split(".", 1)
                return self._attribute(logical_id, attribute)
            return str(self._ref(name))

        # ${!Literal} is CloudFormation's escape for a literal ${Literal}.
        return _SUB_VARIABLE.sub(replace, text).replace("${!", "${")

    # -- resources -------------------------------------------------------------------------

    def _name(self, logical_id: str, limit: int = 255) -> str:
        suffix = uuid.uuid4().hex[:12].upper()
        return f"{self.stack_name}-{logical_id}"[: limit - 13] + f"-{suffix}"

    def _arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.cloud.region}:{self.cloud.account_id}:{resource}"

    def create(self, logical_id: str, definition: Mapping[str, Any]) -> Resource:
        kind = definition["Type"]
        path = definition.get("Metadata", {}).get("aws:cdk:path") or self.paths.get(
            logical_id, f"{self.stack_name}/{logical_id}"
        )
        if kind not in EMULATED_TYPES:
            self.cloud.skipped.append((self.stack_name, logical_id, kind))
            return self._placeholder(logical_id, kind, path)
        properties = self.resolve(definition.get("Properties", {}))
        creator = getattr(self, "_create_" + kind.split("::", 1)[1].replace("::", "_").lower())
        resource: Resource = creator(logical_id, properties)
        resource.path = path
        return resource

    def _placeholder(self, logical_id: str, kind: str, path: str) -> Resource:
        """Ids for a resource without local behaviour, shaped like the real ones."""
        if kind == "AWS::IAM::Role":
            name = self._name(logical_id, 64)
            arn = f"arn:aws:iam::{self.cloud.account_id}:role/{name}"
            return Resource(logical_id, kind, path, name, {"Arn": arn, "RoleId": name}, False)
        if kind == "AWS::KMS::Key":
            key_id = str(uuid.uuid4())
            arn = self._arn("kms", f"key/{key_id}")
            return Resource(logical_id, kind, path, key_id, {"Arn": arn, "KeyId": key_id}, False)
        return Resource(logical_id, kind, path, f"{logical_id}-local", emulated=False)

    def _create_dynamodb_table(self, logical_id: str, props: Mapping[str, Any]) -> Resource:
        name = props.get("TableName") or self._name(logical_id)
        request: dict[str, Any] = {
            "TableName": name,
            "KeySchema": props["KeySchema"],
            "AttributeDefinitions": props["AttributeDefinitions"],
        }
        if props.get("BillingMode") == "PAY_PER_REQUEST" or "ProvisionedThroughput" not in props:
            request["BillingMode"] = "PAY_PER_REQUEST"
        else:
            request["ProvisionedThroughput"] = props["ProvisionedThroughput"]
        for index_kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
            if props.get(index_kind):
                request[index_kind] = [
                    {k: v for k, v in index.items() if k != "ContributorInsightsSpecification"}
                    for index in props[index_kind]
                ]
        view = props.get("StreamSpecification", {}).get("StreamViewType")
        if view:
            request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": view}
        dynamodb = self.cloud.client("dynamodb")
        table = dynamodb.create_table(**request)["TableDescription"]
        ttl = props.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            dynamodb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
            )
        attributes = {"Arn": table["TableArn"]}
        if table.get("LatestStreamArn"):
            attributes["StreamArn"] = table["LatestStreamArn"]
        return Resource(logical_id, "AWS::DynamoDB::Table", "", name, attributes)

    def _create_dynamodb_globaltable(self, logical_id: str, props: Mapping[str, Any]) -> Resource:
        resource = self._create_dynamodb_table(logical_id, props)
        resource.type = "AWS::DynamoDB::GlobalTable"
        return resource

    def _create_sqs_queue(self, logical_id: str, props: Mapping[str, Any]) -> Resource:
        fifo = bool(props.get("FifoQueue"))
        name = props.get("QueueName") or self._name(logical_id, 80 - (5 if fifo else 0))
        if fifo and not name.endswith(".fifo"):
            name += ".fifo"
        attributes: dict[str, str] = {}
        for key in (
            "DelaySeconds",
            "MaximumMessageSize",
            "MessageRetentionPeriod",
            "ReceiveMessageWaitTimeSeconds",
            "VisibilityTimeout",
            "FifoQueue",
            "ContentBasedDeduplication",
        ):
            if key in props:
                attributes[key] = (
                    str(props[key]).lower() if isinstance(props[key], bool) else str(props[key])
                )
        if "RedrivePolicy" in props:
            attributes["RedrivePolicy"] = json.dumps(props["RedrivePolicy"])
        url = self.cloud.client("sqs").create_queue(QueueName=name, Attributes=attributes)[
            "QueueUrl"
        ]
        arn = self._arn("sqs", name)
        return Resource(
            logical_id, "AWS::SQS::Queue", "", url, {"Arn": arn, "QueueName": name, "QueueUrl": url}
        )

    def _create_sns_topic(self, logical_id: str, props: Mapping[str, Any]) -> Resource:
        name = props.get("TopicName") or self._name(logical_id, 256)
        attributes = {"FifoTopic": "true"} if props.get("FifoTopic") else {}
        arn = self.cloud.client("sns").create_topic(Name=name, Attributes=attributes)["TopicArn"]
        return Resource(
            logical_id, "AWS::SNS::Topic", "", arn, {"TopicArn": arn, "TopicName": name}
        )

    def _create_sns_subscription(self, logical_id: str, props: Mapping[str, Any]) -> Resource:
        arn = self.cloud.client("sns").subscribe(
            TopicArn=props["TopicArn"],
            Protocol=props["Protocol"],
            Endpoint=props["Endpoint"],
            ReturnSubscriptionArn=True,
        )["SubscriptionArn"]
        return Resource(logical_id, "AWS::SNS::Subscription", "", arn)

    def _create_kinesis_stream(self, logical_id: str, props: Mapping[str, Any]) -> Resource:
        name = props.get("Name") or self._name(logical_id, 128)
        kinesis = self.cloud.client("kinesis")
        kinesis.create_stream(StreamName=name, ShardCount=int(props.get("ShardCount") or 1))
        retention = props.get("RetentionPeriodHours")
        if retention and int(retention) > 24:
            kinesis.increase_stream_retention_period(
                StreamName=name, RetentionPeriodHours=int(retention)
            )
        arn = self._arn("kinesis", f"stream/{name}")
        max_record_size = props.get("MaxRecordSizeInKiB")
        if max_record_size is not None:
            # moto keeps no maximum record size: the local cloud's write checks read this
            # (from moto's stream, whose ARN holds moto's own account).
            summary = kinesis.describe_stream_summary(StreamName=name)
            _moto_limits.set_kinesis_max_record_size(
                summary["StreamDescriptionSummary"]["StreamARN"], int(max_record_size)
            )
        hours = int(retention) if retention else 24
        return Resource(
            logical_id,
            "AWS::Kinesis::Stream",
            "",
            name,
            {"Arn": arn, "RetentionSeconds": str(hours * 3600)},
        )

    def _create_kinesis_streamconsumer(self, logical_id: str, props: Mapping[str, Any]) -> Resource:
        consumer = self.cloud.client("kinesis").register_stream_consumer(
            StreamARN=props["StreamARN"], ConsumerName=props["ConsumerName"]
        )["Consumer"]
        arn = consumer["ConsumerARN"]
        return Resource(
            logical_id,
            "AWS::Kinesis::StreamConsumer",
            "",
            arn,
            {
                "ConsumerARN": arn,
                "ConsumerName": consumer["ConsumerName"],
                "ConsumerStatus": "ACTIVE",
                "StreamARN": props["StreamARN"],
                "ConsumerCreationTimestamp": str(consumer["ConsumerCreationTimestamp"]),
            },
        )

    def _create_s3_bucket(self, logical_id: str, props: Mapping[str, Any]) -> Resource:
        name = props.get("BucketName") or self._name(logical_id, 63).lower()
        s3 = self.cloud.client("s3")
        if self.cloud.region == "us-east-1":
            s3.create_bucket(Bucket=name)
        else:
            s3.create_bucket(
                Bucket=name, CreateBucketConfiguration={"LocationConstraint": self.cloud.region}
            )
        if props.get("NotificationConfiguration"):
            self.cloud.bucket_notifications.watch(name, props["NotificationConfiguration"])
        return Resource(
            logical_id,
            "AWS::S3::Bucket",
            "",
            name,
            {
                "Arn": f"arn:aws:s3:::{name}",
                "DomainName": f"{name}.s3.amazonaws.com",
                "RegionalDomainName": f"{name}.s3.{self.cloud.region}.amazonaws.com",
            },
        )

    def _create_s3bucketnotifications(self, logical_id: str, props: Mapping[str, Any]) -> Resource:
        # CDK's Custom::S3BucketNotifications sets a bucket's notification configuration.
        self.cloud.bucket_notifications.watch(
            str(props["BucketName"]), props.get("NotificationConfiguration")
        )
        return Resource(logical_id, "Custom::S3BucketNotifications", "", f"{logical_id}-local")

    def _create_kinesisfirehose_deliverystream(
        self, logical_id: str, props: Mapping[str, Any]
    ) -> Resource:
        name = props.get("DeliveryStreamName") or self._name(logical_id, 64)
        arn = self._arn("firehose", f"deliverystream/{name}")
        source_arn, destination = delivery_stream_source_and_destination(props)
        if destination.processor is not None:
            self.cloud._lambda.function(
                destination.processor.lambda_arn
            )  # deployed, or KeyError now
        self.cloud.delivery_streams[name] = FirehoseDeliveryStream(
            name=name,
            arn=arn,
            destination=destination,
            s3_client=self.cloud.client("s3"),
            invoke=self.cloud._lambda.invoke,
            log=self.cloud.log,
            clock=self.cloud.clock,
            source=(
                KinesisStreamSource(
                    source_arn,
                    client=self.cloud._kinesis_reader,
                    clock=self.cloud.clock,
                    retention_seconds=self._kinesis_retention(source_arn),
                    shared_reads=self.cloud._kinesis_reads,
                )
                if source_arn is not None
                else None
            ),
        )
        return Resource(logical_id, "AWS::KinesisFirehose::DeliveryStream", "", name, {"Arn": arn})

    def _create_lambda_function(self, logical_id: str, props: Mapping[str, Any]) -> Resource:
        name = props.get("FunctionName") or self._name(logical_id, 64)
        arn = self._arn("lambda", f"function:{name}")
        code = props.get("Code", {})
        code_dir = self.assets.get(str(code.get("S3Key", "")))
        if "ZipFile" in code:
            code_dir = Path(tempfile.mkdtemp(prefix="local-lambda-"))
            (code_dir / "index.py").write_text(code["ZipFile"])
        layer_dirs, unknown, powertools = [], [], False
        for layer in props.get("Layers", []):
            layer_arn = str(layer)
            if layer_arn in self.cloud.layers:
                layer_dirs.append(self.cloud.layers[layer_arn] / "python")
            elif POWERTOOLS_LAYER_MARK in layer_arn:
                powertools = True
            else:
                unknown.append(layer_arn)
        self.cloud.functions[name] = LocalFunction(
            name=name,
            arn=arn,
            handler=props.get("Handler", "index.handler"),
            code_dir=code_dir,
            environment={
                k: str(v) for k, v in props.get("Environment", {}).get("Variables", {}).items()
            },
            timeout=float(props.get("Timeout", 3)),
            memory_size=int(props.get("MemorySize", 128)),
            role_arn=str(props.get("Role", "")),
            import_scope=(
                ImportScope.of(code_dir, layer_dirs, powertools=powertools, unknown_layers=unknown)
                if self.cloud.strict_imports
                else None
            ),
        )
        return Resource(logical_id, "AWS::Lambda::Function", "", name, {"Arn": arn})

    def _create_lambda_layerversion(self, logical_id: str, props: Mapping[str, Any]) -> Resource:
        name = props.get("LayerName") or self._name(logical_id, 64)
        arn = self._arn("lambda", f"layer:{name}:1")
        content = self.assets.get(str(props.get("Content", {}).get("S3Key", "")))
        if content is None:
            raise ValueError(
                f"{logical_id}: the layer's content is not an asset of the assembly; only "
                "layers built from local assets are emulated"
            )
        self.cloud.layers[arn] = content
        return Resource(logical_id, "AWS::Lambda::LayerVersion", "", arn, {"LayerVersionArn": arn})

    def _create_lambda_eventsourcemapping(
        self, logical_id: str, props: Mapping[str, Any]
    ) -> Resource:
        function = self.cloud._lambda.function(str(props["FunctionName"]))
        source_arn = str(props["EventSourceArn"])
        # UNSPECIFIED: an enhanced fan-out mapping delivers the same records as a polling
        # one (pushed rather than polled), with the stream ARN in eventSourceARN.
        source_arn = source_arn.split("/consumer/", 1)[0]
        mapping_id = str(uuid.uuid4())
        service = source_arn.split(":")[2]
        if service == "sqs":
            return self._queue_mapping(logical_id, mapping_id, function, source_arn, props)
        if service not in ("dynamodb", "kinesis"):
            raise NotImplementedError(
                f"{logical_id}: event source mappings from {service} are not emulated"
            )
        if props.get("DestinationConfig", {}).get("OnSuccess"):
            raise InvalidParameterValueError(
                f"{logical_id}: stream event source mappings take only an OnFailure destination"
            )
        destination = props.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        source: Any = (
            DynamoDBStreamSource(
                source_arn, client=self.cloud.client("dynamodbstreams"), clock=self.cloud.clock
            )
            if service == "dynamodb"
            else KinesisStreamSource(
                source_arn,
                client=self.cloud._kinesis_reader,
                role_arn=function.role_arn,
                clock=self.cloud.clock,
                retention_seconds=self._kinesis_retention(source_arn),
                shared_reads=self.cloud._kinesis_reads,
            )
        )
        mapping = StreamEventSourceMapping(
            source=source,
            function_name=function.name,
            function_arn=function.arn,
            invoke=self.cloud._lambda.invoke,
            log=self.cloud.log,
            clock=self.cloud.clock,
            send_failure=lambda arn, body: self.cloud._context.send_failure(arn, body, mapping_id),
            uuid=mapping_id,
            batch_size=int(props.get("BatchSize", 100)),
            maximum_batching_window_seconds=int(props.get("MaximumBatchingWindowInSeconds", 0)),
            starting_position=props.get("StartingPosition", "TRIM_HORIZON"),
            starting_position_timestamp=props.get("StartingPositionTimestamp"),
            bisect_batch_on_function_error=bool(props.get("BisectBatchOnFunctionError", False)),
            report_batch_item_failures="ReportBatchItemFailures"
            in props.get("FunctionResponseTypes", []),
            maximum_retry_attempts=int(props.get("MaximumRetryAttempts", -1)),
            maximum_record_age_seconds=int(props.get("MaximumRecordAgeInSeconds", -1)),
            parallelization_factor=int(props.get("ParallelizationFactor", 1)),
            tumbling_window_seconds=int(props.get("TumblingWindowInSeconds", 0)),
            on_failure_destination=destination,
            record_filter=_record_filter(props.get("FilterCriteria"), service),
            enabled=bool(props.get("Enabled", True)),
        )
        self.cloud.stream_mappings[mapping_id] = mapping
        return Resource(logical_id, "AWS::Lambda::EventSourceMapping", "", mapping_id)

    def _kinesis_retention(self, stream_arn: str) -> float:
        for resource in self.resources.values():
            if resource.attributes.get("Arn") == stream_arn and "RetentionSeconds" in (
                resource.attributes
            ):
                return float(resource.attributes["RetentionSeconds"])
        return 24 * 3600.0

    def _queue_mapping(
        self,
        logical_id: str,
        mapping_id: str,
        function: LocalFunction,
        queue_arn: str,
        props: Mapping[str, Any],
    ) -> Resource:
        stream_only = sorted(set(props) & _STREAM_ONLY_PROPERTIES)
        if stream_only:
            raise InvalidParameterValueError(
                f"{logical_id}: {', '.join(stream_only)} apply to stream sources, not SQS"
            )
        sqs = self.cloud.client("sqs")
        mapping = SqsEventSourceMapping(
            uuid=mapping_id,
            queue_arn=queue_arn,
            queue_url=sqs.get_queue_url(QueueName=queue_arn.rsplit(":", 1)[-1])["QueueUrl"],
            function_name=function.name,
            invoke=self.cloud._lambda.invoke,
            log=self.cloud.log,
            clock=self.cloud.clock,
            batch_size=int(props.get("BatchSize", 10)),
            max_batching_window_seconds=int(props.get("MaximumBatchingWindowInSeconds", 0)),
            report_batch_item_failures="ReportBatchItemFailures"
            in props.get("FunctionResponseTypes", []),
            record_filter=_record_filter(props.get("FilterCriteria"), "sqs"),
            enabled=bool(props.get("Enabled", True)),
            sqs_client=sqs,
        )
        self.cloud.queue_mappings[mapping_id] = mapping
        return Resource(logical_id, "AWS::Lambda::EventSourceMapping", "", mapping_id)

    def _create_events_rule(self, logical_id: str, props: Mapping[str, Any]) -> Resource:
        name = props.get("Name") or self._name(logical_id, 64)
        targets = []
        for target in props.get("Targets", []):
            retry = target.get("RetryPolicy", {})
            targets.append(
                RuleTarget(
                    id=target["Id"],
                    arn=target["Arn"],
                    input=target.get("Input"),
                    input_path=target.get("InputPath"),
                    input_transformer=target.get("InputTransformer"),
                    max_retry_attempts=int(retry.get("MaximumRetryAttempts", 185)),
                    max_event_age_seconds=int(retry.get("MaximumEventAgeInSeconds", 86_400)),
                    dead_letter_arn=target.get("DeadLetterConfig", {}).get("Arn"),
                )
            )
        bus = str(props.get("EventBusName") or "default").rsplit("/", 1)[-1]
        self.cloud.events.add_rule(
            Rule(
                name=name,
                event_pattern=props.get("EventPattern"),
                targets=targets,
                enabled=props.get("State", "ENABLED") == "ENABLED",
                event_bus=bus,
            )
        )
        arn = self._arn("events", f"rule/{name}")
        return Resource(logical_id, "AWS::Events::Rule", "", name, {"Arn": arn})

    def _create_lambda_eventinvokeconfig(
        self, logical_id: str, props: Mapping[str, Any]
    ) -> Resource:
        function = self.cloud._lambda.function(str(props["FunctionName"]))
        on_failure = props.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        self.cloud.events.set_async_config(
            function.name,
            maximum_retry_attempts=int(props.get("MaximumRetryAttempts", 2)),
            maximum_event_age_seconds=int(props.get("MaximumEventAgeInSeconds", 21_600)),
            on_failure_arn=on_failure,
        )
        return Resource(logical_id, "AWS::Lambda::EventInvokeConfig", "", f"{function.name}-config")

    def _create_iot_topicrule(self, logical_id: str, props: Mapping[str, Any]) -> Resource:
        construct = self.paths.get(logical_id, logical_id)
        name, attributes = self.cloud.iot.deploy_rule(
            logical_id, props, stack_name=self.stack_name, construct=construct
        )
        return Resource(logical_id, "AWS::IoT::TopicRule", "", name, attributes)

    # API Gateway REST API resources all go to the local API Gateway.
    def _apigateway(self, kind: str, logical_id: str, props: Mapping[str, Any]) -> Resource:
        ref, attributes = self.cloud.apigateway.deploy(kind, logical_id, props)
        return Resource(logical_id, kind, "", ref, attributes)

    def _create_apigateway_restapi(self, logical_id: str, props: Mapping[str, Any]) -> Resource:
        return self._apigateway("AWS::ApiGateway::RestApi", logical_id, props)

    def _create_apigateway_resource(self, logical_id: str, props: Mapping[str, Any]) -> Resource:
        return self._apigateway("AWS::ApiGateway::Resource", logical_id, props)

    def _create_apigateway_method(self, logical_id: str, props: Mapping[str, Any]) -> Resource:
        return self._apigateway("AWS::ApiGateway::Method", logical_id, props)

    def _create_apigateway_deployment(self, logical_id: str, props: Mapping[str, Any]) -> Resource:
        return self._apigateway("AWS::ApiGateway::Deployment", logical_id, props)

    def _create_apigateway_stage(self, logical_id: str, props: Mapping[str, Any]) -> Resource:
        return self._apigateway("AWS::ApiGateway::Stage", logical_id, props)

    def _create_apigateway_requestvalidator(
        self, logical_id: str, props: Mapping[str, Any]
    ) -> Resource:
        return self._apigateway("AWS::ApiGateway::RequestValidator", logical_id, props)

    def _create_apigateway_model(self, logical_id: str, props: Mapping[str, Any]) -> Resource:
        return self._apigateway("AWS::ApiGateway::Model", logical_id, props)

    def _create_apigateway_account(self, logical_id: str, props: Mapping[str, Any]) -> Resource:
        return self._apigateway("AWS::ApiGateway::Account", logical_id, props)

    def _create_apigateway_gatewayresponse(
        self, logical_id: str, props: Mapping[str, Any]
    ) -> Resource:
        return self._apigateway("AWS::ApiGateway::GatewayResponse", logical_id, props)

    def _create_apigateway_usageplan(self, logical_id: str, props: Mapping[str, Any]) -> Resource:
        return self._apigateway("AWS::ApiGateway::UsagePlan", logical_id, props)

    def _create_apigateway_usageplankey(
        self, logical_id: str, props: Mapping[str, Any]
    ) -> Resource:
        return self._apigateway("AWS::ApiGateway::UsagePlanKey", logical_id, props)

    def _create_apigateway_apikey(self, logical_id: str, props: Mapping[str, Any]) -> Resource:
        return self._apigateway("AWS::ApiGateway::ApiKey", logical_id, props)


_STREAM_ONLY_PROPERTIES = frozenset(
    {
        "BisectBatchOnFunctionError",
        "DestinationConfig",
        "MaximumRecordAgeInSeconds",
        "MaximumRetryAttempts",
        "ParallelizationFactor",
        "StartingPosition",
        "StartingPositionTimestamp",
        "TumblingWindowInSeconds",
    }
)


def _record_filter(criteria: Mapping[str, Any] | None, source: str) -> Any:
    if not criteria or not criteria.get("Filters"):
        return None
    from lambda_blueprints.testing.filtering import compile_filters

    return compile_filters(criteria, source)  # type: ignore[arg-type]


def _dependency_order(resources: Mapping[str, Any]) -> list[str]:
    """Logical ids ordered so that every resource comes after what it references."""

    def references(value: Any) -> set[str]:
        found: set[str] = set()
        if isinstance(value, dict):
            if "Ref" in value and isinstance(value["Ref"], str):
                found.add(value["Ref"])
            if "Fn::GetAtt" in value:
                target = value["Fn::GetAtt"]
                found.add(target[0] if isinstance(target, list) else target.split(".")[0])
            if "Fn::Sub" in value:
                text = (
                    value["Fn::Sub"] if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"][0]
                )
                found.update(m.split(".")[0] for m in _SUB_VARIABLE.findall(text))
            for item in value.values():
                found |= references(item)
        elif isinstance(value, list):
            for item in value:
                found |= references(item)
        return found

    depends: dict[str, set[str]] = {}
    for logical_id, definition in resources.items():
        needed = references(definition.get("Properties", {}))
        explicit = definition.get("DependsOn", [])
        needed |= {explicit} if isinstance(explicit, str) else set(explicit)
        depends[logical_id] = {n for n in needed if n in resources and n != logical_id}
    ordered: list[str] = []
    done: set[str] = set()

    def visit(logical_id: str, trail: Sequence[str]) -> None:
        if logical_id in done:
            return
        if logical_id in trail:
            raise ValueError(f"circular dependency: {' -> '.join([*trail, logical_id])}")
        for needed in sorted(depends[logical_id]):
            visit(needed, [*trail, logical_id])
        done.add(logical_id)
        ordered.append(logical_id)

    for logical_id in resources:
        visit(logical_id, [])
    return ordered
