"""Per-window totals of a numeric attribute, from a Kinesis or DynamoDB stream."""
