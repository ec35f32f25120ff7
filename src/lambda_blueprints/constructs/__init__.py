"""Single-concern building blocks: one public construct per module."""

from lambda_blueprints.constructs.stream_trigger import StreamTrigger

__all__ = ["StreamTrigger"]
