"""The leaderboard query API."""
