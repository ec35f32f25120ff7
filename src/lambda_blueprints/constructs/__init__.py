"""Single-concern building blocks: one public construct per module."""

from lambda_blueprints.constructs.stream_trigger import StreamTrigger
from lambda_blueprints.constructs.tumbling_window_aggregator import TumblingWindowAggregator

__all__ = ["StreamTrigger", "TumblingWindowAggregator"]
