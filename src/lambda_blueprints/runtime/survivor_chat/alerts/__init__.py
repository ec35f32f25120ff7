"""Alert intake: panic and motion alerts from an SNS topic posted into the chat."""
