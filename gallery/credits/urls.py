"""The credit pages' URLs; gallery/urls.py includes them."""

from django.urls import path

from gallery.credits.views import budgets, credits

urlpatterns = [
    path("t/<slug:slug>/credits/", credits.my_credits, name="my-credits"),
    path("t/<slug:slug>/balance/", credits.balance, name="balance"),
    path("t/<slug:slug>/notices/read/", credits.read_notices, name="read-notices"),
    path("t/<slug:slug>/spend/", credits.spend_dashboard, name="spend"),
    path("t/<slug:slug>/spend.csv", credits.spend_csv, name="spend-csv"),
    path("t/<slug:slug>/spend/team-limit/", credits.team_limit, name="team-limit"),
    path(
        "t/<slug:slug>/spend/members/<int:pk>/grant/", credits.grant_credits, name="grant-credits"
    ),
    path(
        "t/<slug:slug>/spend/members/<int:pk>/adjust/",
        credits.adjust_credits,
        name="adjust-credits",
    ),
    path("t/<slug:slug>/spend/members/<int:pk>/limits/", credits.set_limits, name="set-limits"),
    path("t/<slug:slug>/budgets/", budgets.budgets_page, name="budgets"),
    path("t/<slug:slug>/budgets/set/", budgets.set_budget, name="set-budget"),
    path("t/<slug:slug>/budgets/<int:pk>/remove/", budgets.remove_budget, name="remove-budget"),
    path("t/<slug:slug>/budgets/approvals/", budgets.set_approvals, name="set-approvals"),
    path("t/<slug:slug>/budgets/ask/", budgets.ask_for_more, name="ask-for-more"),
    path("t/<slug:slug>/projects/new/", budgets.add_project, name="add-project"),
    path(
        "t/<slug:slug>/projects/<int:pk>/archive/",
        budgets.archive_project,
        name="archive-project",
    ),
]
