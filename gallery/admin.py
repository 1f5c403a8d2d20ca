from django.contrib import admin, messages
from django.contrib.auth import admin as auth_admin
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet

from gallery.models import (
    ApiTask,
    ApiToken,
    AuditEntry,
    Batch,
    BatchJob,
    BatchRow,
    Budget,
    BudgetAlert,
    BudgetRaise,
    BudgetRequest,
    Collection,
    CollectionItem,
    CreditAccount,
    Export,
    Image,
    Invite,
    Job,
    JobEvent,
    LedgerEntry,
    LiveEvent,
    LiveSeq,
    Membership,
    Notice,
    Price,
    PriceStatus,
    Project,
    ProviderCall,
    ProviderCircuit,
    ShareLink,
    Star,
    Team,
    ThrottleCounter,
)
from gallery.teams import audit
from gallery.teams.forms_auth import ThrottledAdminAuthenticationForm
from gallery.teams.usernames import DistinctUsername

# The admin signs in through the same throttle as the site: the same counters
# per account and per address, taken before the password is checked.
admin.site.login_form = ThrottledAdminAuthenticationForm


class UserCreationFormChecked(DistinctUsername, AdminUserCreationForm):
    pass


class UserChangeFormChecked(DistinctUsername, UserChangeForm):
    pass


# Django's user admin, with usernames that look like another user's refused
# when a user is added or renamed, as on the invite's join form.
admin.site.unregister(get_user_model())


@admin.register(get_user_model())
class UserAdmin(auth_admin.UserAdmin):
    add_form = UserCreationFormChecked
    form = UserChangeFormChecked


class MembershipFormSet(BaseInlineFormSet):
    removed_by = None  # the admin's user, set by TeamAdmin.save_formset

    def clean(self) -> None:
        super().clean()
        going = [f.instance for f in self.deleted_forms if f.instance.pk]
        for membership in going:
            if membership.is_admin and membership.removed_at is None:
                admins = Membership.objects.current().filter(team=membership.team_id, role="admin")
                if not admins.exclude(pk__in=[m.pk for m in going]).exists():
                    raise ValidationError("A team keeps at least one admin.")

    def delete_existing(self, obj, commit=True) -> None:
        if commit:
            obj.remove(by=self.removed_by)  # revokes the member's tokens with it

    def save_existing(self, form, obj, commit=True):
        saved = super().save_existing(form, obj, commit=commit)
        if commit and "role" in form.changed_data:
            _audit_role(obj, form.initial.get("role"), self.removed_by)
        return saved


def _audit_role(membership: Membership, before: str | None, by) -> None:
    """A role changed in the site admin gets the audit line the members page writes."""
    audit.record(
        membership.team_id,
        by,
        audit.AuditAction.ROLE,
        f"{membership.user.username}'s role",
        {"role": before},
        {"role": membership.role},
        subject=membership.user,
    )


class MembershipInline(admin.TabularInline):
    model = Membership
    formset = MembershipFormSet
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "time_zone", "created"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]

    def save_formset(self, request, form, formset, change) -> None:
        if isinstance(formset, MembershipFormSet):
            formset.removed_by = request.user
        super().save_formset(request, form, formset, change)

    def save_model(self, request, obj, form, change) -> None:
        if change and {"monthly_limit", "time_zone"} & set(form.changed_data):
            # Through the model's method, so the change gets its audit line.
            Team.objects.get(pk=obj.pk).set_spending(
                monthly_limit=obj.monthly_limit, time_zone=obj.time_zone, by=request.user
            )
        super().save_model(request, obj, form, change)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "team", "role", "created"]
    list_filter = ["role", "team"]
    search_fields = ["user__username", "team__name"]
    autocomplete_fields = ["user", "team"]

    # Removal goes through Membership.remove, which revokes the member's API
    # tokens in the same transaction and refuses the team's last admin. (This
    # admin still refuses to delete a membership whose credit account protects
    # it; the members page removes such a member by marking the row removed.)
    def delete_model(self, request, obj) -> None:
        self.delete_queryset(request, [obj])

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        if change and "role" in form.changed_data:
            _audit_role(obj, form.initial.get("role"), request.user)

    def delete_queryset(self, request, queryset) -> None:
        for membership in queryset:
            try:
                membership.remove(by=request.user)
            except Membership.CannotRemove as refused:  # the team's last admin
                self.message_user(request, str(refused), messages.ERROR)


@admin.register(Invite)
class InviteAdmin(admin.ModelAdmin):
    list_display = ["team", "role", "note", "created_by", "created", "expires_at", "accepted_by"]
    list_filter = ["team", "role"]
    readonly_fields = ["token_hash", "accepted_at", "accepted_by"]


@admin.register(Price)
class PriceAdmin(admin.ModelAdmin):
    list_display = ["provider", "operation", "variant", "usd", "status", "updated"]
    list_editable = ["usd"]
    list_filter = ["provider", "status", "operation"]
    readonly_fields = ["status", "source", "updated"]

    def save_model(self, request, obj, form, change) -> None:
        # An admin's figure is neither the provider's nor our estimate any more.
        if "usd" in form.changed_data:
            obj.status = PriceStatus.ADMIN
            obj.source = f"set by {request.user.username}"
        super().save_model(request, obj, form, change)


class ImageInline(admin.TabularInline):
    model = Image
    extra = 0
    fields = ["index", "status", "width", "height", "bytes", "sha256", "original", "thumbnail"]
    readonly_fields = fields
    can_delete = False


class JobEventInline(admin.TabularInline):
    model = JobEvent
    extra = 0
    fields = ["at", "kind", "message"]
    readonly_fields = fields
    can_delete = False


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = [
        "pk",
        "team",
        "user",
        "operation",
        "provider",
        "status",
        "credits_reserved",
        "credits_charged",
        "created",
    ]
    list_filter = ["status", "provider", "operation", "team"]
    search_fields = ["prompt", "upstream_id", "user__username"]
    # State moves only through the pipeline; the admin looks, it does not edit.
    readonly_fields = [f.name for f in Job._meta.fields]
    exclude = ["callback_token_hash"]
    inlines = [ImageInline, JobEventInline]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    list_display = ["pk", "job", "index", "status", "width", "height", "bytes"]
    list_filter = ["status"]
    readonly_fields = [f.name for f in Image._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(JobEvent)
class JobEventAdmin(admin.ModelAdmin):
    list_display = ["job", "at", "kind", "message"]
    list_filter = ["kind"]
    readonly_fields = ["job", "at", "kind", "message", "data"]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(LiveEvent)
class LiveEventAdmin(admin.ModelAdmin):
    """The change feed, read-only: pages replay it, so an edit would rewrite history."""

    list_display = ["team", "seq", "kind", "job_id", "user_id", "created"]
    list_filter = ["kind"]
    readonly_fields = ["team", "seq", "kind", "job", "user_id", "payload", "created"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ProviderCall)
class ProviderCallAdmin(admin.ModelAdmin):
    """What the pipeline saw of each provider, read-only: the health page's figures."""

    list_display = ["provider", "call", "outcome", "http_status", "latency_ms", "at"]
    list_filter = ["provider", "call", "outcome"]
    readonly_fields = ["provider", "call", "outcome", "http_status", "latency_ms", "at"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ProviderCircuit)
class ProviderCircuitAdmin(admin.ModelAdmin):
    """A provider marked down; clearing `opened at` lets creates through again."""

    list_display = ["provider", "opened_at", "next_probe_at", "backoff_seconds"]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(LiveSeq)
class LiveSeqAdmin(admin.ModelAdmin):
    list_display = ["team", "last"]
    readonly_fields = ["team", "last"]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(CreditAccount)
class CreditAccountAdmin(admin.ModelAdmin):
    list_display = ["membership", "balance", "monthly_limit", "max_in_flight"]
    search_fields = ["membership__user__username", "membership__team__name"]
    # The balance changes only through the ledger (the spend page's Grant and Adjust).
    readonly_fields = ["membership", "balance", "created"]

    def has_add_permission(self, request) -> bool:
        return False

    def save_model(self, request, obj, form, change) -> None:
        # Through the model's method, so the change gets its audit line.
        saved = CreditAccount.objects.get(pk=obj.pk)
        saved.set_limits(
            monthly_limit=obj.monthly_limit, max_in_flight=obj.max_in_flight, by=request.user
        )

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Append-only: visible, never added, changed or deleted here."""

    list_display = ["at", "team", "actor", "action", "target"]
    list_filter = ["action", "team"]
    search_fields = ["target", "actor__username"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(LedgerEntry)
class LedgerEntryAdmin(admin.ModelAdmin):
    """Append-only: visible, never added, changed or deleted here."""

    list_display = ["created", "account", "kind", "amount", "balance_after", "job", "reason"]
    list_filter = ["kind"]
    search_fields = ["reason", "key", "account__membership__user__username"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "prefix",
        "membership",
        "created",
        "expires_at",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = ["membership__team"]
    search_fields = ["name", "prefix", "membership__user__username"]
    readonly_fields = ["prefix", "digest", "created", "last_used_at", "revoked_at", "revoked_by"]

    def has_add_permission(self, request) -> bool:
        return False  # made on the tokens page or by add_member --token, and shown once there


@admin.register(ApiTask)
class ApiTaskAdmin(admin.ModelAdmin):
    list_display = [
        "job",
        "token",
        "callback_state",
        "callback_attempts",
        "callback_status",
        "created",
    ]
    list_filter = ["callback_state"]
    raw_id_fields = ["job", "token"]
    readonly_fields = ["request_digest", "callback_claimed_at", "callback_delivered_at", "created"]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Star)
class StarAdmin(admin.ModelAdmin):
    list_display = ["user", "job", "created"]
    raw_id_fields = ["job"]


class CollectionItemInline(admin.TabularInline):
    model = CollectionItem
    extra = 0
    raw_id_fields = ["job"]


@admin.register(Collection)
class CollectionAdmin(admin.ModelAdmin):
    list_display = ["name", "team", "owner", "private", "created"]
    list_filter = ["team", "private"]
    inlines = [CollectionItemInline]


@admin.register(CollectionItem)
class CollectionItemAdmin(admin.ModelAdmin):
    list_display = ["collection", "job", "added_by", "added"]
    raw_id_fields = ["job"]


@admin.register(ShareLink)
class ShareLinkAdmin(admin.ModelAdmin):
    list_display = ["image", "created_by", "created", "revoked_at"]
    readonly_fields = ["slug", "created"]
    raw_id_fields = ["image"]


class BatchRowInline(admin.TabularInline):
    model = BatchRow
    extra = 0
    can_delete = False
    readonly_fields = [
        *("number", "name", "prompt", "provider", "speed", "project", "repeat"),
        *("credits_each", "made", "problem"),
    ]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Batch)
class BatchAdmin(admin.ModelAdmin):
    # Its cap and what it committed are the ledger's business: looked at, not edited.
    list_display = ["name", "membership", "status", "committed", "cap", "created"]
    list_filter = ["status"]
    readonly_fields = [
        *("membership", "name", "cap", "committed", "status", "note", "collection"),
        *("created", "finished_at"),
    ]
    inlines = [BatchRowInline]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(BatchRow)
class BatchRowAdmin(admin.ModelAdmin):
    list_display = ["batch", "number", "name", "repeat", "made", "credits_each"]
    readonly_fields = BatchRowInline.readonly_fields

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(BatchJob)
class BatchJobAdmin(admin.ModelAdmin):
    list_display = ["row", "job"]
    raw_id_fields = ["row", "job"]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Export)
class ExportAdmin(admin.ModelAdmin):
    # Built by a worker from its plan and checkpoint: looked at, not edited.
    list_display = ["label", "membership", "status", "done", "total", "created", "expires_at"]
    list_filter = ["status"]
    exclude = ["plan"]
    readonly_fields = [
        *("membership", "label", "token", "status", "total", "done", "skipped", "zip_bytes"),
        *("rows_bytes", "runs", "file", "size", "error", "queued_at", "lease_until"),
        *("created", "finished_at", "expires_at"),
    ]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(ThrottleCounter)
class ThrottleCounterAdmin(admin.ModelAdmin):
    # Deleting a row lifts a lockout early; the counts themselves are not edited.
    list_display = ["key", "count", "expires_at"]
    search_fields = ["key"]
    readonly_fields = ["key", "count", "expires_at"]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "team", "created", "archived_at"]
    search_fields = ["name", "team__name"]


@admin.register(Budget)
class BudgetAdmin(admin.ModelAdmin):
    list_display = ["team", "project", "membership", "period", "limit"]
    list_filter = ["period"]


@admin.register(BudgetRaise)
class BudgetRaiseAdmin(admin.ModelAdmin):
    list_display = ["budget", "amount", "expires_at", "granted_by", "created"]


@admin.register(BudgetRequest)
class BudgetRequestAdmin(admin.ModelAdmin):
    list_display = ["budget", "membership", "amount", "status", "created"]
    list_filter = ["status"]


@admin.register(BudgetAlert)
class BudgetAlertAdmin(admin.ModelAdmin):
    """What was sent: a record, never written here."""

    list_display = ["budget", "period_start", "threshold", "used", "limit", "created"]
    readonly_fields = ["budget", "period_start", "threshold", "used", "limit", "webhook_result"]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Notice)
class NoticeAdmin(admin.ModelAdmin):
    list_display = ["membership", "text", "created", "read_at"]
