"""All-time personal bests: the Firehose transform and the delivered-object processor."""
