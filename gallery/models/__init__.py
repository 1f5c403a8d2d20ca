"""mjweb's models, one module per concern; import them from here."""

from gallery.models.credits import CreditAccount, LedgerEntry, month_start
from gallery.models.jobs import Image, Job, JobEvent
from gallery.models.organise import Collection, CollectionItem, ShareLink, Star
from gallery.models.prices import Price, PriceStatus
from gallery.models.teams import Invite, Membership, Role, Team, token_hash
from gallery.models.throttle import ThrottleCounter
from gallery.models.tokens import ApiTask, ApiToken

__all__ = [
    "ApiTask",
    "ApiToken",
    "Collection",
    "CollectionItem",
    "CreditAccount",
    "Image",
    "Invite",
    "Job",
    "JobEvent",
    "LedgerEntry",
    "Membership",
    "Price",
    "PriceStatus",
    "Role",
    "ShareLink",
    "Star",
    "Team",
    "ThrottleCounter",
    "month_start",
    "token_hash",
]
