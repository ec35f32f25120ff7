"""The local cloud: run the library's handlers and stacks offline, in pytest.

Importable without aws_cdk. This release has the pieces handler tests need: a Lambda-like
context, event factories with the exact shapes Lambda delivers, and a reader that turns a
(moto) DynamoDB stream into Lambda event records.
"""

from lambda_blueprints.testing.context import LambdaContext
from lambda_blueprints.testing.dynamodb_streams import read_stream_records
from lambda_blueprints.testing.events import (
    dynamodb_stream_event,
    dynamodb_stream_record,
    to_attribute_value,
)

__all__ = [
    "LambdaContext",
    "dynamodb_stream_event",
    "dynamodb_stream_record",
    "read_stream_records",
    "to_attribute_value",
]
