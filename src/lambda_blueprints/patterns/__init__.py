"""The blog architectures, composed from the library's constructs."""

from lambda_blueprints.patterns.alleycat import AlleycatRacing, LeaderboardApi
from lambda_blueprints.patterns.survivor_chat import SurvivorChat
from lambda_blueprints.patterns.table_audit_trail import TableAuditTrail

__all__ = ["AlleycatRacing", "LeaderboardApi", "SurvivorChat", "TableAuditTrail"]
