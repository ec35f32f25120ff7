"""Service limits that AWS enforces and moto does not, checked where boto3 writes arrive.

While a local cloud runs, :func:`apply` wraps moto's backends so that what a handler, a
rule action or a test writes through boto3 fails as AWS fails it:

* Kinesis ``PutRecord`` and ``PutRecords``: a record (data blob plus partition key) is at
  most the stream's maximum record size, 1 MiB unless the stream's ``MaxRecordSizeInKiB``
  raises it (to at most 10 MiB); a partition key has at most 256 characters; a
  ``PutRecords`` request has at most 500 records and 10 MiB in all. moto checks no record
  size in ``PutRecord``, 1 MiB whatever the stream in ``PutRecords``, the request against
  the 5 MiB it took before large records, and long partition keys as an
  ``InvalidArgumentException``. A breach fails the whole request, ``PutRecords``
  included: its per-record ``ErrorCode`` carries throughput and internal failures only.
* IoT Core ``Publish`` (``iot-data``): a payload over 128 KB is refused.
* Route 53: change batches, record names, zones and VPC associations, as
  :mod:`lambda_blueprints.testing.route53` lists (also usable alone, as its
  ``strict_route53()``).

The error codes are AWS's: ``ValidationException`` for a value outside the API's
constraints (the message in the format of AWS's validation errors),
``InvalidArgumentException`` for a request over the total size. UNSPECIFIED: the exact
wording for a record over a raised maximum record size, and the error of an oversized
HTTPS publish (``RequestEntityTooLargeException``, HTTP 413, here), which AWS does not
document.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

#: A Kinesis record (data blob and partition key) by default: 1 MiB.
KINESIS_DEFAULT_MAX_RECORD_BYTES = 1024 * 1024
#: The largest ``MaxRecordSizeInKiB`` a stream takes, and the smallest.
KINESIS_MAX_RECORD_SIZE_KIB_RANGE = (1024, 10240)
#: Records in one ``PutRecords`` request.
KINESIS_MAX_RECORDS_PER_REQUEST = 500
#: Bytes of data blobs and partition keys in one ``PutRecords`` request: 10 MiB.
KINESIS_MAX_REQUEST_BYTES = 10 * 1024 * 1024
#: Characters in a partition key.
KINESIS_MAX_PARTITION_KEY_CHARS = 256

# Where the stream's own maximum record size is kept on moto's stream object.
_MAX_RECORD_BYTES_ATTRIBUTE = "_local_cloud_max_record_bytes"


def set_kinesis_max_record_size(stream_arn: str, kib: int) -> None:
    """Give a stream of the running moto a maximum record size (``MaxRecordSizeInKiB``).

    Raises:
        ValueError: ``kib`` is outside 1024-10240, as CreateStream refuses it.
    """
    low, high = KINESIS_MAX_RECORD_SIZE_KIB_RANGE
    if isinstance(kib, bool) or not isinstance(kib, int) or not low <= kib <= high:
        raise ValueError(
            f"MaxRecordSizeInKiB={kib!r} is out of range: a Kinesis stream takes {low}-{high}"
        )
    from moto.kinesis.models import kinesis_backends

    _, _, _, region, account, _ = stream_arn.split(":", 5)
    stream = kinesis_backends[account][region].describe_stream(
        stream_arn=stream_arn, stream_name=None
    )
    setattr(stream, _MAX_RECORD_BYTES_ATTRIBUTE, kib * 1024)


def apply() -> Callable[[], None]:
    """Install the checks; return a function that restores moto's originals."""
    restores = [_limit_kinesis(), _limit_iot_publish(), _strict_route53()]

    def restore() -> None:
        for undo in reversed(restores):
            undo()

    return restore


# --------------------------------------------------------------------------- errors


def _validation_error(message: str) -> Exception:
    from moto.core.exceptions import JsonRESTError

    return JsonRESTError("ValidationException", f"1 validation error detected: {message}")


def _invalid_argument(message: str) -> Exception:
    from moto.core.exceptions import JsonRESTError

    return JsonRESTError("InvalidArgumentException", message)


# --------------------------------------------------------------------------- Kinesis


def _decoded_size(data: Any) -> int:
    """Bytes of a data blob: moto 5.2.6 passes the bytes, earlier ones the base64 text."""
    if not data:
        return 0
    if isinstance(data, bytes | bytearray):
        return len(data)
    text = str(data)
    padding = len(text) - len(text.rstrip("="))
    return len(text) * 3 // 4 - padding


def _key_size(partition_key: Any) -> int:
    return len(partition_key.encode()) if isinstance(partition_key, str) else 0


def _check_partition_key(partition_key: Any, where: str) -> None:
    if isinstance(partition_key, str) and len(partition_key) > KINESIS_MAX_PARTITION_KEY_CHARS:
        raise _validation_error(
            f"Value '{partition_key}' at '{where}' failed to satisfy constraint: Member must "
            f"have length less than or equal to {KINESIS_MAX_PARTITION_KEY_CHARS}"
        )


def _check_record_size(size: int, limit: int, where: str) -> None:
    if size > limit:
        raise _validation_error(
            f"Value at '{where}' failed to satisfy constraint: the record (data blob and "
            f"partition key) is {size} bytes, more than the stream's maximum record size of "
            f"{limit} bytes"
        )


def _max_record_bytes(stream: Any) -> int:
    limit: int = getattr(stream, _MAX_RECORD_BYTES_ATTRIBUTE, KINESIS_DEFAULT_MAX_RECORD_BYTES)
    return limit


def _limit_kinesis() -> Callable[[], None]:
    try:
        from moto.kinesis.models import KinesisBackend
    except ImportError:  # pragma: no cover - moto without Kinesis
        return lambda: None
    saved = {name: KinesisBackend.__dict__[name] for name in ("put_record", "put_records")}
    original_put_record = saved["put_record"]

    def put_record(
        self: Any,
        stream_arn: str,
        stream_name: str,
        partition_key: str,
        explicit_hash_key: str,
        data: str,
    ) -> Any:
        stream = self.describe_stream(stream_arn=stream_arn, stream_name=stream_name)
        _check_partition_key(partition_key, "partitionKey")
        size = _decoded_size(data) + _key_size(partition_key)
        _check_record_size(size, _max_record_bytes(stream), "data")
        return original_put_record(
            self, stream_arn, stream_name, partition_key, explicit_hash_key, data
        )

    def put_records(
        self: Any, stream_arn: str, stream_name: str, records: Sequence[dict[str, Any]]
    ) -> dict[str, Any]:
        stream = self.describe_stream(stream_arn=stream_arn, stream_name=stream_name)
        if len(records) > KINESIS_MAX_RECORDS_PER_REQUEST:
            raise _validation_error(
                "Value at 'records' failed to satisfy constraint: Member must have length "
                f"less than or equal to {KINESIS_MAX_RECORDS_PER_REQUEST}"
            )
        limit = _max_record_bytes(stream)
        sizes: list[int] = []
        for position, record in enumerate(records, start=1):
            partition_key = record.get("PartitionKey")
            _check_partition_key(partition_key, f"records.{position}.member.partitionKey")
            size = _decoded_size(record.get("Data")) + _key_size(partition_key)
            _check_record_size(size, limit, f"records.{position}.member.data")
            sizes.append(size)
        if sum(sizes) > KINESIS_MAX_REQUEST_BYTES:
            raise _invalid_argument("Records size exceeds 10 MB limit")
        # moto's own put_records refuses requests over 5 MiB, the limit before large
        # records: the records go in one by one, as moto writes them.
        response: dict[str, Any] = {"FailedRecordCount": 0, "Records": []}
        for record in records:
            sequence_number, shard_id = stream.put_record(
                record.get("PartitionKey"), record.get("ExplicitHashKey"), record.get("Data")
            )
            response["Records"].append({"SequenceNumber": sequence_number, "ShardId": shard_id})
        send_metrics = getattr(self, "_send_stream_metrics", None)
        if send_metrics is not None:
            send_metrics(
                stream.stream_name, incoming_bytes=sum(sizes), incoming_records=len(records)
            )
        return response

    setattr(KinesisBackend, "put_record", put_record)  # noqa: B010 - mypy: no method assignment
    setattr(KinesisBackend, "put_records", put_records)  # noqa: B010

    def restore() -> None:
        for name, function in saved.items():
            setattr(KinesisBackend, name, function)

    return restore


# --------------------------------------------------------------------------- IoT


def _limit_iot_publish() -> Callable[[], None]:
    try:
        from moto.core.exceptions import JsonRESTError
        from moto.iotdata.models import IoTDataPlaneBackend
    except ImportError:  # pragma: no cover - moto without IoT
        return lambda: None
    from lambda_blueprints.testing.iot import MAX_MESSAGE_BYTES, PAYLOAD_LIMIT_MESSAGE

    class RequestEntityTooLargeError(JsonRESTError):
        code = 413

    saved = IoTDataPlaneBackend.__dict__["publish"]

    def publish(self: Any, topic: str, payload: bytes | str) -> None:
        size = len(payload.encode() if isinstance(payload, str) else payload or b"")
        if size > MAX_MESSAGE_BYTES:
            raise RequestEntityTooLargeError(
                "RequestEntityTooLargeException",
                f"{PAYLOAD_LIMIT_MESSAGE} The payload is {size} bytes; at most {MAX_MESSAGE_BYTES}",
            )
        saved(self, topic, payload)

    setattr(IoTDataPlaneBackend, "publish", publish)  # noqa: B010 - mypy: no method assignment

    def restore() -> None:
        setattr(IoTDataPlaneBackend, "publish", saved)  # noqa: B010

    return restore


# --------------------------------------------------------------------------- Route 53


def _strict_route53() -> Callable[[], None]:
    from lambda_blueprints.testing import route53

    return route53.apply()
