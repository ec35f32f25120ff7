"""Lambda in process: functions, their handlers, faults, and asynchronous invocation.

:class:`Lambda` holds the deployed functions and runs them: the handler is imported (once)
in the function's own module namespace, behind the import guard, with the function's
environment, and faults can be injected. :class:`AsyncInvocations` is Lambda's
asynchronous invocation (EventBridge targets, IoT rule actions, SNS subscriptions):
function errors are retried per the function's ``AWS::Lambda::EventInvokeConfig``, with
retry delays from a hook on the virtual clock, then reported to the on-failure destination.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import re
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from lambda_blueprints.testing._cloudformation import DeployedStack, Deployment, Resource, deploys
from lambda_blueprints.testing._core import Send
from lambda_blueprints.testing._core import check_range as _check_range
from lambda_blueprints.testing.activity import (
    ActivityLog,
    FailureRecord,
    Invocation,
    InvocationThrottled,
    Invoker,
    InvokeResult,
    remember_text,
)
from lambda_blueprints.testing.clock import Clock
from lambda_blueprints.testing.context import LambdaContext
from lambda_blueprints.testing.lambda_imports import (
    POWERTOOLS_LAYER_MARK,
    ImportScope,
    LambdaImportError,
    guarded,
    top_level_names,
)


@dataclass
class LocalFunction:
    """A Lambda function the local cloud runs in-process."""

    name: str
    arn: str
    handler: str
    code_dir: Path | None
    environment: dict[str, str]
    timeout: float
    memory_size: int
    role_arn: str
    #: What the function can import in Lambda (None: anything, the guard is off).
    import_scope: ImportScope | None = None
    #: The ``python/`` folders of its layers (those of the stack), in the function's order.
    layer_dirs: tuple[Path, ...] = ()
    _entry: Callable[[dict[str, Any], Any], Any] | None = None
    _own_names: frozenset[str] = frozenset()
    _own_modules: dict[str, ModuleType] = field(default_factory=dict)

    def load(self) -> Callable[[dict[str, Any], Any], Any]:
        """Import the handler (once), in the function's own module namespace."""
        if self._entry is None:
            self._own_names = _asset_only_modules(self.code_dir) | _layer_only_modules(
                self.layer_dirs
            )
            with self.isolated(), guarded(self.import_scope):
                try:
                    self._entry = _load_handler(self.handler, self.code_dir, self.name)
                except ImportError as error:
                    module = self.handler.rpartition(".")[0]
                    raise LambdaImportError(
                        f"Unable to import module '{module}': {error}"
                    ) from error
        return self._entry

    @contextmanager
    def isolated(self) -> Iterator[None]:
        """Give the function its own copies of the modules only its asset and layers provide.

        In Lambda every function runs in its own process. Here they share one, so modules
        that exist only in a function's asset or layers (``import helpers`` next to the
        handler) are swapped in for its invocations and out afterwards: two functions never
        see each other's module state. Modules that your environment also provides (boto3,
        Powertools, the library's runtime) are imported once and shared; which of them a
        function may import at all is the import guard's decision (:attr:`import_scope`).

        While they are swapped in, the asset and then the layers' ``python/`` folders lead
        ``sys.path``, as ``/var/task`` and ``/opt/python`` do in Lambda. Lambda extracts
        every layer into ``/opt``, a later layer overwriting an earlier one's files, so the
        last layer comes first.
        """
        if not self._own_names:
            yield
            return
        others = {k: sys.modules.pop(k) for k in list(sys.modules) if _top(k) in self._own_names}
        sys.modules.update(self._own_modules)
        folders = [self.code_dir] if self.code_dir is not None else []
        search = [str(d) for d in (*folders, *reversed(self.layer_dirs))]
        sys.path[:0] = search
        try:
            yield
        finally:
            for entry in search:
                sys.path.remove(entry)
            self._own_modules = {
                k: sys.modules.pop(k) for k in list(sys.modules) if _top(k) in self._own_names
            }
            sys.modules.update(others)


@dataclass
class _Fault:
    fail: int = 0
    throttle: int = 0
    duplicate: int = 0
    mutate: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    error: type[Exception] = RuntimeError


class Faults:
    """Faults to inject into invocations: failures, throttles, duplicates, corrupt events.

    Args:
        resolve: The physical name of a function named any other way (logical id, construct
            path, ARN); KeyError when no such function is deployed.
    """

    def __init__(self, resolve: Callable[[str], str] | None = None) -> None:
        self._faults: dict[str, _Fault] = {}
        self._resolve = resolve

    def inject(
        self,
        function_name: str,
        *,
        fail: int = 0,
        throttle: int = 0,
        duplicate: int = 0,
        mutate: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> None:
        """Make the next invocations of a function misbehave.

        Args:
            function_name: The function: physical name, ARN, logical id or construct path
                (as ``DeployedStack.physical_id`` takes it), of a deployed function.
            fail: This many invocations fail with a function error before the handler runs.
            throttle: This many invocations are throttled (never reach the function).
            duplicate: This many successful invocations are delivered twice (at-least-once
                delivery); the second delivery's result counts.
            mutate: Rewrites every event before the handler sees it (poison records).
        """
        self._faults[self._physical_name(function_name)] = _Fault(fail, throttle, duplicate, mutate)

    def _physical_name(self, function_name: str) -> str:
        # Mappings, rules and APIs invoke functions by physical name: a fault is kept under
        # it, so that it reaches them however the test named the function.
        if self._resolve is None:
            return function_name
        try:
            return self._resolve(function_name)
        except KeyError:
            return function_name  # not deployed (yet): kept as given

    def clear(self) -> None:
        """Remove every fault."""
        self._faults.clear()

    def get(self, function_name: str) -> _Fault | None:
        """The fault of a function, if any."""
        return self._faults.get(function_name)


class Lambda:
    """The deployed functions, and how they run.

    Args:
        region: The region of the functions.
        account_id: Their account.
        faults: Faults to inject into invocations.
        functions: Functions by physical name (filled by deployments).
        stacks: The deployed stacks, to find functions by logical id or construct id.
        strict_imports: Whether functions deployed now get the import guard.
    """

    def __init__(
        self,
        *,
        region: str,
        account_id: str,
        faults: Faults,
        functions: dict[str, LocalFunction],
        stacks: Mapping[str, DeployedStack],
        strict_imports: Callable[[], bool] = lambda: True,
    ) -> None:
        self.region = region
        self.account_id = account_id
        self.faults = faults
        self.functions = functions
        #: Layers deployed here, by version ARN: the folder holding their content.
        self.layers: dict[str, Path] = {}
        #: The versions published of each function (their count; all run the same code).
        self.versions: dict[str, int] = {}
        self._stacks = stacks
        self.strict_imports = strict_imports

    def function(self, name_or_arn: str) -> LocalFunction:
        """The function of a name, ARN, logical id, construct id or path (KeyError if none)."""
        return self._function(name_or_arn)

    def invoke(self, function_name: str, event: dict[str, Any]) -> InvokeResult:
        """Invoke a function synchronously, with its faults; nothing is logged."""
        return self._invoke(function_name, event)

    def _function(self, name_or_arn: str) -> LocalFunction:
        name = name_or_arn.split(":function:")[-1].split(":")[0]
        if name in self.functions:
            return self.functions[name]
        for stack in self._stacks.values():
            for resource in stack.resources.values():
                if resource.type == "AWS::Lambda::Function" and name in (
                    resource.logical_id,
                    _construct_id(resource.path),
                ):
                    return self.functions[resource.ref]
        if "/" in name_or_arn:
            # A construct path, as DeployedStack.physical_id takes it.
            for stack in self._stacks.values():
                try:
                    resource = stack.resource(name_or_arn)
                except KeyError:
                    continue
                if resource.type == "AWS::Lambda::Function":
                    return self.functions[resource.ref]
        raise KeyError(f"no function {name_or_arn!r} is deployed")

    def _invoke(self, function_name: str, event: dict[str, Any]) -> InvokeResult:
        function = self._function(function_name)
        fault = self.faults.get(function.name) or self.faults.get(function_name)
        if fault is not None:
            if fault.throttle > 0:
                fault.throttle -= 1
                raise InvocationThrottled(function.name)
            if fault.mutate is not None:
                event = fault.mutate(json.loads(json.dumps(event)))
            if fault.fail > 0:
                fault.fail -= 1
                return InvokeResult(
                    str(uuid.uuid4()), None, "Unhandled", "InjectedFault", "injected failure"
                )
        result = self._run(function, event)
        if fault is not None and fault.duplicate > 0 and result.ok:
            fault.duplicate -= 1
            result = self._run(function, event)
        return result

    def _run(self, function: LocalFunction, event: dict[str, Any]) -> InvokeResult:
        request_id = str(uuid.uuid4())
        context = LambdaContext(
            function_name=function.name,
            memory_limit_in_mb=function.memory_size,
            timeout_seconds=function.timeout,
            region=self.region,
            account_id=self.account_id,
            aws_request_id=request_id,
        )
        # Handlers get a copy: Lambda serializes the event, so mutations never leak back.
        text_in = json.dumps(event)
        remember_text(event, text_in)
        payload_in = json.loads(text_in)
        started = time.perf_counter()
        with _environment(self._runtime_environment(function)), function.isolated():
            try:
                entry = function.load()
                with guarded(function.import_scope):
                    returned = entry(payload_in, context)
                payload = None
                if returned is not None:
                    text_out = json.dumps(returned)
                    payload = json.loads(text_out)
                    remember_text(payload, text_out)
            except Exception as error:  # the function's error, reported like Lambda does
                return InvokeResult(
                    request_id,
                    None,
                    "Unhandled",
                    getattr(error, "error_type", type(error).__name__),
                    # Lambda's Python runtime reports str(exception) as errorMessage.
                    str(error),
                    (time.perf_counter() - started) * 1000,
                )
        duration = (time.perf_counter() - started) * 1000
        if duration > function.timeout * 1000:
            return InvokeResult(
                request_id,
                None,
                "Unhandled",
                "Sandbox.Timedout",
                f"Task timed out after {function.timeout:.2f} seconds",
                duration,
            )
        return InvokeResult(request_id, payload, None, None, None, duration)

    def _runtime_environment(self, function: LocalFunction) -> dict[str, str]:
        return {
            **function.environment,
            "AWS_LAMBDA_FUNCTION_NAME": function.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_size),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
        }


@contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    # The whole environment is restored afterwards: whatever a handler sets in os.environ
    # stays in its invocation, as it would stay in its own Lambda sandbox.
    saved = dict(os.environ)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _top(module_name: str) -> str:
    return module_name.split(".", 1)[0]


def _asset_only_modules(code_dir: Path | None) -> frozenset[str]:
    """Top-level modules of an asset that the environment does not provide itself."""
    if code_dir is None or (code_dir / "runtime").is_dir():
        return frozenset()
    names = {p.stem for p in code_dir.glob("*.py")} | {
        p.name for p in code_dir.iterdir() if p.is_dir() and p.name.isidentifier()
    }
    return frozenset(n for n in names if importlib.util.find_spec(n) is None)


def _layer_only_modules(layer_dirs: Sequence[Path]) -> frozenset[str]:
    """Top-level modules of a function's layers that the environment does not provide."""
    names = set().union(*(top_level_names(d) for d in layer_dirs))
    return frozenset(n for n in names if importlib.util.find_spec(n) is None)


def _construct_id(path: str) -> str:
    """The id of the construct a resource belongs to.

    ``Stack/Orders/Resource/Resource`` and ``Stack/Orders/Resource`` name ``Orders``.
    """
    parts = [p for p in path.split("/") if p]
    while len(parts) > 1 and parts[-1] == "Resource":
        parts.pop()
    return parts[-1] if parts else path


def _load_handler(
    handler: str, code_dir: Path | None, function_name: str
) -> Callable[[dict[str, Any], Any], Any]:
    module_path, _, attribute = handler.rpartition(".")
    if not module_path:
        raise ValueError(f"handler {handler!r} is not <module>.<function>")
    if module_path.startswith("lambda_blueprints.runtime.") and (
        code_dir is None or (code_dir / "lambda_blueprints" / "runtime").is_dir()
    ):
        # The library's own runtime asset: import the installed package (same files), so
        # tests can patch handler modules and measure coverage.
        module: ModuleType = importlib.import_module(module_path)
    elif code_dir is not None:
        module = _import_from_asset(module_path, code_dir, function_name)
    else:
        raise ValueError(f"function code for handler {handler!r} has no asset directory")
    entry = getattr(module, attribute, None)
    if not callable(entry):
        raise ValueError(f"handler {handler!r}: {module.__name__} has no function {attribute!r}")
    return entry  # type: ignore[no-any-return]


def _import_from_asset(module_path: str, code_dir: Path, function_name: str) -> ModuleType:
    # The handler module goes under a package of the function's own, so two functions built
    # from one asset (or two assets with an index.py each) get separate module objects.
    package = "_local_function_" + re.sub(r"\W", "_", function_name)
    if package not in sys.modules:
        spec = importlib.util.spec_from_loader(package, loader=None, is_package=True)
        assert spec is not None  # noqa: S101 - spec_from_loader always returns one here
        namespace = importlib.util.module_from_spec(spec)
        namespace.__path__ = [str(code_dir)]
        sys.modules[package] = namespace
    return importlib.import_module(f"{package}.{module_path}")


#: UNSPECIFIED: Lambda retries throttled asynchronous invocations until the event is too
#: old. With retry delays of zero the virtual clock would never get there, so after this
#: many throttles in a row the event is discarded as ``EventAgeExceeded``.
ASYNC_THROTTLE_LIMIT = 100
#: Lambda asynchronous invocation ranges and defaults (``PutFunctionEventInvokeConfig``).
ASYNC_RETRY_ATTEMPTS_RANGE = (0, 2)
ASYNC_EVENT_AGE_RANGE = (60, 21_600)
DEFAULT_ASYNC_RETRY_ATTEMPTS = 2
DEFAULT_ASYNC_EVENT_AGE_SECONDS = 21_600

#: Seconds to wait before retry number ``n`` (1-based), on the virtual clock.
RetryDelay = Callable[[int], float]


def no_retry_delay(retry: int) -> float:
    """The default retry delay: none.

    AWS backs off exponentially with jitter (targets) or waits about one and then two
    minutes (Lambda async retries); tests pass their own delay to exercise event ages.
    """
    del retry
    return 0.0


@dataclass(frozen=True)
class AsyncInvokeConfig:
    """A function's asynchronous invocation settings (``PutFunctionEventInvokeConfig``).

    Attributes:
        maximum_retry_attempts: Retries after a function error (0-2).
        maximum_event_age_seconds: How long Lambda keeps retrying (60-21600).
        on_failure_arn: SQS queue or SNS topic for the invocation record of failed events.
    """

    maximum_retry_attempts: int = DEFAULT_ASYNC_RETRY_ATTEMPTS
    maximum_event_age_seconds: int = DEFAULT_ASYNC_EVENT_AGE_SECONDS
    on_failure_arn: str | None = None


@dataclass
class _AsyncOutcome:
    """How an asynchronous invocation ended: ``condition`` is None when it succeeded."""

    condition: str | None = None
    invocations: int = 0
    request_id: str | None = None
    last_result: InvokeResult | None = None

    def add(self, result: InvokeResult) -> None:
        # Retries keep the request id of the accepted invocation.
        self.request_id = self.request_id or result.request_id
        self.invocations += 1
        self.last_result = result


class AsyncInvocations:
    """Lambda's asynchronous invocation: retry function errors, then report the failure.

    One loop for every asynchronous caller (EventBridge targets, IoT Lambda actions, SNS
    subscriptions).

    Args:
        invoke: Calls a function synchronously.
        log: Receives every invocation and every failure record.
        clock: Virtual time of retry delays and event ages.
        send: Delivers the invocation record to an SQS queue or SNS topic ARN.
        retry_delay: Delay before Lambda's async retry ``n`` of a function error.
    """

    def __init__(
        self,
        *,
        invoke: Invoker,
        log: ActivityLog,
        clock: Clock,
        send: Send,
        retry_delay: RetryDelay = no_retry_delay,
    ) -> None:
        self._invoke = invoke
        self._log = log
        self._clock = clock
        self._send = send
        #: Delay before retry ``n``; replace it to exercise event ages.
        self.retry_delay = retry_delay
        #: Each function's settings (``AWS::Lambda::EventInvokeConfig``), by name.
        self.configs: dict[str, AsyncInvokeConfig] = {}

    def configure(
        self,
        function_name: str,
        maximum_retry_attempts: int = DEFAULT_ASYNC_RETRY_ATTEMPTS,
        maximum_event_age_seconds: int = DEFAULT_ASYNC_EVENT_AGE_SECONDS,
        on_failure_arn: str | None = None,
    ) -> None:
        """Configure a function's asynchronous invocations (``PutFunctionEventInvokeConfig``).

        Raises:
            ValueError: A setting is out of range.
        """
        _check_range("MaximumRetryAttempts", maximum_retry_attempts, ASYNC_RETRY_ATTEMPTS_RANGE)
        _check_range("MaximumEventAgeInSeconds", maximum_event_age_seconds, ASYNC_EVENT_AGE_RANGE)
        self.configs[function_name] = AsyncInvokeConfig(
            maximum_retry_attempts, maximum_event_age_seconds, on_failure_arn
        )

    def config(self, function: str) -> AsyncInvokeConfig:
        """The settings of a function: its own, or Lambda's defaults."""
        return self.configs.get(function, AsyncInvokeConfig())

    def invoke(
        self,
        function: str,
        function_arn: str,
        payload: Any,
        *,
        source: str,
        mapping_id: str,
        item: str,
        throttle_raises: bool = False,
    ) -> None:
        """Invoke ``function`` asynchronously, as ``source`` (its ``mapping_id``, ``item``).

        Args:
            function: The function's name.
            function_arn: Its qualified ARN, as the invocation record names it.
            payload: The event.
            source: The caller's name in the activity log.
            mapping_id: The rule (or other origin) in the activity log.
            item: The id of what was delivered (event id, trace id).
            throttle_raises: When the first attempt is throttled, Lambda has not accepted
                the event: raise, so that the caller can retry its own ``Invoke`` call
                (SNS does). Throttles after Lambda has accepted the event are Lambda's own
                to retry, whatever this says.

        Raises:
            InvocationThrottled: With ``throttle_raises``, when the first attempt is
                throttled; nothing was invoked or logged.
        """
        config = self.config(function)
        outcome = self._run_async(
            function, config, payload, source, mapping_id, item, throttle_raises
        )
        if outcome.condition is None or config.on_failure_arn is None:
            return
        record = self._async_failure_record(function_arn, payload, outcome)
        self._send(config.on_failure_arn, json.dumps(record), {})
        self._log.add(
            FailureRecord(
                source=source,
                mapping_id=mapping_id,
                destination=config.on_failure_arn,
                condition=outcome.condition,
                body=record,
                items=(item,),
                at=self._clock.now(),
            )
        )

    def _run_async(
        self,
        function: str,
        config: AsyncInvokeConfig,
        payload: Any,
        source: str,
        mapping_id: str,
        item: str,
        throttle_raises: bool = False,
    ) -> _AsyncOutcome:
        accepted_at = self._clock.now()
        outcome = _AsyncOutcome()
        throttles = 0
        while True:
            try:
                result = self._invoke(function, payload)
            except InvocationThrottled:
                if throttle_raises and not outcome.invocations and not throttles:
                    raise
                # Lambda keeps throttled events queued without counting a retry.
                throttles += 1
                if throttles >= ASYNC_THROTTLE_LIMIT:
                    outcome.condition = "EventAgeExceeded"
                    return outcome
            else:
                self._log.add(
                    Invocation(
                        source=source,
                        mapping_id=mapping_id,
                        function=function,
                        items=(item,),
                        event=payload,
                        result=result,
                        outcome="success" if result.ok else "failure",
                        attempt=outcome.invocations,
                        at=self._clock.now(),
                    )
                )
                outcome.add(result)
                if result.ok:
                    return outcome
                if outcome.invocations > config.maximum_retry_attempts:
                    outcome.condition = "RetriesExhausted"
                    return outcome
            self._clock.advance(self.retry_delay(outcome.invocations + throttles))
            if self._clock.now() - accepted_at > config.maximum_event_age_seconds:
                outcome.condition = "EventAgeExceeded"
                return outcome

    def _async_failure_record(
        self, function_arn: str, payload: Any, outcome: _AsyncOutcome
    ) -> dict[str, Any]:
        """The invocation record Lambda sends to an on-failure destination."""
        record: dict[str, Any] = {
            "version": "1.0",
            "timestamp": self._clock.iso(),
            "requestContext": {
                "requestId": outcome.request_id or str(uuid.uuid4()),
                "functionArn": function_arn,
                "condition": outcome.condition,
                "approximateInvokeCount": outcome.invocations,
            },
            "requestPayload": payload,
        }
        last = outcome.last_result
        if last is not None:
            # Without an invocation (only throttles) there is no response to describe.
            record["responseContext"] = {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": last.function_error or "Unhandled",
            }
            record["responsePayload"] = {
                "errorMessage": last.error_message,
                "errorType": last.error_type,
            }
        return record


def record_filter(criteria: Mapping[str, Any] | None, source: str) -> Any:
    """The compiled ``FilterCriteria`` of an event source mapping; None without filters."""
    if not criteria or not criteria.get("Filters"):
        return None
    from lambda_blueprints.testing.filtering import compile_filters

    return compile_filters(criteria, source)  # type: ignore[arg-type]


@deploys("AWS::Lambda::Function")
def _function(stack: Deployment, kind: str, logical_id: str, props: Mapping[str, Any]) -> Resource:
    name = props.get("FunctionName") or stack.name(logical_id, 64)
    arn = stack.arn("lambda", f"function:{name}")
    code = props.get("Code", {})
    code_dir = stack.assets.get(str(code.get("S3Key", "")))
    if "ZipFile" in code:
        code_dir = Path(tempfile.mkdtemp(prefix="local-lambda-"))
        (code_dir / "index.py").write_text(code["ZipFile"])
    layer_dirs, unknown, powertools = [], [], False
    for layer in props.get("Layers", []):
        layer_arn = str(layer)
        if layer_arn in stack.service(Lambda).layers:
            layer_dirs.append(stack.service(Lambda).layers[layer_arn] / "python")
        elif POWERTOOLS_LAYER_MARK in layer_arn:
            powertools = True
        else:
            unknown.append(layer_arn)
    stack.service(Lambda).functions[name] = LocalFunction(
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
        layer_dirs=tuple(layer_dirs),
        import_scope=(
            ImportScope.of(code_dir, layer_dirs, powertools=powertools, unknown_layers=unknown)
            if stack.service(Lambda).strict_imports()
            else None
        ),
    )
    return Resource(logical_id, "AWS::Lambda::Function", "", name, {"Arn": arn})


@deploys("AWS::Lambda::LayerVersion")
def _layer_version(
    stack: Deployment, kind: str, logical_id: str, props: Mapping[str, Any]
) -> Resource:
    name = props.get("LayerName") or stack.name(logical_id, 64)
    arn = stack.arn("lambda", f"layer:{name}:1")
    content = stack.assets.get(str(props.get("Content", {}).get("S3Key", "")))
    if content is None:
        raise ValueError(
            f"{logical_id}: the layer's content is not an asset of the assembly; only "
            "layers built from local assets are emulated"
        )
    stack.service(Lambda).layers[arn] = content
    return Resource(logical_id, "AWS::Lambda::LayerVersion", "", arn, {"LayerVersionArn": arn})


@deploys("AWS::Lambda::Version")
def _version(stack: Deployment, kind: str, logical_id: str, props: Mapping[str, Any]) -> Resource:
    # Every version runs the function's one deployed code: versions are numbered, not kept.
    function = stack.context.function(str(props["FunctionName"]))
    lambda_ = stack.service(Lambda)
    number = lambda_.versions.get(function.name, 0) + 1
    lambda_.versions[function.name] = number
    arn = f"{function.arn}:{number}"
    return Resource(
        logical_id,
        "AWS::Lambda::Version",
        "",
        arn,
        {"Version": str(number), "FunctionArn": function.arn},
    )


@deploys("AWS::Lambda::Alias")
def _alias(stack: Deployment, kind: str, logical_id: str, props: Mapping[str, Any]) -> Resource:
    # An alias invokes the function's deployed code, whichever version it names.
    function = stack.context.function(str(props["FunctionName"]))
    name = str(props["Name"])
    arn = f"{function.arn}:{name}"
    return Resource(logical_id, "AWS::Lambda::Alias", "", arn, {"AliasArn": arn})


@deploys("AWS::Lambda::EventInvokeConfig")
def _event_invoke_config(
    stack: Deployment, kind: str, logical_id: str, props: Mapping[str, Any]
) -> Resource:
    function = stack.context.function(str(props["FunctionName"]))
    on_failure = props.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
    stack.service(AsyncInvocations).configure(
        function.name,
        maximum_retry_attempts=int(props.get("MaximumRetryAttempts", 2)),
        maximum_event_age_seconds=int(props.get("MaximumEventAgeInSeconds", 21_600)),
        on_failure_arn=on_failure,
    )
    return Resource(logical_id, "AWS::Lambda::EventInvokeConfig", "", f"{function.name}-config")
