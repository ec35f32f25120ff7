"""Handlers of the survivor chat (messages, typing, SMS and alert intake), one table each."""
