"""The registry Django loads: every domain's models, under the app label `gallery`.

Code inside a domain imports a model from its defining module (gallery.studio.models.jobs,
...): this module imports every domain, so importing it from one would tie that domain to
all the others. Tests, the admin and management commands may import from here.
"""

from gallery.api.models.tokens import ApiTask, ApiToken
from gallery.credits.models.budgets import (
    Budget,
    BudgetAlert,
    BudgetRaise,
    BudgetRequest,
    Notice,
)
from gallery.credits.models.credits import CreditAccount, LedgerEntry, month_start
from gallery.credits.models.prices import Price, PriceStatus
from gallery.net.models.throttle import ThrottleCounter
from gallery.studio.models.batches import Batch, BatchJob, BatchRow
from gallery.studio.models.exports import Export
from gallery.studio.models.health import ProviderCall, ProviderCircuit
from gallery.studio.models.jobs import Image, Job, JobEvent
from gallery.studio.models.live import LiveEvent, LiveSeq
from gallery.studio.models.organise import Collection, CollectionItem, ShareLink, Star
from gallery.teams.models.audit import AuditAction, AuditEntry
from gallery.teams.models.projects import Project
from gallery.teams.models.teams import Invite, Membership, Role, Team, token_hash

__all__ = [
    "ApiTask",
    "ApiToken",
    "AuditAction",
    "AuditEntry",
    "Batch",
    "BatchJob",
    "BatchRow",
    "Budget",
    "BudgetAlert",
    "BudgetRaise",
    "BudgetRequest",
    "Collection",
    "CollectionItem",
    "CreditAccount",
    "Export",
    "Image",
    "Invite",
    "Job",
    "JobEvent",
    "LedgerEntry",
    "LiveEvent",
    "LiveSeq",
    "Membership",
    "Notice",
    "Price",
    "PriceStatus",
    "Project",
    "ProviderCall",
    "ProviderCircuit",
    "Role",
    "ShareLink",
    "Star",
    "Team",
    "ThrottleCounter",
    "month_start",
    "token_hash",
]
