"""Publishes leaderboard changes from the races table stream to an IoT topic."""
