"""Firehose transform: each record becomes one compact JSON line."""
