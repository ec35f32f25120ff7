"""SMS intake: Twilio webhook messages posted into the chat."""
