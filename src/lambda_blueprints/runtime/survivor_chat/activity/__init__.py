"""Who is typing: the chat's activity API."""
