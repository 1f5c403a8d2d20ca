from importlib.util import find_spec

from django.urls import include, path

from gallery.studio.live import views as live_views
from gallery.studio.views import (
    approvals,
    batches,
    callbacks,
    create,
    exports,
    jobs,
    organise,
    queue,
    upload_paint,
)
from gallery.teams.views import accounts, audit, teams

urlpatterns = [
    path("", teams.home, name="home"),
    path("invite/<str:token>/", accounts.accept_invite, name="accept-invite"),
    path("healthz", accounts.healthz, name="healthz"),
    path(
        "callbacks/<str:provider>/<int:job_id>/<str:token>",
        callbacks.provider_callback,
        name="provider-callback",
    ),
    path("t/<slug:slug>/", jobs.gallery, name="gallery"),
    path("t/<slug:slug>/jobs/", jobs.create_job, name="create-job"),
    path("t/<slug:slug>/live/stream/", live_views.live_stream, name="live-stream"),
    path("t/<slug:slug>/live/poll/", live_views.live_poll, name="live-poll"),
    path("t/<slug:slug>/jobs/<int:pk>/", jobs.job_detail, name="job-detail"),
    path("t/<slug:slug>/jobs/<int:pk>/cancel/", jobs.cancel_job, name="cancel-job"),
    path("m/<path:name>", jobs.media, name="media"),
    path("t/<slug:slug>/check/", create.check_prompt, name="check-prompt"),
    path("t/<slug:slug>/uploads/", create.upload_reference, name="upload-reference"),
    path("t/<slug:slug>/prompts/", create.prompt_history, name="prompt-history"),
    path("t/<slug:slug>/upload-paint/", upload_paint.upload_paint, name="upload-paint"),
    path(
        "t/<slug:slug>/upload-paint/price/",
        upload_paint.upload_paint_price,
        name="upload-paint-price",
    ),
    path("t/<slug:slug>/jobs/<int:pk>/star/", organise.toggle_star, name="star-job"),
    path("t/<slug:slug>/jobs/<int:pk>/delete/", organise.delete_job, name="delete-job"),
    path("t/<slug:slug>/jobs/<int:pk>/restore/", organise.restore_job, name="restore-job"),
    path("t/<slug:slug>/jobs/<int:pk>/private/", organise.toggle_private, name="private-job"),
    path("t/<slug:slug>/jobs/<int:pk>/collect/", organise.collect, name="collect-job"),
    path("t/<slug:slug>/jobs/bulk/star/", organise.bulk_star, name="bulk-star"),
    path("t/<slug:slug>/jobs/bulk/collect/", organise.bulk_collect, name="bulk-collect"),
    path("t/<slug:slug>/jobs/bulk/delete/", organise.bulk_delete, name="bulk-delete"),
    path("t/<slug:slug>/jobs/bulk/restore/", organise.bulk_restore, name="bulk-restore"),
    path("t/<slug:slug>/batches/new/", batches.batch_new, name="batch-new"),
    path("t/<slug:slug>/batches/<int:pk>/", batches.batch, name="batch"),
    path("t/<slug:slug>/batches/<int:pk>/control/", batches.batch_control, name="batch-control"),
    path("t/<slug:slug>/exports/", exports.export_zip, name="export-zip"),
    path("t/<slug:slug>/exports/<int:pk>/", exports.export, name="export"),
    path(
        "t/<slug:slug>/exports/<int:pk>/download/",
        exports.export_download,
        name="export-download",
    ),
    path("t/<slug:slug>/trash/", organise.trash, name="trash"),
    path("t/<slug:slug>/trash/<int:pk>/restore/", organise.trash_restore, name="trash-restore"),
    path("t/<slug:slug>/trash/<int:pk>/purge/", organise.trash_purge, name="trash-purge"),
    path("t/<slug:slug>/trash/<int:pk>/thumb/", organise.trash_thumb, name="trash-thumb"),
    path("t/<slug:slug>/collections/", organise.collections, name="collections"),
    path("t/<slug:slug>/collections/<int:pk>/", organise.collection, name="collection"),
    path("t/<slug:slug>/images/<int:pk>/share/", organise.share_image, name="share-image"),
    path("t/<slug:slug>/shares/<int:pk>/revoke/", organise.revoke_share, name="revoke-share"),
    path("s/<str:share>/", organise.shared, name="shared"),
    path("s/<str:share>/<str:size>", organise.shared_file, name="shared-file"),
    path("t/<slug:slug>/members/", teams.members, name="members"),
    path("t/<slug:slug>/queue/", queue.team_queue, name="team-queue"),
    path("t/<slug:slug>/approvals/", approvals.approvals, name="approvals"),
    path(
        "t/<slug:slug>/approvals/<int:pk>/approve/",
        approvals.decide_job,
        {"action": "approve"},
        name="approve-job",
    ),
    path(
        "t/<slug:slug>/approvals/<int:pk>/decline/",
        approvals.decide_job,
        {"action": "decline"},
        name="decline-job",
    ),
    path(
        "t/<slug:slug>/approvals/members/<int:pk>/approve/",
        approvals.decide_member,
        {"action": "approve"},
        name="approve-member",
    ),
    path(
        "t/<slug:slug>/approvals/members/<int:pk>/decline/",
        approvals.decide_member,
        {"action": "decline"},
        name="decline-member",
    ),
    path(
        "t/<slug:slug>/approvals/requests/<int:pk>/grant/",
        approvals.grant_request,
        name="grant-request",
    ),
    path(
        "t/<slug:slug>/approvals/requests/<int:pk>/dismiss/",
        approvals.dismiss_request,
        name="dismiss-request",
    ),
    path("t/<slug:slug>/members/<int:pk>/role/", teams.change_role, name="member-role"),
    path("t/<slug:slug>/members/<int:pk>/remove/", teams.remove_member, name="member-remove"),
    path("t/<slug:slug>/audit/", audit.audit_log, name="audit"),
    path("t/<slug:slug>/audit.csv", audit.audit_csv, name="audit-csv"),
    path("t/<slug:slug>/members/invite/", teams.create_invite, name="create-invite"),
    path("t/<slug:slug>/invites/<int:pk>/revoke/", teams.revoke_invite, name="revoke-invite"),
]

# The credit pages, the team API and the image pages live in their own URL modules.
urlpatterns.append(path("", include("gallery.credits.urls")))
for module in ("gallery.api.urls", "gallery.studio.urls"):
    if find_spec(module) is not None:
        urlpatterns.append(path("", include(module)))
