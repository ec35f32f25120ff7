"""Dynamic DNS for EC2: Route 53 records that follow instances through their lives."""
