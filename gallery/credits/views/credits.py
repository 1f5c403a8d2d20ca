"""Credit pages: a member's own credits and ledger; for admins, the team's spend
dashboard, its CSV export and the actions that grant, adjust and limit credits;
and the header's balance fragment.

Every credit movement goes through `gallery.credits.ledger`; limits are plain settings
on the account or team, not movements.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import messages
from django.core.paginator import Paginator
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import trigger_client_event

from gallery.credits import budgets, ledger, spend
from gallery.credits.forms import AdjustForm, GrantForm, LedgerFilterForm, LimitsForm, TeamLimitForm
from gallery.credits.spend import Month
from gallery.net import numbers
from gallery.teams.models.teams import Membership
from gallery.teams.views.helpers import get_admin_membership, get_membership

LEDGER_PAGE_SIZE = 50
MAX_LEDGER_PAGE = 1_000_000  # 50 million entries; a page past the end shows the last one


# --- a member's own credits ------------------------------------------------------------


@require_GET
@vary_on_headers("HX-Request")
def my_credits(request: HttpRequest, slug: str) -> HttpResponse:
    membership = get_membership(request, slug)
    account = ledger.account_for(membership)
    team = membership.team
    form = LedgerFilterForm(request.GET, months=spend.ledger_months(account.entries, team))
    valid = form.is_valid()  # an invalid field is shown with its error and does not filter
    entries = account.entries.select_related("job", "created_by")
    if kind := form.cleaned_data.get("kind"):
        entries = entries.filter(kind=kind)
    if month := form.cleaned_data.get("month"):
        entries = entries.booked_in(*month.bounds(team.time_zone))
    page_number, page_error = _page_number(request.GET)
    spent = ledger.spent_this_month(account, team=team)
    team_spent = ledger.team_spent_this_month(team) if team.monthly_limit is not None else 0
    ctx = {
        "membership": membership,
        "team": team,
        "nav": "credits",
        "account": account,
        "balance": account.balance,
        "reserved": ledger.reserved_total(account),
        "spent": spent,
        "mine": _limit(account.monthly_limit, spent),
        "team_limit": _limit(team.monthly_limit, team_spent),
        "form": form,
        "page": Paginator(entries, LEDGER_PAGE_SIZE).get_page(page_number),
        "page_error": page_error,
        "filtered": bool(form.cleaned_data.get("kind") or form.cleaned_data.get("month")),
        **_notices(membership),
        "budgets": budgets.member_budgets(membership),
    }
    status = 200 if valid and not page_error else 400
    return render(request, _template(request, "gallery/credits.html", "ledger"), ctx, status=status)


NOTICES_SHOWN = 10


def _notices(membership: Membership) -> dict:
    notices = list(membership.notices.all()[:NOTICES_SHOWN])
    return {"notices": notices, "unread": any(n.read_at is None for n in notices)}


@require_POST
def read_notices(request: HttpRequest, slug: str) -> HttpResponse:
    """Mark the member's notices read."""
    membership = get_membership(request, slug)
    membership.notices.unread().update(read_at=timezone.now())
    if request.htmx:
        ctx = {"team": membership.team, **_notices(membership)}
        return render(request, "gallery/credits.html#notices", ctx)
    return redirect("my-credits", slug)


def _page_number(data) -> tuple[int, str]:
    """The ledger page asked for (1 when none is), and why it cannot be read.
    A page past the end shows the last page, as Paginator.get_page does."""
    raw = data.get("page", "")
    if not raw:
        return 1, ""
    try:
        return numbers.whole(raw, label="The page", minimum=1, maximum=MAX_LEDGER_PAGE), ""
    except numbers.NumberError as error:
        return 1, str(error)


@require_GET
@never_cache
def balance(request: HttpRequest, slug: str) -> HttpResponse:
    """The header's balance, refetched on the `credits-changed` event.

    One query, and unlike `get_membership` it writes nothing to the session:
    it runs after every Generate.
    """
    balance = ledger.balance_in(request.user, slug)
    if balance is None:
        raise Http404("No such team")
    return render(request, "gallery/credits.html#balance-text", {"balance": balance})


# --- the admins' dashboard -------------------------------------------------------------


@require_GET
def spend_dashboard(request: HttpRequest, slug: str) -> HttpResponse:
    membership = get_admin_membership(request, slug)
    month = asked_month(request.GET, membership.team.time_zone)
    if month is None:  # this month's figures, with the rule next to the picker
        current = Month.current(membership.team.time_zone)
        ctx = _spend_context(membership, current, month_error=Month.RULE)
        return render(request, "gallery/spend.html", ctx, status=400)
    return render(request, "gallery/spend.html", _spend_context(membership, month))


class Echo:
    """A file-like sink for csv.writer that hands each line straight back."""

    def write(self, value: str) -> str:
        return value


@require_GET
def spend_csv(request: HttpRequest, slug: str) -> HttpResponse | StreamingHttpResponse:
    membership = get_admin_membership(request, slug)
    month = asked_month(request.GET, membership.team.time_zone)
    if month is None:  # refused before the first line, not cut off mid-stream
        return _bad_month()
    writer = csv.writer(Echo())
    lines = (writer.writerow(row) for row in spend.csv_rows(membership.team, month))
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{slug}-ledger-{month}.csv"'
    return response


# --- admin actions ---------------------------------------------------------------------


@require_POST
def grant_credits(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    def act(member: Membership, data: dict) -> str:
        account = ledger.account_for(member)
        ledger.grant(account=account, amount=data["amount"], by=request.user, reason=data["reason"])
        return f"Granted {data['amount']:,} credits to {member.user.username}."

    return _member_action(request, slug, pk, "grant", act)


@require_POST
def adjust_credits(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    def act(member: Membership, data: dict) -> str:
        account = ledger.account_for(member)
        ledger.adjust(
            account=account, amount=data["amount"], by=request.user, reason=data["reason"]
        )
        return f"Adjusted {member.user.username}'s balance by {data['amount']:+,} credits."

    return _member_action(request, slug, pk, "adjust", act)


@require_POST
def set_limits(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    def act(member: Membership, data: dict) -> str:
        account = ledger.account_for(member)
        account.set_limits(
            monthly_limit=data["monthly_limit"],
            max_in_flight=data["max_in_flight"],
            by=request.user,
        )
        return f"Saved {member.user.username}'s limits."

    return _member_action(request, slug, pk, "limits", act)


@require_POST
def team_limit(request: HttpRequest, slug: str) -> HttpResponse:
    membership = get_admin_membership(request, slug)
    team = membership.team
    month = asked_month(request.POST, team.time_zone)
    if month is None:
        return _bad_month()
    form = TeamLimitForm(request.POST)
    saved = form.is_valid()
    if saved:
        team.set_spending(
            monthly_limit=form.cleaned_data["monthly_limit"],
            time_zone=form.cleaned_data["time_zone"] or team.time_zone,
            by=request.user,
        )
        form = _team_limit_form(team)
    if request.htmx:
        ctx = {
            "team": team,
            "month": month,
            "team_limit": _limit(team.monthly_limit, ledger.team_spent_this_month(team)),
            "limit_form": form,
            "limit_notice": "Saved." if saved else "",
        }
        return render(request, "gallery/spend.html#team-limit", ctx, status=200 if saved else 400)
    if saved:
        messages.success(request, "Saved the team's monthly limit.")
        return redirect(_spend_url(slug, month, "team-limit", team.time_zone))
    ctx = _spend_context(membership, month, limit_form=form)
    return render(request, "gallery/spend.html", ctx, status=400)


# --- helpers ---------------------------------------------------------------------------


def asked_month(data, zone: str) -> Month | None:
    """The month a page or form asks for: this one in the team's time zone
    when it names none, None when the one it names cannot be read (or is
    outside Month's years)."""
    raw = data.get("month", "")
    return Month.parse(raw) if raw else Month.current(zone)


def _bad_month() -> HttpResponse:
    """A month the CSV or an action's return address cannot use: those come
    from the page's own links, so the rule is answered as plain text."""
    return HttpResponse(Month.RULE, status=400, content_type="text/plain; charset=utf-8")


FORMS: dict[str, type[Form]] = {
    "grant": GrantForm,
    "adjust": AdjustForm,
    "limits": LimitsForm,
}


@dataclass
class MemberRow:
    """A member's line in the admins' list, with its three small forms."""

    credit: spend.MemberCredit
    forms: dict[str, Form]
    open: bool = False
    notice: str = ""

    @property
    def pk(self) -> int:
        return self.credit.membership.pk


def _member_action(
    request: HttpRequest, slug: str, pk: int, which: str, act: Callable[[Membership, dict], str]
) -> HttpResponse:
    """Validate one action's form, run it, answer with the member's row (htmx)
    or a redirect; a refusal comes back as words next to the field, with 400."""
    admin = get_admin_membership(request, slug)
    member = get_object_or_404(admin.team.memberships.select_related("user"), pk=pk)
    zone = admin.team.time_zone
    month = asked_month(request.POST, zone)
    if month is None:
        return _bad_month()
    form = FORMS[which](request.POST, auto_id=f"{which}-{pk}-%s")
    notice = ""
    if member.removed_at is not None and which != "adjust":
        # Only taking a former member's credits back makes sense: they cannot spend.
        form.add_error(
            None,
            f"{member.user.username} is no longer a member of the team: adjust their "
            "balance, or invite them back first.",
        )
    elif form.is_valid():
        try:
            notice = act(member, form.cleaned_data)
        except ledger.InsufficientCredits as refused:
            form.add_error(
                "amount",
                f"{member.user.username} has {refused.available:,} credits; "
                "a balance cannot go below zero.",
            )
        except ledger.LedgerError as refused:
            form.add_error(None, str(refused))
    acted = (pk, which, None if notice else form, notice)
    if not request.htmx:
        if notice:
            messages.success(request, notice)
            return redirect(_spend_url(slug, month, f"member-{pk}", zone))
        ctx = _spend_context(admin, month, acted)
        return render(request, "gallery/spend.html", ctx, status=400)
    spent_now = spend.spent_by_member(admin.team, Month.current(zone))
    credit = spend.member_credits(admin.team, spent_now, only=pk)[0]
    ctx = {"team": admin.team, "row": _member_row(credit, acted), "month": month}
    response = render(request, "gallery/spend.html#member-row", ctx, status=200 if notice else 400)
    if notice and member.user_id == request.user.pk:
        trigger_client_event(response, "credits-changed")  # the admin's own header balance
    return response


def _member_row(credit: spend.MemberCredit, acted: tuple | None = None) -> MemberRow:
    pk = credit.membership.pk
    row = MemberRow(
        credit=credit,
        forms={
            "grant": GrantForm(auto_id=f"grant-{pk}-%s"),
            "adjust": AdjustForm(auto_id=f"adjust-{pk}-%s"),
            "limits": LimitsForm(
                auto_id=f"limits-{pk}-%s",
                initial={
                    "monthly_limit": credit.monthly_limit,
                    "max_in_flight": credit.max_in_flight,
                },
            ),
        },
    )
    if acted and acted[0] == pk:
        _, which, bound, row.notice = acted
        row.open = True
        if bound is not None:
            row.forms[which] = bound
    return row


def _spend_context(
    membership: Membership,
    month: Month,
    acted: tuple | None = None,
    limit_form=None,
    month_error: str = "",
) -> dict:
    """Everything the dashboard shows, in a constant number of grouped queries."""
    team = membership.team
    current = Month.current(team.time_zone)
    spent = spend.spent_by_member(team, month)
    spent_now = spent if month == current else spend.spent_by_member(team, current)
    credits = spend.member_credits(team, spent_now)
    by_member = spend.member_breakdown([c.membership for c in credits], spent)
    operations, providers = spend.spent_by_operation_and_provider(team, month)
    team_spent_now = sum(amount for amount, _ in spent_now.values())
    total = sum(r.credits for r in by_member)
    return {
        "membership": membership,
        "team": team,
        "nav": "spend",
        "month": month,
        "month_error": month_error,
        "is_current": month == current,
        "previous": month.previous,
        "next": month.next if month < current else None,
        "max_month": current,
        "total": total,
        "total_dollars": spend.dollars(total),
        "jobs": sum(r.jobs for r in by_member),
        "chart": spend.day_chart(spend.spent_by_day(team, month)),
        "by_member": by_member,
        "operations": operations,
        "providers": providers,
        "projects": spend.spent_by_project(team, month),
        "members": [_member_row(c, acted) for c in credits],
        "held": sum(c.balance for c in credits),
        "balance": next((c.balance for c in credits if c.membership.pk == membership.pk), 0),
        "team_limit": _limit(team.monthly_limit, team_spent_now),
        "limit_form": limit_form or _team_limit_form(team),
    }


def _team_limit_form(team) -> TeamLimitForm:
    return TeamLimitForm(initial={"monthly_limit": team.monthly_limit, "time_zone": team.time_zone})


def _limit(limit: int | None, spent: int) -> dict:
    """A monthly limit as the pages show it: what is left and how full the bar is."""
    if limit is None:
        return {"limit": None, "spent": spent}
    return {
        "limit": limit,
        "spent": spent,
        "left": max(0, limit - spent),
        "percent": spend.share(spent, limit),
        "over": spent >= limit,
    }


def _spend_url(slug: str, month: Month, anchor: str, zone: str) -> str:
    """Back to the dashboard at the month being looked at, scrolled to what changed."""
    url = reverse("spend", args=[slug])
    if month != Month.current(zone):
        url += f"?month={month}"
    return f"{url}#{anchor}"


def _template(request: HttpRequest, page: str, fragment: str) -> str:
    """The fragment for htmx, but the whole page when htmx restores history."""
    if request.htmx and not request.htmx.history_restore_request:
        return f"{page}#{fragment}"
    return page
