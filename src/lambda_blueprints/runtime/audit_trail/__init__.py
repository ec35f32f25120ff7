"""Audit trail of a DynamoDB table, written from its stream."""
