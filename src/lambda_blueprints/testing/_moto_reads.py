"""Kinesis reads for the local cloud's own readers, straight from moto's models.

Event source mappings and Firehose read every Kinesis record the tests write. Going through
boto3 makes moto serialize each ``GetRecords`` page into a response and botocore parse it
back: for a race of 300,000 messages that round trip costs more than everything the
readers do with the records. :class:`MotoKinesisReader` answers the three calls the
readers make (``ListShards``, ``GetShardIterator``, ``GetRecords``) from moto's Kinesis
backend with the result boto3 would have returned: the same iterators (moto composes
them), the same records in the same order, ``Data`` as bytes and the arrival time as an
aware UTC ``datetime`` truncated to the millisecond. Errors are moto's own (an unknown
stream or shard raises moto's ``ResourceNotFoundError``). Only the local cloud's readers
use it; the handlers and the tests' own clients still go through boto3.
"""

from __future__ import annotations

import base64
import datetime
from typing import Any

#: GetRecords' Limit range.
MAX_GET_RECORDS_LIMIT = 10_000


def record_data(record: Any) -> bytes:
    """A moto Kinesis record's data blob: moto 5.2.6 keeps bytes, earlier ones base64 text."""
    data = record.data
    return data if isinstance(data, bytes) else base64.b64decode(data)


def record_arrival(record: Any) -> datetime.datetime:
    """A moto Kinesis record's naive UTC arrival time, whichever way this moto keeps it.

    moto 5.2.6 keeps a datetime in ``created_at``; earlier ones epoch seconds there and the
    datetime in ``created_at_datetime``.
    """
    stored = getattr(record, "created_at_datetime", None)
    return stored if isinstance(stored, datetime.datetime) else record.created_at


def _milliseconds(stored: datetime.datetime) -> datetime.datetime:
    """The naive UTC arrival time moto stores as the API returns it: aware, truncated to the ms."""
    return stored.replace(microsecond=stored.microsecond // 1000 * 1000, tzinfo=datetime.UTC)


class MotoKinesisReader:
    """The Kinesis read calls of a boto3 client, served by moto's backend in-process.

    Args:
        account_id: The account whose backend to read.
        region: The region of the streams.
    """

    def __init__(self, account_id: str, region: str) -> None:
        self._account_id = account_id
        self._region = region

    @property
    def _backend(self) -> Any:
        from moto.kinesis.models import kinesis_backends

        return kinesis_backends[self._account_id][self._region]

    def list_shards(self, *, StreamName: str) -> dict[str, Any]:  # noqa: N803 - boto3's names
        """``ListShards``: every shard of the stream, open or closed, by shard id."""
        stream = self._backend.describe_stream(stream_arn=None, stream_name=StreamName)
        return {"Shards": [{"ShardId": shard_id} for shard_id in sorted(stream.shards)]}

    def get_shard_iterator(
        self,
        *,
        StreamName: str,  # noqa: N803
        ShardId: str,  # noqa: N803
        ShardIteratorType: str,  # noqa: N803
    ) -> dict[str, Any]:
        """``GetShardIterator`` of the types that need no sequence number or timestamp."""
        if ShardIteratorType not in ("TRIM_HORIZON", "LATEST"):
            raise ValueError(f"ShardIteratorType {ShardIteratorType} needs more arguments")
        iterator = self._backend.get_shard_iterator(
            stream_arn=None,
            stream_name=StreamName,
            shard_id=ShardId,
            shard_iterator_type=ShardIteratorType,
            starting_sequence_number=None,
            at_timestamp=None,
        )
        return {"ShardIterator": iterator}

    def get_records(self, *, ShardIterator: str, Limit: int) -> dict[str, Any]:  # noqa: N803
        """``GetRecords``: the records after the iterator, at most ``Limit``."""
        if not 1 <= Limit <= MAX_GET_RECORDS_LIMIT:
            raise ValueError(f"Limit {Limit} is not in 1-{MAX_GET_RECORDS_LIMIT}")
        next_iterator, records, behind = self._backend.get_records(
            stream_arn=None, shard_iterator=ShardIterator, limit=Limit
        )
        return {
            "Records": [
                {
                    "Data": record_data(record),
                    "PartitionKey": record.partition_key,
                    "SequenceNumber": str(record.sequence_number),
                    "ApproximateArrivalTimestamp": _milliseconds(record_arrival(record)),
                }
                for record in records
            ],
            "NextShardIterator": next_iterator,
            "MillisBehindLatest": behind,
        }
