"""The chat messages API: list and post messages; the one writer of message items."""
