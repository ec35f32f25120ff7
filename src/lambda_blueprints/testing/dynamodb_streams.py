"""Read a DynamoDB stream (real or moto) into records shaped as Lambda delivers them.

The code lives in :mod:`lambda_blueprints.testing.dynamodb`; this module keeps its names.
"""

from lambda_blueprints.testing.dynamodb import lambda_record, read_stream_records

__all__ = ["lambda_record", "read_stream_records"]
