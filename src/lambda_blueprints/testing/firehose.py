"""Amazon Data Firehose delivery to S3, and S3's notifications of the objects created.

:class:`FirehoseDeliveryStream` emulates one ``AWS::KinesisFirehose::DeliveryStream`` with an
S3 destination (``ExtendedS3DestinationConfiguration`` or ``S3DestinationConfiguration``):

Sources
    ``KinesisStreamAsSource`` reads every shard of the Kinesis data stream from
    ``TRIM_HORIZON`` through the Kinesis API; ``DirectPut`` streams receive the records of
    :meth:`FirehoseDeliveryStream.put_records` (``LocalCloud.put_firehose_records``). A
    record's arrival time is the local cloud's clock when Firehose first sees it.

Buffering
    Records wait in one buffer. It is flushed when it holds ``BufferingHints.SizeInMBs`` MiB
    of record data, or when ``BufferingHints.IntervalInSeconds`` have passed on the clock
    since the arrival of its oldest record (defaults 5 MiB and 300 s). A flush takes records
    in arrival order up to the size hint and writes at most one data object and one error
    object.

Transformation
    With a ``Lambda`` processor the flushed records go to the function in invocations of at
    most the processor's ``BufferSizeInMBs`` of data (default 1 MiB, 0.2-3) whose serialized
    event fits Lambda's 6 MB payload, in the event shape Firehose sends (see
    :func:`~lambda_blueprints.testing.events.firehose_transformation_event`), with
    ``kinesisRecordMetadata`` for a Kinesis source. A function error, a timeout, a throttle
    or a response that breaks the contract
    (:func:`~lambda_blueprints.testing.events.validate_firehose_response`) is retried
    ``NumberOfRetries`` times (default 3, 0-300), then every record of the invocation becomes
    an error record. Records answered ``Ok`` are delivered, ``Dropped`` ones vanish and
    ``ProcessingFailed`` ones become error records. Invocations are logged in the
    :class:`~lambda_blueprints.testing.activity.ActivityLog` with source ``firehose`` and the
    delivery stream name as ``mapping_id``; each error object is logged as a
    :class:`~lambda_blueprints.testing.activity.FailureRecord`.

Objects
    The ``Ok`` data of a flush, concatenated in arrival order without separators (delimiting
    is the transformation's job), compressed with ``CompressionFormat`` (``UNCOMPRESSED`` or
    ``GZIP``), is one object named ``<evaluated prefix><stream name>-1-<YYYY-MM-DD-HH-MM-SS>-
    <uuid><extension>``. A ``Prefix`` without a ``!{timestamp:...}`` expression gets
    ``YYYY/MM/dd/HH/`` appended, as Firehose's semantic rules say of the ``Prefix`` field;
    an explicit ``ErrorOutputPrefix`` is evaluated as it is (the documented example maps
    ``myFirehoseFailures/!{firehose:error-output-type}/`` to
    ``myFirehoseFailures/processing-failed/``), and a null one is
    ``<Prefix>processing-failed/YYYY/MM/dd/HH/``. Timestamps are the arrival of the oldest
    record in the object, in UTC or ``CustomTimeZone``. Error records are JSON lines
    (``attemptsMade``, ``arrivalTimestamp``, ``errorCode``, ``errorMessage``,
    ``attemptEndingTimestamp``, ``rawData``, ``lambdaArn``) in one object under the error
    prefix, where ``!{firehose:error-output-type}`` is ``processing-failed``.

:class:`BucketNotifications` (now in :mod:`lambda_blueprints.testing.s3`, and importable
from here) announces the objects created in buckets with notifications:
with EventBridge enabled (``EventBridgeConfiguration`` on the bucket, or in the
``Custom::S3BucketNotifications`` resource that CDK's ``event_bridge_enabled`` makes), an
``Object Created`` event from ``aws.s3`` goes to the default event bus; ``QueueConfigurations``
and ``TopicConfigurations`` for ``s3:ObjectCreated:*`` events receive the S3 notification
record. New and overwritten objects are found by listing the buckets every time the local
cloud runs (key, ETag and last-modified time against what was announced), so objects
written by anyone (Firehose, handler code, test code through boto3) are announced.

Not emulated: dynamic partitioning, record format conversion, processors other than
``Lambda``, source record backup, destinations other than S3, compression formats other
than ``UNCOMPRESSED`` and ``GZIP``, the two-stage buffering of a transforming stream (here
the processor's ``BufferIntervalInSeconds`` is validated but the one buffer follows the
destination's hints), retry back-off (retries happen at once on the clock), records sent
with the Firehose API from handler code (moto's own Firehose does not route them here),
IAM roles, KMS encryption, CloudWatch logging, S3 ``Object Deleted`` and other event
types, direct S3-to-Lambda notifications, ``version-id`` of versioned buckets, the
``s3:TestEvent`` message S3 sends when a queue or topic is configured, and an overwrite
with the same bytes within the same second (nothing in a listing tells it apart).
Settings that are not emulated raise ``NotImplementedError`` when the stack is deployed.
Where AWS leaves a point open the choice is one named constant or function below
(``# UNSPECIFIED`` marks them).
"""

from __future__ import annotations

import base64
import bisect
import gzip
import itertools
import json
import re
import uuid
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lambda_blueprints.testing._cloudformation import Deployment, Resource, deploys
from lambda_blueprints.testing.activity import (
    ActivityLog,
    FailureRecord,
    Invocation,
    InvocationThrottled,
    Invoker,
    InvokeResult,
    Outcome,
)
from lambda_blueprints.testing.clock import Clock
from lambda_blueprints.testing.events import (
    FIREHOSE_MAX_RECORD_BYTES,
    validate_firehose_response,
)
from lambda_blueprints.testing.kinesis import KinesisReads, kinesis_retention

# S3 notifications live in :mod:`lambda_blueprints.testing.s3`; re-exported here.
from lambda_blueprints.testing.s3 import BucketNotifications as BucketNotifications
from lambda_blueprints.testing.s3 import PutEvents as PutEvents
from lambda_blueprints.testing.s3 import SendMessage as SendMessage
from lambda_blueprints.testing.streams import MAX_PAYLOAD_BYTES, KinesisStreamSource

MIB = 1024 * 1024
#: ``<stream name>-<version>-...``: the version starts at 1 and grows with each update.
DELIVERY_STREAM_VERSION = 1

#: ``BufferingHints`` of an S3 destination: defaults and ranges.
DEFAULT_BUFFER_INTERVAL_SECONDS = 300
DEFAULT_BUFFER_SIZE_MIB = 5
BUFFER_INTERVAL_RANGE = (0, 900)
BUFFER_SIZE_MIB_RANGE = (1, 128)

#: ``Lambda`` processor parameters: defaults and ranges.
DEFAULT_NUMBER_OF_RETRIES = 3
DEFAULT_PROCESSOR_BUFFER_SIZE_MIB = 1.0
DEFAULT_PROCESSOR_BUFFER_INTERVAL_SECONDS = 60
# UNSPECIFIED: the documentation gives no range for NumberOfRetries; the emulator takes
# 0-300.
NUMBER_OF_RETRIES_RANGE = (0, 300)
PROCESSOR_BUFFER_SIZE_MIB_RANGE = (0.2, 3.0)
PROCESSOR_BUFFER_INTERVAL_RANGE = (0, 900)

#: Object name extensions of the supported ``CompressionFormat`` values.
COMPRESSION_EXTENSIONS = {"UNCOMPRESSED": "", "GZIP": ".gz"}
#: Valid ``CompressionFormat`` values that the local cloud does not compress with.
UNSUPPORTED_COMPRESSION = frozenset({"ZIP", "Snappy", "HADOOP_SNAPPY"})

#: ``!{firehose:error-output-type}`` of transformation failures.
PROCESSING_FAILED = "processing-failed"
# UNSPECIFIED: the documented examples disagree on the default error prefix; the emulator
# puts the error output type as a folder after Prefix, then the default time folders.
DEFAULT_ERROR_PREFIX = "!{firehose:error-output-type}/"
#: What Firehose appends to a prefix without ``!{timestamp:...}`` expressions.
DEFAULT_TIME_PREFIX = "yyyy/MM/dd/HH/"

#: Error codes and messages of error records. The documentation lists the invocation errors;
#: ``Lambda.ProcessingFailedStatus`` is the code delivered error objects carry for records
#: answered ``ProcessingFailed``.
FUNCTION_ERROR = (
    "Lambda.FunctionError",
    "The Lambda function was successfully invoked but it returned an error result.",
)
PROCESSING_FAILED_STATUS = (
    "Lambda.ProcessingFailedStatus",
    "ProcessingFailed status set for record",
)
INVOKE_LIMIT_EXCEEDED = (
    "Lambda.InvokeLimitExceeded",
    "The Lambda concurrent execution limit was exceeded.",
)
MISSING_RECORD_ID = (
    "Lambda.MissingRecordId",
    "The function did not return every record id it received.",
)
DUPLICATED_RECORD_ID = (
    "Lambda.DuplicatedRecordId",
    "The function returned a record id more than once.",
)
JSON_PROCESSING_EXCEPTION = (
    "Lambda.JsonProcessingException",
    "The function's response does not follow the Firehose data transformation status model.",
)
# UNSPECIFIED: a response that breaks the contract is retried like a function error.
RETRY_INVALID_RESPONSES = True

_EXPRESSION = re.compile(r"!\{([^:{}]*):([^{}]*)\}")
_JAVA_TOKEN = re.compile(r"''|'(?:[^']|'')*'|([A-Za-z])\1*|.", re.DOTALL)
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_FILE_EXTENSION = re.compile(r"\.[0-9a-z!\-_.*'()]+")


class InvalidArgumentError(ValueError):
    """A setting Firehose would reject (``InvalidArgumentException``)."""


# --- prefixes -------------------------------------------------------------------------------


def java_time_format(pattern: str, moment: datetime) -> str:
    """Format ``moment`` with a Java ``DateTimeFormatter`` pattern, as Firehose prefixes do.

    Supported letters: ``y``/``u`` (year; ``yy`` is two digits), ``M`` (month; ``MMM`` and
    ``MMMM`` are English names), ``d``, ``H``, ``m``, ``s`` (one letter unpadded, two padded)
    and ``S`` (fraction of a second). Text in single quotes is literal, ``''`` is a quote,
    and other characters stand for themselves.

    Raises:
        NotImplementedError: For any other pattern letter.
    """
    out: list[str] = []
    for match in _JAVA_TOKEN.finditer(pattern):
        piece = match.group(0)
        if piece == "''":
            out.append("'")
        elif piece.startswith("'"):
            out.append(piece[1:-1].replace("''", "'"))
        elif match.group(1) is None:
            out.append(piece)
        else:
            out.append(_java_field(piece[0], len(piece), moment, pattern))
    return "".join(out)


def _java_field(letter: str, count: int, moment: datetime, pattern: str) -> str:
    if letter in "yu":
        return f"{moment.year % 100:02d}" if count == 2 else f"{moment.year:0{count}d}"
    if letter == "M" and count >= 3:
        name = _MONTHS[moment.month - 1]
        return name if count >= 4 else name[:3]
    numbers = {
        "M": moment.month,
        "d": moment.day,
        "H": moment.hour,
        "m": moment.minute,
        "s": moment.second,
    }
    if letter in numbers and count <= 2:
        return f"{numbers[letter]:0{count}d}"
    if letter == "S":
        return f"{moment.microsecond:06d}".ljust(count, "0")[:count]
    raise NotImplementedError(
        f"timestamp pattern {pattern!r}: {letter * count!r} is not supported by the local "
        "cloud; use y, M, d, H, m, s and S"
    )


def _random_string() -> str:
    """``!{firehose:random-string}``: 11 characters, new at every use."""
    text = uuid.uuid4().hex
    return f"{text[:8]}-{text[8:10]}"


@dataclass(frozen=True)
class _Prefix:
    """A ``Prefix`` or ``ErrorOutputPrefix`` template, checked once and evaluated per object.

    Attributes:
        template: The prefix as configured.
        time_folders: Append ``YYYY/MM/dd/HH/`` when the template has no timestamp: true for
            ``Prefix`` and for the error prefix derived from it, false for an explicit
            ``ErrorOutputPrefix``.
    """

    template: str
    time_folders: bool = True

    @property
    def has_timestamp(self) -> bool:
        return any(m.group(1) == "timestamp" for m in _EXPRESSION.finditer(self.template))

    def evaluate(self, moment: datetime, error_output_type: str | None = None) -> str:
        def replace(match: re.Match[str]) -> str:
            namespace, value = match.groups()
            if namespace == "timestamp":
                return java_time_format(value, moment)
            if value == "random-string":
                return _random_string()
            return error_output_type or ""

        text = _EXPRESSION.sub(replace, self.template)
        # The semantic rule appends the time folders to "the value in the Prefix field"
        # only; its example evaluates an ErrorOutputPrefix without timestamp as it is.
        if self.time_folders and not self.has_timestamp:
            text += java_time_format(DEFAULT_TIME_PREFIX, moment)
        return text


def _check_prefix(name: str, template: str, *, error: bool) -> _Prefix:
    expressions = list(_EXPRESSION.finditer(template))
    if "!{" in _EXPRESSION.sub("", template):
        raise InvalidArgumentError(
            f"{name} {template!r}: '!{{' may only open a !{{namespace:value}} expression"
        )
    for match in expressions:
        namespace, value = match.groups()
        if namespace in ("partitionKeyFromQuery", "partitionKeyFromLambda"):
            raise NotImplementedError(
                f"{name} {template!r}: dynamic partitioning is not emulated by the local cloud"
            )
        if namespace == "timestamp":
            java_time_format(value, datetime(2020, 1, 2, 3, 4, 5, 6789, tzinfo=UTC))
        elif namespace == "firehose" and value == "error-output-type":
            if not error:
                raise InvalidArgumentError(
                    f"{name} {template!r}: !{{firehose:error-output-type}} belongs in "
                    "ErrorOutputPrefix only"
                )
        elif namespace != "firehose" or value != "random-string":
            raise InvalidArgumentError(
                f"{name} {template!r}: unknown expression {match.group(0)!r}; use "
                "!{timestamp:...}, !{firehose:random-string} or !{firehose:error-output-type}"
            )
    if error and expressions and "!{firehose:error-output-type}" not in template:
        raise InvalidArgumentError(
            f"{name} {template!r}: an ErrorOutputPrefix with expressions must contain "
            "!{firehose:error-output-type}"
        )
    return _Prefix(template, time_folders=not error)


# --- settings -------------------------------------------------------------------------------


def _number(name: str, value: Any, low: float, high: float, *, integer: bool = True) -> float:
    try:
        number = int(value) if integer else float(value)
    except (TypeError, ValueError):
        number = None
    if isinstance(value, bool) or number is None or not low <= number <= high:
        raise InvalidArgumentError(f"{name}={value!r} is out of range: allowed {low}-{high}")
    return number


def _enabled(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


@dataclass(frozen=True)
class LambdaProcessor:
    """A ``Lambda`` data processor.

    Attributes:
        lambda_arn: ``LambdaArn``: the function to invoke.
        number_of_retries: ``NumberOfRetries`` after a failed invocation (0-300).
        buffer_size_mib: ``BufferSizeInMBs``: data per invocation (0.2-3).
        buffer_interval_seconds: ``BufferIntervalInSeconds`` (0-900); validated only.
    """

    lambda_arn: str
    number_of_retries: int = DEFAULT_NUMBER_OF_RETRIES
    buffer_size_mib: float = DEFAULT_PROCESSOR_BUFFER_SIZE_MIB
    buffer_interval_seconds: int = DEFAULT_PROCESSOR_BUFFER_INTERVAL_SECONDS

    def __post_init__(self) -> None:
        if not self.lambda_arn:
            raise InvalidArgumentError("the Lambda processor has no LambdaArn parameter")
        for name, attribute, bounds, integer in (
            ("NumberOfRetries", "number_of_retries", NUMBER_OF_RETRIES_RANGE, True),
            ("BufferSizeInMBs", "buffer_size_mib", PROCESSOR_BUFFER_SIZE_MIB_RANGE, False),
            (
                "BufferIntervalInSeconds",
                "buffer_interval_seconds",
                PROCESSOR_BUFFER_INTERVAL_RANGE,
                True,
            ),
        ):
            value = _number(name, getattr(self, attribute), *bounds, integer=integer)
            # Template parameters are text: keep numbers.
            object.__setattr__(self, attribute, value)

    @property
    def function_name(self) -> str:
        """The function name in ``lambda_arn``."""
        return self.lambda_arn.split(":function:")[-1].split(":")[0]

    @classmethod
    def from_processing_configuration(
        cls, configuration: Mapping[str, Any] | None
    ) -> LambdaProcessor | None:
        """Read ``ProcessingConfiguration``; None when processing is off.

        Raises:
            NotImplementedError: For processors other than one ``Lambda`` processor.
            InvalidArgumentError: For a parameter out of range or a missing ``LambdaArn``.
        """
        if not configuration or not _enabled(configuration.get("Enabled", False)):
            return None
        processors = list(configuration.get("Processors") or [])
        others = sorted({str(p.get("Type")) for p in processors if p.get("Type") != "Lambda"})
        if others or len(processors) > 1:
            raise NotImplementedError(
                f"processors {', '.join(others) or 'Lambda, Lambda'} are not emulated by the "
                "local cloud: use one Lambda processor"
            )
        if not processors:
            return None
        parameters = {
            str(p["ParameterName"]): p["ParameterValue"]
            for p in processors[0].get("Parameters", [])
        }
        return cls(
            lambda_arn=str(parameters.get("LambdaArn") or ""),
            number_of_retries=parameters.get("NumberOfRetries", DEFAULT_NUMBER_OF_RETRIES),
            buffer_size_mib=parameters.get("BufferSizeInMBs", DEFAULT_PROCESSOR_BUFFER_SIZE_MIB),
            buffer_interval_seconds=parameters.get(
                "BufferIntervalInSeconds", DEFAULT_PROCESSOR_BUFFER_INTERVAL_SECONDS
            ),
        )


@dataclass(frozen=True)
class S3Destination:
    """An S3 destination, read from ``ExtendedS3DestinationConfiguration``.

    Attributes:
        bucket: The bucket name (from ``BucketARN``).
        prefix: ``Prefix``.
        error_output_prefix: ``ErrorOutputPrefix``, None for the default.
        buffer_interval_seconds: ``BufferingHints.IntervalInSeconds`` (0-900).
        buffer_size_mib: ``BufferingHints.SizeInMBs`` (1-128).
        compression: ``CompressionFormat``: ``UNCOMPRESSED`` or ``GZIP``.
        file_extension: ``FileExtension``, replacing the compression's extension.
        time_zone: ``CustomTimeZone``; UTC when None.
        processor: The Lambda processor, if any.
    """

    bucket: str
    prefix: str = ""
    error_output_prefix: str | None = None
    buffer_interval_seconds: int = DEFAULT_BUFFER_INTERVAL_SECONDS
    buffer_size_mib: int = DEFAULT_BUFFER_SIZE_MIB
    compression: str = "UNCOMPRESSED"
    file_extension: str | None = None
    time_zone: str | None = None
    processor: LambdaProcessor | None = None
    _prefixes: tuple[_Prefix, _Prefix] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name, attribute, bounds in (
            ("BufferingHints.IntervalInSeconds", "buffer_interval_seconds", BUFFER_INTERVAL_RANGE),
            ("BufferingHints.SizeInMBs", "buffer_size_mib", BUFFER_SIZE_MIB_RANGE),
        ):
            object.__setattr__(self, attribute, _number(name, getattr(self, attribute), *bounds))
        if self.compression in UNSUPPORTED_COMPRESSION:
            raise NotImplementedError(
                f"CompressionFormat {self.compression} is not emulated by the local cloud: "
                "use UNCOMPRESSED or GZIP"
            )
        if self.compression not in COMPRESSION_EXTENSIONS:
            raise InvalidArgumentError(
                f"CompressionFormat {self.compression!r} is not one of UNCOMPRESSED, GZIP, ZIP, "
                "Snappy, HADOOP_SNAPPY"
            )
        if self.file_extension and not _FILE_EXTENSION.fullmatch(self.file_extension):
            raise InvalidArgumentError(
                f"FileExtension {self.file_extension!r} must start with '.' and use lowercase "
                "letters, digits and !-_.*'()"
            )
        prefix = _check_prefix("Prefix", self.prefix, error=False)
        if self.error_output_prefix is None:
            if _EXPRESSION.search(self.prefix):
                raise InvalidArgumentError(
                    f"Prefix {self.prefix!r} has expressions, so ErrorOutputPrefix is required"
                )
            error = _Prefix(self.prefix + DEFAULT_ERROR_PREFIX)
        else:
            error = _check_prefix("ErrorOutputPrefix", self.error_output_prefix, error=True)
        object.__setattr__(self, "_prefixes", (prefix, error))
        self.zone()

    @classmethod
    def from_configuration(
        cls, configuration: Mapping[str, Any], *, extended: bool
    ) -> S3Destination:
        """Read an ``(Extended)S3DestinationConfiguration``.

        Raises:
            NotImplementedError: For dynamic partitioning, format conversion, source record
                backup or an unsupported compression format or processor.
            InvalidArgumentError: For a setting Firehose would reject.
        """
        # Format conversion is on by default once configured; dynamic partitioning is off.
        for feature, key, default in (
            ("dynamic partitioning", "DynamicPartitioningConfiguration", False),
            ("record format conversion", "DataFormatConversionConfiguration", True),
        ):
            if key in configuration and _enabled(configuration[key].get("Enabled", default)):
                raise NotImplementedError(f"{feature} is not emulated by the local cloud")
        if configuration.get("S3BackupMode", "Disabled") != "Disabled":
            raise NotImplementedError("source record backup is not emulated by the local cloud")
        hints = configuration.get("BufferingHints") or {}
        return cls(
            bucket=str(configuration["BucketARN"]).rsplit(":", 1)[-1],
            prefix=str(configuration.get("Prefix") or ""),
            error_output_prefix=configuration.get("ErrorOutputPrefix") or None,
            buffer_interval_seconds=hints.get("IntervalInSeconds", DEFAULT_BUFFER_INTERVAL_SECONDS),
            buffer_size_mib=hints.get("SizeInMBs", DEFAULT_BUFFER_SIZE_MIB),
            compression=str(configuration.get("CompressionFormat") or "UNCOMPRESSED"),
            file_extension=configuration.get("FileExtension") or None,
            time_zone=configuration.get("CustomTimeZone") or None,
            processor=(
                LambdaProcessor.from_processing_configuration(
                    configuration.get("ProcessingConfiguration")
                )
                if extended
                else None
            ),
        )

    @property
    def buffer_size_bytes(self) -> int:
        """The size hint in bytes."""
        return int(self.buffer_size_mib) * MIB

    @property
    def extension(self) -> str:
        """The object name extension."""
        if self.file_extension is not None:
            return self.file_extension
        return COMPRESSION_EXTENSIONS[self.compression]

    def zone(self) -> tzinfo:
        """The time zone of prefixes and object names.

        Raises:
            InvalidArgumentError: For an unknown ``CustomTimeZone``.
        """
        if self.time_zone in (None, "UTC"):
            return ZoneInfo("UTC")
        try:
            return ZoneInfo(str(self.time_zone))
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise InvalidArgumentError(f"CustomTimeZone {self.time_zone!r} is unknown") from error

    def data_prefix(self, moment: datetime) -> str:
        """The evaluated ``Prefix`` of a data object."""
        return self._prefixes[0].evaluate(moment)

    def error_prefix(self, moment: datetime, error_output_type: str) -> str:
        """The evaluated ``ErrorOutputPrefix`` of an error object."""
        return self._prefixes[1].evaluate(moment, error_output_type)

    def compress(self, data: bytes) -> bytes:
        """The object body for ``data``."""
        if self.compression == "GZIP":
            return gzip.compress(data, compresslevel=1, mtime=0)
        return data


def delivery_stream_source_and_destination(
    properties: Mapping[str, Any],
) -> tuple[str | None, S3Destination]:
    """Read an ``AWS::KinesisFirehose::DeliveryStream``: (Kinesis stream ARN, destination).

    Raises:
        NotImplementedError: For sources and destinations the local cloud does not emulate.
        InvalidArgumentError: For a setting Firehose would reject.
    """
    kind = str(properties.get("DeliveryStreamType") or "DirectPut")
    source_arn: str | None = None
    if kind == "KinesisStreamAsSource":
        source = properties.get("KinesisStreamSourceConfiguration") or {}
        if not source.get("KinesisStreamARN"):
            raise InvalidArgumentError(
                "KinesisStreamAsSource needs KinesisStreamSourceConfiguration.KinesisStreamARN"
            )
        source_arn = str(source["KinesisStreamARN"])
    elif kind != "DirectPut":
        raise NotImplementedError(
            f"DeliveryStreamType {kind} is not emulated by the local cloud: use DirectPut or "
            "KinesisStreamAsSource"
        )
    destinations = sorted(key for key in properties if key.endswith("DestinationConfiguration"))
    others = [
        d
        for d in destinations
        if d not in ("ExtendedS3DestinationConfiguration", "S3DestinationConfiguration")
    ]
    if others:
        raise NotImplementedError(
            f"{', '.join(others)}: only S3 destinations are emulated by the local cloud"
        )
    if len(destinations) != 1:
        raise InvalidArgumentError(
            "a delivery stream needs exactly one of ExtendedS3DestinationConfiguration and "
            "S3DestinationConfiguration"
        )
    (key,) = destinations
    destination = S3Destination.from_configuration(
        properties[key], extended=key == "ExtendedS3DestinationConfiguration"
    )
    return source_arn, destination


# --- the delivery stream --------------------------------------------------------------------


@dataclass(frozen=True)
class _Record:
    record_id: str
    data: bytes
    arrival: float
    kinesis: dict[str, Any] | None = None

    def event_record(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            "recordId": self.record_id,
            "approximateArrivalTimestamp": _ms(self.arrival),
            "data": base64.b64encode(self.data).decode("ascii"),
        }
        if self.kinesis is not None:
            record["kinesisRecordMetadata"] = dict(self.kinesis)
        return record


@dataclass(frozen=True)
class _Failure:
    record: _Record
    code: str
    message: str
    attempts: int
    ended_at: float


def _ms(epoch_seconds: float) -> int:
    return round(epoch_seconds * 1000)


def record_bytes(data: bytes | bytearray | str | Mapping[str, Any]) -> bytes:
    """A record as Firehose stores it: bytes as they are, text as UTF-8, mappings as JSON.

    Raises:
        TypeError: For another type.
        ValueError: For a record over 1,000 KiB.
    """
    if isinstance(data, bytes | bytearray):
        payload = bytes(data)
    elif isinstance(data, str):
        payload = data.encode()
    elif isinstance(data, Mapping):
        payload = json.dumps(data, separators=(",", ":")).encode()
    else:
        raise TypeError(f"a Firehose record is bytes, str or a mapping, not {type(data).__name__}")
    if len(payload) > FIREHOSE_MAX_RECORD_BYTES:
        raise ValueError(
            f"a Firehose record holds at most 1,000 KiB; this one has {len(payload)} bytes"
        )
    return payload


class FirehoseDeliveryStream:
    """One Firehose stream delivering to S3, driven by the local cloud's clock.

    Args:
        name: The delivery stream name.
        arn: Its ARN.
        destination: The S3 destination (with its processor).
        s3_client: Writes the objects.
        invoke: Calls the transformation function synchronously.
        log: Receives invocations and error objects.
        clock: The local cloud's clock.
        source: The Kinesis data stream of a ``KinesisStreamAsSource`` stream; None for
            ``DirectPut``.
    """

    def __init__(
        self,
        *,
        name: str,
        arn: str,
        destination: S3Destination,
        s3_client: Any,
        invoke: Invoker,
        log: ActivityLog,
        clock: Clock,
        source: KinesisStreamSource | None = None,
    ) -> None:
        self.name = name
        self.arn = arn
        self.region = arn.split(":")[3]
        self.destination = destination
        self.source = source
        self._s3 = s3_client
        self._invoke = invoke
        self._log = log
        self._clock = clock
        self._zone = destination.zone()
        self._buffer: deque[_Record] = deque()
        self._buffered_bytes = 0
        self._read: dict[str, int] = {}  # the last sequence number read, by shard
        self._record_ids = itertools.count(49_600_000_000_000_000_000_000_000_000_000_000_000)

    # -- input -----------------------------------------------------------------------------

    def put_records(self, records: Sequence[bytes | bytearray | str | Mapping[str, Any]]) -> None:
        """Accept records sent with ``PutRecord``/``PutRecordBatch`` (``DirectPut`` only).

        Raises:
            InvalidArgumentError: On a stream that reads a Kinesis data stream.
            TypeError: When ``records`` is not a sequence of records.
            ValueError: On a record over 1,000 KiB.
        """
        if self.source is not None:
            raise InvalidArgumentError(
                f"{self.name} reads a Kinesis data stream: put records into that stream"
            )
        if isinstance(records, str | bytes | bytearray | Mapping):
            raise TypeError("put_records takes a sequence of records, not a single record")
        payloads = [record_bytes(record) for record in records]
        now = self._clock.now()
        for payload in payloads:
            self._append(_Record(str(next(self._record_ids)), payload, now))

    def _append(self, record: _Record) -> None:
        self._buffer.append(record)
        self._buffered_bytes += len(record.data)

    def _read_source(self) -> None:
        if self.source is None:
            return
        for shard_id in self.source.shard_ids():
            records = self.source.read(shard_id)
            start = bisect.bisect_right(
                records, self._read.get(shard_id, -1), key=lambda r: r.sequence_number
            )
            for record in records[start:]:
                body = record.record["kinesis"]
                arrival_ms = _ms(record.arrival)
                self._append(
                    _Record(
                        str(next(self._record_ids)),
                        base64.b64decode(body["data"]),
                        record.arrival,
                        {
                            "shardId": shard_id,
                            "partitionKey": body["partitionKey"],
                            "approximateArrivalTimestamp": arrival_ms,
                            "sequenceNumber": body["sequenceNumber"],
                            "subsequenceNumber": 0,
                        },
                    )
                )
            if len(records) > start:
                self._read[shard_id] = records[-1].sequence_number
                # Every record read is in the buffer now: the source may forget them.
                release = getattr(self.source, "release", None)
                if release is not None:
                    release(shard_id, records[-1].sequence_number)

    # -- timing ----------------------------------------------------------------------------

    @property
    def buffered(self) -> int:
        """How many records wait in the buffer."""
        return len(self._buffer)

    def next_deadline(self) -> float | None:
        """When the buffer's interval ends, or None when it is empty."""
        if not self._buffer:
            return None
        return self._buffer[0].arrival + self.destination.buffer_interval_seconds

    def _due(self) -> bool:
        if not self._buffer:
            return False
        if self._buffered_bytes >= self.destination.buffer_size_bytes:
            return True
        deadline = self.next_deadline()
        return deadline is not None and self._clock.now() >= deadline

    def poll(self) -> bool:
        """Read the source and deliver every buffer that is due; True if anything was written."""
        self._read_source()
        moved = False
        while self._due():
            self._deliver(self._take())
            moved = True
        return moved

    def flush(self) -> bool:
        """Deliver everything buffered now, due or not; True if there was anything."""
        self._read_source()
        moved = bool(self._buffer)
        while self._buffer:
            self._deliver(self._take())
        return moved

    def _take(self) -> list[_Record]:
        batch: list[_Record] = []
        size = 0
        limit = self.destination.buffer_size_bytes
        while self._buffer and (not batch or size + len(self._buffer[0].data) <= limit):
            record = self._buffer.popleft()
            batch.append(record)
            size += len(record.data)
        self._buffered_bytes -= size
        return batch

    # -- delivery --------------------------------------------------------------------------

    def _deliver(self, batch: list[_Record]) -> None:
        failures: list[_Failure] = []
        if self.destination.processor is None:
            delivered = batch
        else:
            delivered, failures = self._transform(batch, self.destination.processor)
        if delivered:
            oldest = min(r.arrival for r in delivered)
            moment = datetime.fromtimestamp(oldest, self._zone)
            self._put(
                self.destination.data_prefix(moment), moment, b"".join(r.data for r in delivered)
            )
        if failures:
            self._put_failures(failures)

    def _put(self, prefix: str, moment: datetime, body: bytes) -> str:
        key = (
            f"{prefix}{self.name}-{DELIVERY_STREAM_VERSION}-{moment:%Y-%m-%d-%H-%M-%S}-"
            f"{uuid.uuid4()}{self.destination.extension}"
        )
        self._s3.put_object(
            Bucket=self.destination.bucket, Key=key, Body=self.destination.compress(body)
        )
        return key

    def _put_failures(self, failures: Sequence[_Failure]) -> None:
        processor = self.destination.processor
        assert processor is not None  # noqa: S101 - only transformations fail records
        lines = [
            {
                "attemptsMade": f.attempts,
                "arrivalTimestamp": _ms(f.record.arrival),
                "errorCode": f.code,
                "errorMessage": f.message,
                "attemptEndingTimestamp": _ms(f.ended_at),
                "rawData": base64.b64encode(f.record.data).decode("ascii"),
                "lambdaArn": processor.lambda_arn,
            }
            for f in failures
        ]
        moment = datetime.fromtimestamp(min(f.record.arrival for f in failures), self._zone)
        body = "".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines)
        key = self._put(
            self.destination.error_prefix(moment, PROCESSING_FAILED), moment, body.encode()
        )
        self._log.add(
            FailureRecord(
                source="firehose",
                mapping_id=self.name,
                destination=f"arn:aws:s3:::{self.destination.bucket}/{key}",
                condition=PROCESSING_FAILED,
                body=lines,
                items=tuple(f.record.record_id for f in failures),
                at=self._clock.now(),
            )
        )

    # -- transformation --------------------------------------------------------------------

    def _transform(
        self, batch: Sequence[_Record], processor: LambdaProcessor
    ) -> tuple[list[_Record], list[_Failure]]:
        delivered: list[_Record] = []
        failures: list[_Failure] = []
        for chunk in self._chunks(batch, processor):
            ok, failed = self._invoke_chunk(chunk, processor)
            delivered.extend(ok)
            failures.extend(failed)
        return delivered, failures

    def _chunks(
        self, batch: Sequence[_Record], processor: LambdaProcessor
    ) -> Iterable[list[_Record]]:
        """Split a flush into invocations by the processor's size and Lambda's payload limit."""
        limit = int(processor.buffer_size_mib * MIB)
        envelope = len(json.dumps(self._event([], "0" * 36), separators=(",", ":")).encode())
        chunk: list[_Record] = []
        data = 0
        payload = envelope
        for record in batch:
            size = len(json.dumps(record.event_record(), separators=(",", ":")).encode()) + 1
            if chunk and (data + len(record.data) > limit or payload + size > MAX_PAYLOAD_BYTES):
                yield chunk
                chunk, data, payload = [], 0, envelope
            chunk.append(record)
            data += len(record.data)
            payload += size
        if chunk:
            yield chunk

    def _event(self, chunk: Sequence[_Record], invocation_id: str) -> dict[str, Any]:
        event: dict[str, Any] = {"invocationId": invocation_id}
        if self.source is not None:
            event["sourceKinesisStreamArn"] = self.source.arn
        event.update(
            {
                "deliveryStreamArn": self.arn,
                "region": self.region,
                "records": [record.event_record() for record in chunk],
            }
        )
        return event

    def _invoke_chunk(
        self, chunk: Sequence[_Record], processor: LambdaProcessor
    ) -> tuple[list[_Record], list[_Failure]]:
        event = self._event(chunk, str(uuid.uuid4()))
        attempts = 0
        while True:
            attempts += 1
            try:
                result = self._invoke(processor.lambda_arn, event)
            except InvocationThrottled:
                # Never reached the function: nothing to log, but it counts as an attempt.
                problem, final = INVOKE_LIMIT_EXCEEDED, False
            else:
                judged = judge_response(event, result)
                self._log_invocation(processor, chunk, event, result, judged, attempts - 1)
                if judged is None:
                    return self._results(chunk, result.payload, attempts)
                problem, final = judged, result.ok and not RETRY_INVALID_RESPONSES
            if final or attempts > processor.number_of_retries:
                now = self._clock.now()
                return [], [_Failure(r, *problem, attempts, now) for r in chunk]

    def _results(
        self, chunk: Sequence[_Record], payload: Mapping[str, Any], attempts: int
    ) -> tuple[list[_Record], list[_Failure]]:
        answers = {answer["recordId"]: answer for answer in payload["records"]}
        delivered: list[_Record] = []
        failures: list[_Failure] = []
        now = self._clock.now()
        # Firehose keeps the order in which records arrived, whatever the response's order.
        for record in chunk:
            answer = answers[record.record_id]
            if answer["result"] == "Ok":
                data = base64.b64decode(answer["data"])
                delivered.append(_Record(record.record_id, data, record.arrival, record.kinesis))
            elif answer["result"] == "ProcessingFailed":
                failures.append(_Failure(record, *PROCESSING_FAILED_STATUS, attempts, now))
        return delivered, failures

    def _log_invocation(
        self,
        processor: LambdaProcessor,
        chunk: Sequence[_Record],
        event: dict[str, Any],
        result: InvokeResult,
        problem: tuple[str, str] | None,
        attempt: int,
    ) -> None:
        outcome: Outcome = "failure"
        if problem is None:
            failed = any(a.get("result") == "ProcessingFailed" for a in result.payload["records"])
            outcome = "partial" if failed else "success"
        self._log.add(
            Invocation(
                source="firehose",
                mapping_id=self.name,
                function=processor.function_name,
                items=tuple(r.record_id for r in chunk),
                event=event,
                result=result,
                outcome=outcome,
                attempt=attempt,
                at=self._clock.now(),
            )
        )


def judge_response(event: Mapping[str, Any], result: InvokeResult) -> tuple[str, str] | None:
    """Why Firehose rejects an invocation result, as ``(errorCode, errorMessage)``; None if not.

    A function error or timeout is ``Lambda.FunctionError``; a response that breaks the
    status model is ``Lambda.DuplicatedRecordId``, ``Lambda.MissingRecordId`` (ids left out
    or unknown) or ``Lambda.JsonProcessingException`` (anything else).
    """
    if not result.ok:
        # UNSPECIFIED: a timeout reaches Firehose as a function error, like any other.
        return FUNCTION_ERROR
    payload = result.payload
    if not isinstance(payload, Mapping) or not isinstance(payload.get("records"), list):
        return JSON_PROCESSING_EXCEPTION
    expected = {str(record["recordId"]) for record in event["records"]}
    answered = [r.get("recordId") if isinstance(r, Mapping) else None for r in payload["records"]]
    if len(set(map(str, answered))) != len(answered):
        return DUPLICATED_RECORD_ID
    if set(map(str, answered)) != expected:
        return MISSING_RECORD_ID
    try:
        validate_firehose_response(event, payload)
    except ValueError:
        return JSON_PROCESSING_EXCEPTION
    return None


class DeliveryStreams(dict[str, FirehoseDeliveryStream]):
    """The local cloud's Firehose delivery streams, by name."""


@deploys("AWS::KinesisFirehose::DeliveryStream")
def _delivery_stream(
    stack: Deployment, kind: str, logical_id: str, props: Mapping[str, Any]
) -> Resource:
    name = props.get("DeliveryStreamName") or stack.name(logical_id, 64)
    arn = stack.arn("firehose", f"deliverystream/{name}")
    source_arn, destination = delivery_stream_source_and_destination(props)
    if destination.processor is not None:
        stack.context.function(destination.processor.lambda_arn)  # deployed, or KeyError now
    stack.service(DeliveryStreams)[name] = FirehoseDeliveryStream(
        name=name,
        arn=arn,
        destination=destination,
        s3_client=stack.context.client("s3"),
        invoke=stack.context.invoke,
        log=stack.context.log,
        clock=stack.context.clock,
        source=(
            KinesisStreamSource(
                source_arn,
                client=stack.service(KinesisReads).reader,
                clock=stack.context.clock,
                retention_seconds=kinesis_retention(stack, source_arn),
                shared_reads=stack.service(KinesisReads).shared_reads,
            )
            if source_arn is not None
            else None
        ),
    )
    return Resource(logical_id, "AWS::KinesisFirehose::DeliveryStream", "", name, {"Arn": arn})
