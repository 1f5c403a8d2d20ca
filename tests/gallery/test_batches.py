"""Batches from a table: every row priced or refused (column and rule) before
anything is spent; run through pipeline.create under a cap that is never
passed; pause, resume, cancel (the waiting jobs refunded); its own page."""

from __future__ import annotations

import io
import json
import re
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from gallery.credits import ledger
from gallery.models import (
    Batch,
    CollectionItem,
    CreditAccount,
    Job,
    LedgerEntry,
    Membership,
    Project,
)
from gallery.studio import batches, pipeline
from tests.factories import add_images, fund

pytestmark = pytest.mark.django_db

FAST = 79  # evolink mj-v7 fast
HTMX = {"HX-Request": "true"}
URL = "/t/acme/batches/new/"


def table(rows: list[str], header: str = "name,prompt,aspect ratio,speed,repeat") -> str:
    return "\n".join([header, *rows])


def good_rows(n: int) -> list[str]:
    return [f"shot {i},product shot {i} on white,1:1,fast,1" for i in range(1, n + 1)]


def member(user, team) -> Membership:
    return Membership.objects.get(user=user, team=team)


def slots(user, team, n: int) -> None:
    CreditAccount.objects.filter(membership=member(user, team)).update(max_in_flight=n)


def start(user, team, text: str, cap: int, name: str = "Spring shots") -> Batch:
    return batches.start(member(user, team), name, cap, batches.preview(text, team))


# --- the preview ---------------------------------------------------------------------------


def test_fifty_rows_with_three_bad_ones_show_47_priced_and_3_errors_naming_column_and_rule(
    alice_client,
):
    rows = good_rows(50)
    rows[9] = "shot 10,,1:1,fast,1"  # line 11
    rows[19] = "shot 20,a vase,wide,fast,1"  # line 21
    rows[29] = "shot 30,a lamp,1:1,slow,1"  # line 31
    response = alice_client.post(URL, {"name": "Spring", "table": table(rows), "action": "preview"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "47 rows priced</strong> · 47 jobs · 3713 credits" in html
    assert "3 rows with problems, not run" in html
    problems = re.findall(
        r"<tr><td>(\d+)</td><td>([^<]+)</td><td>([^<]+)</td></tr>",
        html.split('id="batch-problems"')[1].split("</table>")[0],
    )
    assert problems == [
        ("11", "prompt", "A prompt is required"),
        ("21", "aspect ratio", "Write it as width:height, such as 16:9 (got &quot;wide&quot;)"),
        ("31", "speed", "One of draft, fast, turbo (got &quot;slow&quot;)"),
    ]
    assert html.count("<tr><td>") - len(problems) == 47  # the rows to run
    assert 'id="batch-total">3713<' in html
    assert Job.objects.count() == 0 and LedgerEntry.objects.count() == 0


def test_a_prompt_the_linter_refuses_is_named_with_its_rule(alice_client):
    text = table(["a,a cat --c 500,,fast,1", "b,a dog,,fast,2"])
    html = alice_client.post(URL, {"name": "x", "table": text}).content.decode()
    assert "1 row priced</strong> · 2 jobs · 158 credits" in html
    assert "--c must be between 0 and 100 (got 500)" in html


def test_the_header_must_name_a_prompt_column_and_known_columns(alice_client):
    html = alice_client.post(URL, {"name": "x", "table": "title,colour\na,b"}).content.decode()
    assert "The header row must name a prompt column" in html
    assert "Unknown column; the columns are: prompt, aspect ratio" in html
    assert "0 rows priced" in html and "Start batch" not in html


def test_a_tsv_file_upload_is_read_like_a_pasted_table(alice_client, team):
    Project.objects.create(team=team, name="Spring")
    upload = SimpleUploadedFile(
        "shots.tsv", b"prompt\trepeat\tproject\tname\na red chair\t3\tspring\tchair\n"
    )
    html = alice_client.post(URL, {"name": "x", "file": upload}).content.decode()
    assert "1 row priced</strong> · 3 jobs · 237 credits" in html  # "spring" is Spring
    assert "a red chair" in html  # the file's text is kept in the box for the start


def test_a_row_naming_no_open_project_of_the_team_is_an_error_naming_it(
    alice_client, team, other_team
):
    Project.objects.create(team=team, name="Spring")
    Project.objects.create(team=team, name="Old", archived_at=timezone.now())
    Project.objects.create(team=other_team, name="Theirs")
    rows = ["a cat,Spring", "a dog,Old", "a fox,Theirs", "an owl,"]
    text = table(rows, header="prompt,project")
    html = alice_client.post(URL, {"name": "x", "table": text}).content.decode()
    assert "2 rows priced" in html
    assert "Old is not an open project of this team (open projects: Spring)" in html
    assert "Theirs is not an open project of this team" in html


def test_a_batchs_jobs_go_to_their_rows_projects(alice, team):
    spring = Project.objects.create(team=team, name="Spring")
    fund(alice, team, 1000)
    rows = ["name,prompt,project", "a,a cat,Spring", "b,a dog,"]
    start(alice, team, "\n".join(rows), cap=1000)
    made = dict(Job.objects.values_list("prompt", "project"))
    assert made == {"a cat": spring.pk, "a dog": None}


def test_reference_urls_permutations_and_repeats_are_checked_per_row(alice_client):
    text = table(
        [
            "a,a cat,,,11",
            'b,"a {red, blue} cat",,,1',
            "c,a dog,,,1",
        ],
        header="name,prompt,reference url,provider,repeat",
    ).replace("c,a dog,,,1", "c,a dog,http://10.0.0.1/x.png,nowhere,1")
    html = alice_client.post(URL, {"name": "x", "table": text}).content.decode()
    assert "A whole number from 1 to 10 (got &quot;11&quot;)" in html
    assert "One job per row: permutations" in html
    assert "The URL points to" in html and "One of evolink, reapi, vtrix" in html


def test_no_table_and_no_name_are_errors_in_place(alice_client):
    response = alice_client.post(URL, {"name": "", "table": ""})
    html = response.content.decode()
    assert response.status_code == 400
    assert "Paste a table or choose a file" in html and 'id="id_table_error"' in html


def test_starting_without_a_cap_is_refused_next_to_the_cap(alice_client, alice, team):
    fund(alice, team, 1000)
    data = {"name": "x", "table": table(good_rows(2)), "action": "start"}
    response = alice_client.post(URL, data)
    assert response.status_code == 400 and "Set a spending cap to start the batch" in (
        response.content.decode()
    )
    assert Batch.objects.count() == 0


def test_viewers_cannot_run_batches(dave_client):
    assert dave_client.get(URL).status_code == 403


# --- running it -----------------------------------------------------------------------------


def test_start_makes_jobs_through_the_pipeline_and_a_collection_named_after_it(
    alice_client, alice, team
):
    fund(alice, team, 1000)
    data = {"name": "Spring shots", "table": table(good_rows(3)), "action": "start", "cap": 500}
    response = alice_client.post(URL, data)
    batch = Batch.objects.get()
    assert response.status_code == 302 and response.url == f"/t/acme/batches/{batch.pk}/"
    jobs = list(batches.jobs_of(batch).order_by("pk"))
    assert [j.prompt for j in jobs] == [f"product shot {i} on white --ar 1:1" for i in (1, 2, 3)]
    assert all(j.status == "queued" and j.credits_reserved == FAST for j in jobs)
    assert batch.collection.name == "Spring shots"
    assert set(
        CollectionItem.objects.filter(collection=batch.collection).values_list("job", flat=True)
    ) == {j.pk for j in jobs}
    assert ledger.account_for(member(alice, team)).balance == 1000 - 3 * FAST
    batch.refresh_from_db()
    assert batch.committed == 3 * FAST
    assert jobs[0].batch_link.row.name == "shot 1"  # the name column stays with the job


def test_a_cap_smaller_than_the_total_stops_at_the_cap_and_cancel_refunds_the_rest(alice, team):
    fund(alice, team, 10_000)
    slots(alice, team, 20)
    batch = start(alice, team, table(good_rows(10)), cap=5 * FAST + 40)  # 5 fit, not 6
    batch.refresh_from_db()
    assert batch.status == "capped" and "cap of 435 credits" in batch.note
    assert batches.jobs_of(batch).count() == 5 and batch.committed == 5 * FAST
    account = ledger.account_for(member(alice, team))
    assert account.balance == 10_000 - 5 * FAST  # nothing reserved past the cap
    assert batches.feed(batch.pk) == 0  # stopped: no more, ever
    assert batches.cancel(batch) == 5  # the five waiting in line
    assert ledger.account_for(member(alice, team)).balance == 10_000
    refunds = LedgerEntry.objects.filter(kind="refund", job__in=batches.jobs_of(batch))
    assert refunds.count() == 5


def test_the_database_refuses_a_commit_past_the_cap(alice, team):
    batch = Batch.objects.create(membership=member(alice, team), name="x", cap=100)
    assert batch.commit(100) and not batch.commit(1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Batch.objects.filter(pk=batch.pk).update(committed=101)


def test_it_runs_as_many_at_once_as_its_member_may_then_the_next_as_slots_free(alice, team):
    fund(alice, team, 10_000)
    slots(alice, team, 2)
    batch = start(alice, team, table(good_rows(5)), cap=10_000)
    first = list(batches.jobs_of(batch).order_by("pk"))
    assert len(first) == 2
    assert batches.feed(batch.pk) == 0  # both slots taken
    pipeline.fail(first[0], "unavailable", "x", "The provider failed")  # refunded, slot freed
    assert batches.feed(batch.pk) == 1
    assert batches.jobs_of(batch).count() == 3


def test_pause_stops_new_jobs_and_resume_starts_them_again(alice, team):
    fund(alice, team, 10_000)
    slots(alice, team, 1)
    batch = start(alice, team, table(good_rows(3)), cap=10_000)
    assert batches.pause(batch)
    job = batches.jobs_of(batch).get()
    pipeline.cancel(job)
    assert batches.feed(batch.pk) == 0  # paused: the free slot stays free
    assert batches.resume(batch)
    assert batches.jobs_of(batch).count() == 2
    assert not batches.resume(batch)  # running already


def test_out_of_credits_pauses_the_batch_saying_why(alice, team):
    fund(alice, team, 2 * FAST)
    slots(alice, team, 5)
    batch = start(alice, team, table(good_rows(4)), cap=10_000)
    batch.refresh_from_db()
    assert batch.status == "paused" and "credits" in batch.note
    assert batches.jobs_of(batch).count() == 2


def test_a_batch_whose_jobs_all_ended_is_finished(alice, team):
    fund(alice, team, 10_000)
    batch = start(alice, team, table(good_rows(2)), cap=10_000)
    for job in batches.jobs_of(batch):
        pipeline.cancel(job)
    batches.feed(batch.pk)
    batch.refresh_from_db()
    assert batch.status == "finished"


# --- its page ---------------------------------------------------------------------------------


@pytest.fixture
def running(alice, team) -> Batch:
    fund(alice, team, 10_000)
    return start(alice, team, table(good_rows(3)), cap=1000)


def test_the_batch_page_shows_rows_progress_and_spend_of_the_cap(alice_client, running):
    html = alice_client.get(f"/t/acme/batches/{running.pk}/").content.decode()
    assert "0 of 3 jobs done" in html and f"{3 * FAST} of 1000 credits" in html
    assert "product shot 2 on white --ar 1:1" in html and "shot 2" in html
    assert 'hx-trigger="every 2s"' in html and ">Pause</button>" in html
    fragment = alice_client.get(f"/t/acme/batches/{running.pk}/", headers=HTMX).content.decode()
    assert "<html" not in fragment and 'id="batch-status"' in fragment


def test_pause_resume_and_cancel_from_the_page(alice_client, alice, team, running):
    url = f"/t/acme/batches/{running.pk}/control/"
    paused = alice_client.post(url, {"do": "pause"}, headers=HTMX).content.decode()
    assert "Paused" in paused and ">Resume</button>" in paused
    assert alice_client.post(url, {"do": "pause"}).status_code == 409
    assert alice_client.post(url, {"do": "resume"}).status_code == 302
    cancelled = alice_client.post(url, {"do": "cancel"}, headers=HTMX).content.decode()
    assert "Cancelled: 3 waiting jobs refunded." in cancelled
    assert ledger.account_for(member(alice, team)).balance == 10_000


def test_an_unknown_control_is_refused_in_words(alice_client, running):
    response = alice_client.post(f"/t/acme/batches/{running.pk}/control/", {"do": "explode"})
    assert response.status_code == 400 and "&quot;pause&quot;, &quot;resume&quot;" in (
        response.content.decode()
    )


def test_a_batch_is_its_members_and_their_admins(alice, bob, team, bob_client, carol_client):
    fund(bob, team, 1000)
    bobs = start(bob, team, table(good_rows(1)), cap=100)
    assert bob_client.get(f"/t/acme/batches/{bobs.pk}/").status_code == 200
    assert carol_client.get(f"/t/acme/batches/{bobs.pk}/").status_code == 404
    fund(alice, team, 1000)
    alices = start(alice, team, table(good_rows(1)), cap=100)
    assert bob_client.get(f"/t/acme/batches/{alices.pk}/").status_code == 404
    assert (
        bob_client.post(f"/t/acme/batches/{alices.pk}/control/", {"do": "cancel"}).status_code
        == 404
    )


def test_the_batch_page_downloads_its_results_with_each_rows_name(alice_client, alice, team):
    fund(alice, team, 1000)
    batch = start(alice, team, table(good_rows(2)), cap=1000)
    page = alice_client.get(f"/t/acme/batches/{batch.pk}/").content.decode()
    assert f'name="collection" value="{batch.collection_id}"' in page
    for job in batches.jobs_of(batch):
        Job.objects.filter(pk=job.pk).update(status="completed", credits_charged=FAST)
        add_images(job, 1)
    response = alice_client.post(
        "/t/acme/exports/", {"scope": "collection", "collection": batch.collection_id}
    )
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    rows = json.loads(archive.read("manifest.json"))
    assert sorted(row["name"] for row in rows) == ["shot 1", "shot 2"]
