"""Handlers of the Alleycat racing pattern (Kinesis fan-out, leaderboards, all-time bests)."""
