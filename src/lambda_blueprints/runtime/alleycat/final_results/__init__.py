"""Final race results: each racer's finish message, into the races table."""
