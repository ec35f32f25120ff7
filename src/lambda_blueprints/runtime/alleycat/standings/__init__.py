"""Live race standings: a tumbling-window consumer of the bike stream."""
