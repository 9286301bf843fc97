"""HTML pages: the predict form, the result, history, batch uploads."""

import csv
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse
from django.utils.html import escape

from mlmodel.core.taxonomy import match_title
from predictions.models import BatchJob, JobStatus, Prediction
from tests.predictions.conftest import GOOD_ROW, PROFILE_DATA, csv_bytes

pytestmark = pytest.mark.django_db

CREATE_URL = reverse("predictions:create")
HISTORY_URL = reverse("predictions:history")
BATCH_URL = reverse("predictions:batch")
TWENTY_MEGABYTES = 20 * 1024 * 1024


def _field_errors(html: str, field: str) -> str:
    """The error list rendered right after one field's input (its form row)."""
    match = re.search(
        rf'<div class="form-row has-error">\s*<label for="id_{field}">.*?</div>', html, re.S
    )
    return match.group(0) if match else ""


def test_pages_need_a_signed_in_user(client):
    response = client.get(CREATE_URL)
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]


def test_predict_form_offers_titles_and_country_names(auth_client, active_model_version):
    # when
    response = auth_client.get(CREATE_URL)

    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert '<datalist id="job-titles">' in html
    assert '<option value="Data Scientist">' in html
    assert 'list="job-titles"' in html
    assert '<option value="DE">Germany</option>' in html
    assert re.search(r'name="work_year" value="\d{4}"', html)


def test_posting_the_form_stores_and_shows_the_result(auth_client, user, active_model_version):
    # when
    response = auth_client.post(CREATE_URL, PROFILE_DATA)

    # then
    prediction = Prediction.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("predictions:detail", args=[prediction.pk])
    assert prediction.user == user and prediction.channel == "web"

    page = auth_client.get(response["Location"])
    html = page.content.decode()
    assert page.status_code == 200
    low, high = f"{prediction.interval_low_usd:,}", f"{prediction.interval_high_usd:,}"
    assert "We expect 90% of salaries for this profile to fall between" in html
    assert f"${low}" in html and f"${high}" in html
    assert "<svg" in html and 'role="img"' in html
    assert "Senior level" in html
    assert f"v{active_model_version.version}" in html
    assert "Data Science" in html


def test_a_free_job_title_is_accepted_and_its_family_shown(auth_client, active_model_version):
    # when
    response = auth_client.post(
        CREATE_URL, {**PROFILE_DATA, "job_title": "Senior ML Platform Wrangler"}, follow=True
    )

    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert "Senior ML Platform Wrangler" in html
    assert "<dt>Job family</dt><dd>Machine Learning Engineering</dd>" in html


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("company_location", "XX", "is not a known ISO 3166-1 country code"),
        ("employee_residence", "", "This field is required"),
        ("work_year", "1900", "Work year must be between"),
        ("remote_ratio", "33", "33 is not a valid remote ratio"),
        ("experience_level", "ZZ", "is not a valid experience level"),
        ("job_title", "x" * 101, "at most 100 characters"),
    ],
)
def test_invalid_fields_are_reported_next_to_the_field(
    auth_client, active_model_version, field, value, message
):
    # when
    response = auth_client.post(CREATE_URL, {**PROFILE_DATA, "job_title": "My Job", field: value})

    # then
    html = response.content.decode()
    assert response.status_code == 400
    assert message in _field_errors(html, field)
    assert Prediction.objects.count() == 0
    if field != "job_title":
        assert 'value="My Job"' in html  # what the user typed is kept


def test_another_users_prediction_is_404(auth_client, other_user, make_prediction):
    # given
    theirs = make_prediction(other_user)

    # when
    response = auth_client.get(reverse("predictions:detail", args=[theirs.pk]))

    # then
    assert response.status_code == 404


def test_the_demo_banner_shows_for_a_demo_model(auth_client, user, make_prediction):
    # given a prediction by a model trained on synthetic data
    prediction = make_prediction(user)
    prediction.model_version.is_demo = True
    prediction.model_version.save(update_fields=["is_demo"])

    # when
    html = auth_client.get(reverse("predictions:detail", args=[prediction.pk])).content.decode()

    # then
    assert "demo model trained on synthetic data" in html


def test_history_is_private_and_paginated(auth_client, user, other_user, make_prediction):
    # given 23 of mine and 2 of someone else's
    mine = [make_prediction(user) for _ in range(23)]
    theirs = [make_prediction(other_user) for _ in range(2)]

    # when
    first = auth_client.get(HISTORY_URL)
    second = auth_client.get(HISTORY_URL, {"page": 2})

    # then
    first_ids = [p.pk for p in first.context["page"].object_list]
    second_ids = [p.pk for p in second.context["page"].object_list]
    assert first_ids == [p.pk for p in reversed(mine)][:20]
    assert second_ids == [p.pk for p in reversed(mine)][20:]
    for prediction in theirs:
        assert f'href="/predictions/{prediction.pk}/"' not in first.content.decode()
    assert "Page 1 of 2" in first.content.decode()


def test_history_date_filter_is_validated(auth_client, user, make_prediction):
    # given
    make_prediction(user)

    # when the end is before the start, the range is empty (the API says the same)
    response = auth_client.get(HISTORY_URL, {"date_from": "2025-03-05", "date_to": "2025-03-01"})

    # then, and the page says why
    assert response.status_code == 200
    assert response.context["page"].paginator.count == 0
    assert "The end date is before the start date" in response.content.decode()

    # and a nonsense date is a clear error over a list that says it is unfiltered
    response = auth_client.get(HISTORY_URL, {"date_from": "2025-13-45"})
    page = response.content.decode()
    assert response.status_code == 400
    assert "Enter a real date as YYYY-MM-DD." in page
    assert "your whole history, unfiltered" in page
    assert "1 prediction in all." in page
    assert "in this range" not in page


def test_history_csv_export_streams_the_filtered_own_list(
    auth_client, user, other_user, make_prediction
):
    # given
    mine = [make_prediction(user, job_title=f"Title {i}") for i in range(3)]
    make_prediction(other_user, job_title="Not mine")

    # when
    response = auth_client.get(HISTORY_URL, {"format": "csv", "date_from": "2000-01-01"})

    # then
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    body = b"".join(response.streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [int(row["id"]) for row in rows] == [p.pk for p in reversed(mine)]
    assert rows[0]["job_family"] == "Other"
    assert "Not mine" not in body


def test_batch_upload_reports_bad_lines_and_predicts_the_rest(auth_client, active_model_version):
    # given
    data = csv_bytes([GOOD_ROW, "Data Scientist,SE,FT,XX,US,0,M,2024", GOOD_ROW])
    upload = SimpleUploadedFile("team.csv", data, content_type="text/csv")

    # when
    response = auth_client.post(BATCH_URL, {"file": upload})

    # then
    job = BatchJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("predictions:batch_detail", args=[job.pk])
    page = auth_client.get(response["Location"]).content.decode()
    assert '<td class="num">3</td>' in page
    assert "company_location" in page
    assert "2 estimated, 1 with errors" in page
    assert 'http-equiv="refresh"' not in page

    download = auth_client.get(reverse("predictions:batch_download", args=[job.pk]))
    rows = list(csv.DictReader(io.StringIO(download.content.decode())))
    assert download["Content-Disposition"] == (
        f'attachment; filename="team-predictions-{job.pk}.csv"'
    )
    assert [bool(row["estimate_usd"]) for row in rows] == [True, False, True]

    listing = auth_client.get(BATCH_URL).content.decode()
    assert "team.csv" in listing


def test_a_20_megabyte_upload_is_refused_with_413(auth_client, active_model_version):
    # given a file twice the limit
    upload = SimpleUploadedFile("huge.csv", b"x" * TWENTY_MEGABYTES, content_type="text/csv")

    # when
    response = auth_client.post(BATCH_URL, {"file": upload})

    # then
    assert response.status_code == 413
    assert "larger than 10 MB" in response.content.decode()
    assert BatchJob.objects.count() == 0


def test_a_file_with_a_bad_header_is_a_form_error(auth_client, active_model_version):
    upload = SimpleUploadedFile("x.csv", b"name,salary\nx,1\n", content_type="text/csv")
    response = auth_client.post(BATCH_URL, {"file": upload})
    assert response.status_code == 400
    error = _error_list(response.content.decode())
    assert "missing all the required columns" in error
    # each missing column is named once, not again in a second "Required: …" list
    assert error.count("employee_residence") == 1


def test_a_header_missing_some_columns_names_only_those(auth_client, active_model_version):
    # given a header without two of the required columns
    header = "job_title,experience_level,employment_type,company_location,work_year,company_size"
    upload = SimpleUploadedFile("x.csv", f"{header}\nx,SE,FT,US,2024,M\n".encode())

    # when
    response = auth_client.post(BATCH_URL, {"file": upload})

    # then
    html = response.content.decode()
    error = _error_list(html)
    assert response.status_code == 400
    assert "missing required columns: employee_residence, remote_ratio." in error
    assert "job_title" not in error
    # and the page says it once: in all its error lists together, each missing column once
    every_error = "".join(re.findall(r'<ul class="errorlist.*?</ul>', html, re.S))
    assert every_error.count("employee_residence") == every_error.count("remote_ratio") == 1


def _error_list(html: str) -> str:
    """The text of the page's first error list."""
    return html.split('<ul class="errorlist', 1)[1].split("</ul>", 1)[0]


@override_settings(BATCH_SYNC_MAX_ROWS=2)
def test_a_running_job_page_refreshes_itself(auth_client, user, active_model_version):
    # given a queued job (not yet run)
    job = BatchJob.objects.create(
        user=user, file_name="q.csv", input_csv=csv_bytes([GOOD_ROW] * 3), row_count=3
    )

    # when
    page = auth_client.get(reverse("predictions:batch_detail", args=[job.pk])).content.decode()

    # then
    assert job.status == JobStatus.PENDING
    assert '<meta http-equiv="refresh" content="2">' in page
    assert '<progress class="progress" max="100" value="0"' in page


def test_other_users_batch_jobs_are_404(auth_client, other_user):
    job = BatchJob.objects.create(user=other_user, file_name="x.csv", input_csv=b"", row_count=0)
    for name in ("predictions:batch_detail", "predictions:batch_download"):
        assert auth_client.get(reverse(name, args=[job.pk])).status_code == 404


# Three requests then the limit: a per-day window so a test never straddles a window edge.
@override_settings(RATELIMIT_PREDICT="3/d")
def test_the_form_is_rate_limited_with_429(auth_client, active_model_version):
    # when
    statuses = [auth_client.post(CREATE_URL, PROFILE_DATA).status_code for _ in range(4)]

    # then
    assert statuses == [302, 302, 302, 429]
    response = auth_client.post(CREATE_URL, PROFILE_DATA)
    assert response["Retry-After"].isdigit()
    assert Prediction.objects.count() == 3


@override_settings(BATCH_SYNC_MAX_ROWS=2)
@pytest.mark.django_db(transaction=True)
def test_a_large_upload_with_the_broker_down_is_a_503_form_error(
    auth_client, active_model_version, unreachable_broker
):
    # given a file that must be queued, and no broker
    upload = SimpleUploadedFile("big.csv", csv_bytes([GOOD_ROW] * 3), content_type="text/csv")

    # when
    response = auth_client.post(BATCH_URL, {"file": upload})

    # then the page says so (not a 500), and the job is listed as failed
    assert response.status_code == 503
    assert "could not be queued" in response.content.decode()
    assert BatchJob.objects.get().status == JobStatus.FAILED


def test_the_template_csv_downloads_and_uploads_back_cleanly(auth_client, active_model_version):
    # given the batch page
    page = auth_client.get(BATCH_URL).content.decode()
    template_url = reverse("predictions:batch_template")
    assert f'href="{template_url}"' in page

    # when the template is downloaded and uploaded as it is
    download = auth_client.get(template_url)
    upload = SimpleUploadedFile("template.csv", download.content, content_type="text/csv")
    response = auth_client.post(BATCH_URL, {"file": upload})

    # then it is a CSV with the documented header, and every example row is estimated
    assert download["Content-Type"].startswith("text/csv")
    assert 'filename="batch-template.csv"' in download["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(download.content.decode())))
    assert rows[0] == list(PROFILE_DATA)
    assert len(rows) == 3
    job = BatchJob.objects.get()
    assert response.status_code == 302
    assert (job.row_count, job.predicted_count, job.error_count) == (2, 2, 0)


def test_the_batch_page_says_where_its_estimates_are(auth_client):
    page = auth_client.get(BATCH_URL).content.decode()
    assert "/api/v1/predictions/batch/&lt;id&gt;/result/" in page
    assert f'href="{HISTORY_URL}"' in page


def test_history_filters_by_channel_and_says_where_batch_estimates_are(
    auth_client, user, make_prediction
):
    # given one estimate made on the form and one through the API
    make_prediction(user, job_title="Web Analyst")
    make_prediction(user, channel="api", job_title="Api Engineer")

    # when the list is filtered to the API
    page = auth_client.get(HISTORY_URL, {"channel": "api"}).content.decode()
    everything = auth_client.get(HISTORY_URL).content.decode()
    csv_text = auth_client.get(HISTORY_URL, {"channel": "web", "format": "csv"})

    # then only the API estimate is listed, and the page says what it filtered
    assert "Api Engineer" in page and "Web Analyst" not in page
    assert "1 prediction matching the filter (made on: API)" in page
    assert "Api Engineer" in everything and "Web Analyst" in everything
    assert b"Web Analyst" in b"".join(csv_text.streaming_content)
    # batch estimates are not here: the page points to them
    assert reverse("predictions:batch") in page


def test_an_unknown_channel_is_a_filter_error(auth_client, user, make_prediction):
    make_prediction(user)
    response = auth_client.get(HISTORY_URL, {"channel": "fax"})
    html = response.content.decode()
    assert response.status_code == 400
    assert "Select a valid choice" in _field_errors(html, "channel")
    assert "your whole history, unfiltered" in html


@pytest.mark.parametrize(
    ("title", "notice"),
    [
        (
            "Banana Sommelier",
            "We did not recognise the title “Banana Sommelier”;</strong> we treated it as "
            "any job title (overall average).",
        ),
        ("sr. data scientist", "We read “sr. data scientist” as <strong>Data Scientist</strong>"),
    ],
)
def test_the_result_page_says_how_the_title_was_read(
    auth_client, active_model_version, title, notice
):
    # when
    response = auth_client.post(CREATE_URL, {**PROFILE_DATA, "job_title": title}, follow=True)

    # then
    assert notice in response.content.decode()


@pytest.mark.parametrize(
    ("title", "share_sentence"),
    [
        ("Head of Marketing", "counted only 50% of what such a title usually adds or takes away"),
        ("Manager", "counted only 87% of what such a title usually adds or takes away"),
        ("Senior Data Scientist at Spotify", None),
    ],
)
def test_the_result_page_says_how_much_of_a_rule_mapped_title_counts(
    auth_client, active_model_version, title, share_sentence
):
    # when: an out-of-field title (half its effect) and one that names the field (all of it)
    response = auth_client.post(CREATE_URL, {**PROFILE_DATA, "job_title": title}, follow=True)

    # then
    html = response.content.decode()
    assert f"“{title}” is not a title in our data;</strong>" in html
    assert f"Why: {escape(match_title(title).evidence)}." in html
    if share_sentence is None:
        assert "counted only" not in html
    else:
        assert share_sentence in html
    assert Prediction.objects.get().title_weight == match_title(title).weight


def test_the_share_said_is_the_one_stored_with_the_prediction(auth_client, active_model_version):
    # given: a prediction made when the model kept all of the title's effect, and one made
    # before the share was recorded
    response = auth_client.post(CREATE_URL, {**PROFILE_DATA, "job_title": "Manager"}, follow=True)
    prediction = Prediction.objects.get()
    url = reverse("predictions:detail", args=[prediction.pk])
    assert "counted only 87%" in response.content.decode()
    # when
    Prediction.objects.filter(pk=prediction.pk).update(title_weight=1.0)
    kept_all = auth_client.get(url).content.decode()
    Prediction.objects.filter(pk=prediction.pk).update(title_weight=None)
    unrecorded = auth_client.get(url).content.decode()
    # then
    assert "“Manager” is not a title in our data;" in kept_all
    assert "counted only" not in kept_all
    assert "learned from salaries with this very title" in kept_all
    assert "counted only" not in unrecorded
    assert "learned from salaries" not in unrecorded


def test_a_title_in_the_data_gets_no_notice(auth_client, active_model_version):
    response = auth_client.post(CREATE_URL, PROFILE_DATA, follow=True)
    assert "title-notice" not in response.content.decode()


def test_batch_results_say_which_titles_were_not_recognised(auth_client, active_model_version):
    # given a file with a title in the data and a nonsense one
    data = csv_bytes([GOOD_ROW, "Banana Sommelier,SE,FT,US,US,0,M,2024"])
    upload = SimpleUploadedFile("titles.csv", data, content_type="text/csv")

    # when
    auth_client.post(BATCH_URL, {"file": upload})
    job = BatchJob.objects.get()
    download = auth_client.get(reverse("predictions:batch_download", args=[job.pk]))

    # then
    rows = list(csv.DictReader(io.StringIO(download.content.decode())))
    assert [(row["title_match"], row["title_treated_as"]) for row in rows] == [
        ("exact", "Data Scientist"),
        ("unknown", "any job title (overall average)"),
    ]


# --- a form sent twice (a reload, Back and send, a double click) creates one object ---
def _form_with_its_id(client, url: str) -> dict[str, str]:
    page = client.get(url)
    return {"submission": page.context["form"]["submission"].value()}


def test_the_prediction_form_sent_twice_stores_one_prediction(auth_client, active_model_version):
    # given the form, with its one-time id
    data = {**PROFILE_DATA, **_form_with_its_id(auth_client, CREATE_URL)}

    # when it is sent, then sent again (Back, and send once more)
    first = auth_client.post(CREATE_URL, data)
    again = auth_client.post(CREATE_URL, data, follow=True)

    # then one prediction; the second answer is its result page, and says so
    prediction = Prediction.objects.get()
    assert first["Location"] == reverse("predictions:detail", args=[prediction.pk])
    assert again.redirect_chain[-1][0] == first["Location"]
    assert "This form was already sent: here is the estimate it gave." in again.content.decode()
    # and a fresh form predicts again
    fresh = {**PROFILE_DATA, **_form_with_its_id(auth_client, CREATE_URL)}
    assert fresh["submission"] != data["submission"]
    auth_client.post(CREATE_URL, fresh)
    assert Prediction.objects.count() == 2


def test_a_refused_form_keeps_its_id_and_predicts_once_corrected(auth_client, active_model_version):
    # given the form sent with a bad field
    data = {**PROFILE_DATA, **_form_with_its_id(auth_client, CREATE_URL)}
    refused = auth_client.post(CREATE_URL, {**data, "remote_ratio": "7"})

    # when it is corrected and sent again
    corrected = auth_client.post(CREATE_URL, data)

    # then the refusal re-rendered the same id, and the corrected form predicted
    assert refused.status_code == 400
    assert refused.context["form"]["submission"].value() == data["submission"]
    assert corrected.status_code == 302
    assert Prediction.objects.get().submission


def test_a_tampered_form_id_is_a_form_error_not_a_500(auth_client, active_model_version):
    response = auth_client.post(CREATE_URL, {**PROFILE_DATA, "submission": "x' OR 1=1"})
    assert response.status_code == 400
    assert "This form is out of date" in response.content.decode()
    assert not Prediction.objects.exists()


def test_the_upload_form_sent_twice_makes_one_job(auth_client, active_model_version):
    # given the upload form, with its one-time id
    submission = _form_with_its_id(auth_client, BATCH_URL)

    def send():
        upload = SimpleUploadedFile("team.csv", csv_bytes([GOOD_ROW]), content_type="text/csv")
        return auth_client.post(BATCH_URL, {"file": upload, **submission}, follow=True)

    # when it is sent twice
    first, again = send(), send()

    # then one job; the second answer is its page, and says so
    job = BatchJob.objects.get()
    detail = reverse("predictions:batch_detail", args=[job.pk])
    assert first.redirect_chain[-1][0] == again.redirect_chain[-1][0] == detail
    assert "This upload was already sent: here is its job." in again.content.decode()


def test_the_batch_page_lists_titles_it_did_not_recognise(auth_client, active_model_version):
    # given a file with a title in the data and a nonsense one
    data = csv_bytes([GOOD_ROW, "Banana Sommelier,SE,FT,US,US,0,M,2024"])
    upload = SimpleUploadedFile("titles.csv", data, content_type="text/csv")

    # when
    page = auth_client.post(BATCH_URL, {"file": upload}, follow=True).content.decode()

    # then the job's page says which title was not recognised and what it was read as
    section = page.split('id="titles-heading"', 1)[1].split("</section>", 1)[0]
    assert "Titles we did not recognise" in page
    assert "Banana Sommelier" in section and "not recognised" in section
    assert "any job title (overall average)" in section
    assert "Data Scientist" not in section
