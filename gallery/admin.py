from django.contrib import admin

from gallery.models import Invite, Membership, Price, PriceStatus, Team


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "team", "role", "created"]
    list_filter = ["role", "team"]
    search_fields = ["user__username", "team__name"]
    autocomplete_fields = ["user", "team"]


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
