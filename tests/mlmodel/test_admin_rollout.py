"""The rollout panel in the admin: confirmation pages with reasons, the dashboard, the lookup,
and nothing for anyone but staff."""

import pytest
from django.urls import reverse
from django.utils import timezone

from mlmodel.models import (
    Experiment,
    ExperimentStatus,
    ModelAction,
    ModelEvent,
    ModelStatus,
    ModelVersion,
)
from mlmodel.rollout.metrics import arm_daily_stats_refresh
from predictions.models import Channel
from predictions.services import prediction_create
from tests.conftest import start_experiment_of
from tests.predictions.conftest import PROFILE

pytestmark = pytest.mark.django_db


@pytest.fixture
def versions(register_version):
    return [register_version(activate=True), register_version(), register_version()]


@pytest.fixture
def admin_client(client, staff_user):
    client.force_login(staff_user)
    return client


def _rollout_urls(experiment_id: int, version_id: int) -> list[str]:
    return [
        reverse("admin:mlmodel_experiment_changelist"),
        reverse("admin:mlmodel_experiment_new"),
        reverse("admin:mlmodel_experiment_served_when"),
        reverse("admin:mlmodel_experiment_change", args=[experiment_id]),
        *(
            reverse("admin:mlmodel_experiment_action", args=[experiment_id, action])
            for action in ("start", "stop", "reweight", "promote", "rerandomize")
        ),
        reverse("admin:mlmodel_modelversion_rollback"),
        reverse("admin:mlmodel_modelversion_champion", args=[version_id]),
        reverse("admin:mlmodel_modelversion_retire", args=[version_id]),
        reverse("admin:mlmodel_modelevent_changelist"),
    ]


def test_non_staff_and_anonymous_never_reach_a_rollout_page(client, user, versions):
    # given
    experiment = start_experiment_of([{"model_version": 2, "weight": 50}])
    urls = _rollout_urls(experiment.pk, versions[1].pk)

    # when
    anonymous = [client.get(url) for url in urls]
    client.force_login(user)
    signed_in = [client.get(url) for url in urls]
    posted = client.post(urls[4], {"reason": "sneaky"})

    # then: the admin sends both to its login page; nothing changed
    assert all(r.status_code == 302 and "/admin/login/" in r["Location"] for r in anonymous)
    assert all(r.status_code == 302 and "/admin/login/" in r["Location"] for r in signed_in)
    assert posted.status_code == 302
    experiment.refresh_from_db()
    assert experiment.status == ExperimentStatus.RUNNING


def test_staff_without_the_permission_get_403(client, django_user_model, versions, password):
    # given a staff member who may look but not change models
    from django.contrib.auth.models import Permission

    viewer = django_user_model.objects.create_user(
        username="viewer", password=password, is_staff=True
    )
    viewer.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_experiment", "view_modelversion"])
    )
    client.force_login(viewer)
    experiment = start_experiment_of([{"model_version": 2, "weight": 50}])

    # when
    dashboard = client.get(reverse("admin:mlmodel_experiment_change", args=[experiment.pk]))
    stop = client.post(
        reverse("admin:mlmodel_experiment_action", args=[experiment.pk, "stop"]), {"reason": "x"}
    )
    new = client.get(reverse("admin:mlmodel_experiment_new"))

    # then
    assert (
        dashboard.status_code == 200 and "Stop" not in dashboard.content.decode().split("Arms")[0]
    )
    assert stop.status_code == 403 and new.status_code == 403
    experiment.refresh_from_db()
    assert experiment.status == ExperimentStatus.RUNNING


def test_a_staff_member_runs_an_experiment_from_the_admin(admin_client, staff_user, versions):
    client = admin_client

    # create a draft: v2 as a 30 % challenger, v3 as a shadow
    page = client.post(
        reverse("admin:mlmodel_experiment_new"),
        {
            "name": "v2 at 30 %",
            "new_version_1": "2",
            "new_weight_1": "30",
            "new_role_1": "challenger",
            "new_version_2": "3",
            "new_weight_2": "0",
            "new_role_2": "shadow",
            "reason": "candidate from last night",
        },
    )
    experiment = Experiment.objects.get()
    assert page.status_code == 302
    assert [(a.model_version.version, a.weight) for a in experiment.arms.order_by("id")] == [
        (1, 70),
        (2, 30),
        (3, 0),
    ]

    # a confirmation page without a reason changes nothing
    start_url = reverse("admin:mlmodel_experiment_action", args=[experiment.pk, "start"])
    assert "Yes, start" in client.get(start_url).content.decode()
    assert "This field is required" in client.post(start_url, {"reason": ""}).content.decode()
    experiment.refresh_from_db()
    assert experiment.status == ExperimentStatus.DRAFT

    # start, reweight, read the dashboard, promote, roll back
    client.post(start_url, {"reason": "go"})
    experiment.refresh_from_db()
    assert experiment.status == ExperimentStatus.RUNNING
    client.post(
        reverse("admin:mlmodel_experiment_action", args=[experiment.pk, "reweight"]),
        {"weight_1": "60", "weight_2": "40", "reason": "ramp"},
    )
    assert experiment.arms.get(model_version__version=2).weight == 40
    prediction_create(user=staff_user, profile=PROFILE, channel=Channel.WEB)
    arm_daily_stats_refresh()
    dashboard = client.get(reverse("admin:mlmodel_experiment_change", args=[experiment.pk]))
    text = dashboard.content.decode()
    assert dashboard.status_code == 200
    for expected in (
        "Arms",
        "Answers per day",
        "<svg",
        "Sample-ratio check",
        "Promote a challenger",
    ):
        assert expected in text
    client.post(
        reverse("admin:mlmodel_experiment_action", args=[experiment.pk, "promote"]),
        {"model_version": "2", "reason": "wins", "srm_override_reason": ""},
    )
    assert ModelVersion.objects.get(version=2).status == ModelStatus.ACTIVE
    client.post(reverse("admin:mlmodel_modelversion_rollback"), {"reason": "regret"})
    assert ModelVersion.objects.get(version=1).status == ModelStatus.ACTIVE

    # every step is in the audit log with the staff member and the reason
    logged = set(ModelEvent.objects.filter(actor=staff_user).values_list("action", "reason"))
    assert {
        (ModelAction.EXPERIMENT_CREATED, "candidate from last night"),
        (ModelAction.EXPERIMENT_STARTED, "go"),
        (ModelAction.EXPERIMENT_REWEIGHTED, "ramp"),
        (ModelAction.PROMOTED, "wins"),
        (ModelAction.ROLLED_BACK, "regret"),
    } <= logged


def test_the_served_when_lookup_names_version_experiment_and_arm(admin_client, user, versions):
    # given
    experiment = start_experiment_of([{"model_version": 2, "weight": 50}], name="lookup test")
    prediction = prediction_create(user=user, profile=PROFILE, channel=Channel.API)

    # when
    page = admin_client.get(
        reverse("admin:mlmodel_experiment_served_when"),
        {"user": user.username, "day": timezone.now().date().isoformat()},
    )
    unknown = admin_client.get(
        reverse("admin:mlmodel_experiment_served_when"), {"user": "nobody", "day": "2026-01-01"}
    )

    # then
    text = page.content.decode()
    assert f"#{prediction.pk}" in text and f"v{prediction.model_version.version}" in text
    assert experiment.name in text
    assert "No user called or numbered" in unknown.content.decode()


def test_the_audit_log_cannot_be_edited_or_deleted_in_the_admin(admin_client, versions):
    # given
    event = ModelEvent.objects.first()

    # when
    change = admin_client.post(
        reverse("admin:mlmodel_modelevent_change", args=[event.pk]), {"reason": "edited"}
    )
    delete = admin_client.post(
        reverse("admin:mlmodel_modelevent_delete", args=[event.pk]), {"post": "yes"}
    )

    # then
    assert change.status_code == 403 and delete.status_code == 403
    assert ModelEvent.objects.filter(pk=event.pk, reason="").exists()


# --- a candidate's page: its card beside the champion's, a 10 % experiment in one step ---
def _candidate_urls(version_id: int, run_id: int) -> list[str]:
    return [
        reverse("admin:mlmodel_modelversion_experiment", args=[version_id]),
        reverse("admin:mlmodel_modelversion_from_run", args=[run_id]),
    ]


@pytest.fixture
def run_of_v2(versions):
    from mlmodel.models import TrainingRun, TrainingTrigger

    return TrainingRun.objects.create(trigger=TrainingTrigger.ADMIN, model_version=versions[1])


def test_non_staff_and_anonymous_never_reach_a_candidate_page(client, user, versions, run_of_v2):
    # given
    urls = _candidate_urls(versions[1].pk, run_of_v2.pk)

    # when
    anonymous = [client.get(url) for url in urls]
    client.force_login(user)
    signed_in = [client.get(url) for url in urls]
    posted = client.post(urls[0], {"reason": "sneaky"})

    # then: the admin sends both to its login page; no experiment was started
    assert all(r.status_code == 302 and "/admin/login/" in r["Location"] for r in anonymous)
    assert all(r.status_code == 302 and "/admin/login/" in r["Location"] for r in signed_in)
    assert posted.status_code == 302 and "/admin/login/" in posted["Location"]
    assert not Experiment.objects.exists()


def test_staff_without_the_permissions_get_403_on_a_candidate_page(
    client, django_user_model, versions, run_of_v2, password
):
    # given a staff member who may look at versions but not change them, and one with no rights
    from django.contrib.auth.models import Permission

    viewer = django_user_model.objects.create_user(
        username="viewer", password=password, is_staff=True
    )
    viewer.user_permissions.add(*Permission.objects.filter(codename="view_modelversion"))
    nobody = django_user_model.objects.create_user(
        username="nobody", password=password, is_staff=True
    )
    experiment_url, from_run_url = _candidate_urls(versions[1].pk, run_of_v2.pk)

    # when
    client.force_login(viewer)
    viewer_get = client.get(experiment_url)
    viewer_post = client.post(experiment_url, {"reason": "x"})
    viewer_from_run = client.get(from_run_url)
    client.force_login(nobody)
    nobody_from_run = client.get(from_run_url)

    # then: looking is allowed to the viewer, starting an experiment is not
    assert viewer_get.status_code == 403 and viewer_post.status_code == 403
    assert viewer_from_run.status_code == 302
    assert nobody_from_run.status_code == 403
    assert not Experiment.objects.exists()


def test_a_candidates_page_shows_its_card_beside_the_champions(admin_client, versions):
    # when
    candidate = admin_client.get(
        reverse("admin:mlmodel_modelversion_change", args=[versions[1].pk])
    )
    champion = admin_client.get(reverse("admin:mlmodel_modelversion_change", args=[versions[0].pk]))

    # then
    cards = candidate.content.decode().split('id="model-cards"', 1)[1].split("</fieldset>", 1)[0]
    this_version, beside = cards.split('data-role="champion"', 1)
    assert "Model card of v2 beside the champion's (v1)" in cards
    assert 'id="model-card-2"' in this_version and 'id="model-card-1"' in beside
    assert "in service: the champion" in beside
    own = champion.content.decode()
    assert 'id="model-card-1"' in own and 'data-role="champion"' not in own


def test_a_staff_member_starts_a_10_percent_experiment_from_the_candidates_page(
    admin_client, staff_user, versions
):
    # given the candidate's page and its link
    url = reverse("admin:mlmodel_modelversion_experiment", args=[versions[1].pk])
    page = admin_client.get(reverse("admin:mlmodel_modelversion_change", args=[versions[1].pk]))
    assert f'href="{url}">Start a 10 % experiment…' in page.content.decode()

    # when they open it, confirm without a reason, then with one
    confirmation = admin_client.get(url)
    without_reason = admin_client.post(url, {"reason": ""})
    started = admin_client.post(url, {"reason": "passed its gates"})

    # then one running experiment: the champion at 90 %, the candidate at 10 %
    assert "Start a 10 % experiment for v2" in confirmation.content.decode()
    assert "This field is required" in without_reason.content.decode()
    experiment = Experiment.objects.get()
    assert started.status_code == 302
    assert started["Location"] == reverse("admin:mlmodel_experiment_change", args=[experiment.pk])
    assert experiment.status == ExperimentStatus.RUNNING
    assert dict(experiment.arms.values_list("model_version__version", "weight")) == {1: 90, 2: 10}
    logged = set(
        ModelEvent.objects.filter(experiment=experiment).values_list(
            "model_version__version", "action", "actor", "automatic", "reason"
        )
    )
    assert {
        (2, ModelAction.EXPERIMENT_CREATED, staff_user.pk, False, "passed its gates"),
        (2, ModelAction.EXPERIMENT_STARTED, staff_user.pk, False, "passed its gates"),
    } <= logged


def test_a_second_experiment_is_refused_on_the_confirmation_page(admin_client, versions):
    # given an experiment already running for v2
    url = reverse("admin:mlmodel_modelversion_experiment", args=[versions[2].pk])
    start_experiment_of([{"model_version": 2, "weight": 50}])

    # when they try to start one for v3
    refused = admin_client.post(url, {"reason": "v3 as well"})

    # then the service's refusal is shown on the page and nothing else started
    assert refused.status_code == 200 and "errornote" in refused.content.decode()
    assert Experiment.objects.count() == 1


def test_the_training_run_page_leads_to_the_candidate_it_registered(
    admin_client, versions, run_of_v2
):
    # given a run that registered no version yet
    from mlmodel.models import TrainingRun, TrainingTrigger

    unfinished = TrainingRun.objects.create(trigger=TrainingTrigger.ADMIN)
    run_page = admin_client.get(reverse("admin:mlmodel_trainingrun_change", args=[run_of_v2.pk]))

    # when
    to_candidate = admin_client.get(
        reverse("admin:mlmodel_modelversion_from_run", args=[run_of_v2.pk])
    )
    not_yet = admin_client.get(
        reverse("admin:mlmodel_modelversion_from_run", args=[unfinished.pk]), follow=True
    )
    missing = admin_client.get(reverse("admin:mlmodel_modelversion_from_run", args=[999_999]))

    # then
    link = reverse("admin:mlmodel_modelversion_from_run", args=[run_of_v2.pk])
    assert f'href="{link}"' in run_page.content.decode()
    assert to_candidate["Location"] == reverse(
        "admin:mlmodel_modelversion_change", args=[versions[1].pk]
    )
    assert not_yet.redirect_chain[-1][0] == reverse(
        "admin:mlmodel_trainingrun_change", args=[unfinished.pk]
    )
    assert f"Training run #{unfinished.pk} has registered no model version." in (
        not_yet.content.decode()
    )
    assert missing.status_code == 404


# --- a version's lineage: what it was trained on, by which run, against which champion ---
def _lineage_of(page) -> str:
    return page.content.decode().split('id="lineage"', 1)[1].split("</fieldset>", 1)[0]


def _item(lineage: str, name: str) -> str:
    return lineage.split(f'data-item="{name}"', 1)[1].split("</div>", 1)[0]


def test_a_candidates_page_shows_the_lineage_of_the_run_that_trained_it(
    admin_client, staff_user, versions, run_of_v2
):
    # given v2 trained by a run that a staff member started, compared with the champion v1
    candidate = versions[1]
    run_of_v2.requested_by = staff_user
    run_of_v2.seed = 11
    run_of_v2.params = {"booster": {"n_estimators": 20}}
    run_of_v2.gate_passed = True
    run_of_v2.save()
    ModelVersion.objects.filter(pk=candidate.pk).update(
        training_data={
            **candidate.training_data,
            "rows": 1_496,
            "rows_raw": 1_500,
            "years": [2020, 2021, 2022, 2023, 2024],
            "sources": {"import": 1_500},
            "sha256": "ab" * 32,
            "held_out": {"year": 2024, "rows": 595},
        },
        metrics={**candidate.metrics, "comparison": {"active_version": 1, "rows": 595}},
    )

    # when
    page = admin_client.get(reverse("admin:mlmodel_modelversion_change", args=[candidate.pk]))

    # then: the lineage reads as sentences, with links to the run, the champion and the log
    lineage = _lineage_of(page)
    run_url = reverse("admin:mlmodel_trainingrun_change", args=[run_of_v2.pk])
    champion_url = reverse("admin:mlmodel_modelversion_change", args=[versions[0].pk])
    events_url = (
        reverse("admin:mlmodel_modelevent_changelist") + f"?model_version__id__exact={candidate.pk}"
    )
    assert "Lineage of v2" in lineage
    assert "1,496 distinct salary rows from 2020–2024, of 1,500 read (1,500 imported)" in (
        _item(lineage, "data")
    )
    assert f'<a href="{run_url}">Training run #{run_of_v2.pk}</a>' in _item(lineage, "run")
    assert "started by sam-staff; passed its gates" in _item(lineage, "run")
    assert "Seed 11; hyper-parameter overrides for booster." in _item(lineage, "seed")
    compared = _item(lineage, "compared")
    assert f'<a href="{champion_url}">v1</a>, the champion when it was trained' in compared
    assert "on the same 595 held-out rows from 2024" in compared
    assert f">{candidate.artifact_sha256[:12]}…</code>" in _item(lineage, "artifact")
    assert "by a command or task (no one signed in)" in _item(lineage, "registered")
    assert "<strong>Candidate</strong> since" in _item(lineage, "status")
    assert f'href="{events_url}">1 event of v2</a>' in _item(lineage, "events")
    # and the raw record is still there, folded away in a disclosure below the lineage
    rest = page.content.decode().split('id="lineage"', 1)[1]
    assert "<details><summary>" in rest and "Raw record: full digests and JSON" in rest
    assert rest.index("<details><summary>") < rest.index("field-metrics_json")
    # and the audit log link lists this version's events only
    log = admin_client.get(events_url)
    assert log.status_code == 200 and "1 model event" in log.content.decode()


def test_a_version_registered_without_a_run_shows_its_lineage_too(admin_client, versions):
    # when the champion's page is opened (registered by a fixture, then made champion)
    page = admin_client.get(reverse("admin:mlmodel_modelversion_change", args=[versions[0].pk]))

    # then its lineage says so instead of leaving blanks
    lineage = _lineage_of(page)
    assert "Lineage of v1" in lineage
    assert "None: registered directly" in _item(lineage, "run")
    assert "Seed 7; default hyper-parameters." in _item(lineage, "seed")
    assert "Not compared with a champion" in _item(lineage, "compared")
    assert "The first version registered." in _item(lineage, "compared")
    assert "<strong>Champion</strong> since" in _item(lineage, "status")
    assert "made champion by a command or task" in _item(lineage, "status")
    assert "2 events of v1</a>" in _item(lineage, "events")


def test_non_staff_and_anonymous_never_see_a_versions_lineage(client, user, versions):
    # given
    url = reverse("admin:mlmodel_modelversion_change", args=[versions[1].pk])

    # when
    anonymous = client.get(url)
    client.force_login(user)
    signed_in = client.get(url)

    # then: both are sent to the admin's login page
    for response in (anonymous, signed_in):
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
        assert "Lineage of" not in response.content.decode()
