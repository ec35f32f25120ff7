"""The local cloud's CloudFormation engine: templates, intrinsics, dependency order.

:class:`Deployment` creates a template's resources in dependency order, resolving
intrinsic functions (``Ref``, ``Fn::GetAtt``, ``Fn::Sub``, ``Fn::Join``, ...). Each
emulated service module registers the resource types it deploys with :func:`deploys`;
every other type gets a placeholder with ids shaped like the real ones and is listed in
``LocalCloud.skipped``.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from lambda_blueprints.testing._core import ServiceContext

_S = TypeVar("_S")
#: Deploys one resource: ``(deployment, type, logical id, resolved properties)``.
Deployer = Callable[["Deployment", str, str, Mapping[str, Any]], "Resource"]
_D = TypeVar("_D", bound=Deployer)

# The deployer of each resource type, and the module that registered it.
_DEPLOYERS: dict[str, tuple[Deployer, str]] = {}


def deploys(*types: str) -> Callable[[_D], _D]:
    """Register a function as the deployer of CloudFormation resource ``types``.

    Raises:
        ValueError: A type already has a deployer.
    """

    def register(deployer: _D) -> _D:
        for kind in types:
            if kind in _DEPLOYERS:
                raise ValueError(f"{kind} is deployed by {_DEPLOYERS[kind][1]} already")
            _DEPLOYERS[kind] = (deployer, deployer.__module__)
        return deployer

    return register


def deployed_types() -> dict[str, str]:
    """Every resource type a registered deployer creates, with the registering module."""
    return {kind: module for kind, (_, module) in _DEPLOYERS.items()}


class Services:
    """The emulated services of one local cloud, found by class."""

    def __init__(self, *services: object) -> None:
        self._services = {type(service): service for service in services}

    def get(self, kind: type[_S]) -> _S:
        """The service of class ``kind``."""
        service = self._services[kind]
        assert isinstance(service, kind)  # noqa: S101 - keyed by its own class
        return service


#: Resource types that have no behaviour to emulate offline: they get placeholder ids.
INERT_TYPES = frozenset(
    {
        "AWS::CDK::Metadata",
        "AWS::CloudWatch::Alarm",
        "AWS::CloudWatch::Dashboard",
        "AWS::IAM::Role",
        "AWS::IAM::Policy",
        "AWS::IAM::ManagedPolicy",
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


def _text(value: Any) -> str:
    """A resolved value as CloudFormation writes it into a string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class Deployment:
    """Creates one template's resources, in dependency order.

    Args:
        context: The local cloud as services see it (region, account, clients...).
        services: The emulated services, which deployers find by class.
        stack_name: The stack's name.
        template: The CloudFormation template.
        directory: The cloud assembly folder (for assets).
        paths: Construct paths by logical id (templates carry them only when the CLI synths).
        skipped: Receives ``(stack, logical id, type)`` of resources that get a placeholder.
    """

    def __init__(
        self,
        context: ServiceContext,
        services: Services,
        stack_name: str,
        template: dict[str, Any],
        directory: Path,
        paths: Mapping[str, str],
        skipped: list[tuple[str, str, str]],
    ) -> None:
        self.context = context
        self.services = services
        self.skipped = skipped
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
                return [f"{self.context.region}{zone}" for zone in "abc"]
            if key.startswith("Fn::"):
                raise NotImplementedError(
                    f"{key} is not supported by the local cloud (stack {self.stack_name})"
                )
        return {k: r for k, v in value.items() if (r := self.resolve(v)) is not _NO_VALUE}

    def _ref(self, name: str) -> Any:
        pseudo = {
            "AWS::Region": self.context.region,
            "AWS::AccountId": self.context.account_id,
            "AWS::Partition": _PSEUDO_PARTITION,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": self.stack_name,
            "AWS::StackId": self.arn("cloudformation", f"stack/{self.stack_name}/local"),
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
            # Placeholder for resources that are not emulated (roles, log groups, ...).
            return self.arn("local", f"{logical_id}/{attribute}")
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

    def service(self, kind: type[_S]) -> _S:
        """The emulated service of a class, to deploy a resource into."""
        return self.services.get(kind)

    def name(self, logical_id: str, limit: int = 255) -> str:
        """A generated physical name, as CloudFormation makes them."""
        suffix = uuid.uuid4().hex[:12].upper()
        return f"{self.stack_name}-{logical_id}"[: limit - 13] + f"-{suffix}"

    def arn(self, service: str, resource: str) -> str:
        """An ARN of the local cloud's region and account."""
        return f"arn:aws:{service}:{self.context.region}:{self.context.account_id}:{resource}"

    def create(self, logical_id: str, definition: Mapping[str, Any]) -> Resource:
        kind = definition["Type"]
        path = definition.get("Metadata", {}).get("aws:cdk:path") or self.paths.get(
            logical_id, f"{self.stack_name}/{logical_id}"
        )
        deployer = _DEPLOYERS.get(kind)
        if deployer is None:
            self.skipped.append((self.stack_name, logical_id, kind))
            return self._placeholder(logical_id, kind, path)
        properties = self.resolve(definition.get("Properties", {}))
        resource = deployer[0](self, kind, logical_id, properties)
        resource.path = path
        return resource

    def _placeholder(self, logical_id: str, kind: str, path: str) -> Resource:
        """Ids for a resource without local behaviour, shaped like the real ones."""
        if kind == "AWS::IAM::Role":
            name = self.name(logical_id, 64)
            arn = f"arn:aws:iam::{self.context.account_id}:role/{name}"
            return Resource(logical_id, kind, path, name, {"Arn": arn, "RoleId": name}, False)
        return Resource(logical_id, kind, path, f"{logical_id}-local", emulated=False)


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
