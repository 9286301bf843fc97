"""Reads: per-user scoping, date ranges, the cached market histogram."""

import datetime

import pytest
from django.utils import timezone

from mlmodel.importing import salary_import_csv
from mlmodel.models import ReviewStatus, SalaryRecord, SalarySource
from predictions import selectors
from predictions.models import Prediction

pytestmark = pytest.mark.django_db


def _salary(level: str, title: str, usd: int, status=ReviewStatus.APPROVED) -> SalaryRecord:
    return SalaryRecord(
        work_year=2024,
        experience_level=level,
        employment_type="FT",
        job_title=title,
        salary=usd,
        salary_currency="USD",
        salary_in_usd=usd,
        employee_residence="US",
        remote_ratio=0,
        company_location="US",
        company_size="M",
        source=SalarySource.IMPORT,
        review_status=status,
    )


def test_each_user_sees_only_their_own_predictions(user, other_user, make_prediction):
    # given
    mine = make_prediction(user)
    theirs = make_prediction(other_user)

    # when / then
    assert list(selectors.prediction_list_for_user(user=user)) == [mine]
    assert selectors.prediction_get_for_user(user=user, prediction_id=theirs.pk) is None
    assert selectors.prediction_get_for_user(user=other_user, prediction_id=theirs.pk) == theirs


def test_date_range_is_inclusive_of_both_days(user, make_prediction):
    # given predictions on three different days
    days = [datetime.date(2025, 3, 1), datetime.date(2025, 3, 2), datetime.date(2025, 3, 3)]
    created = []
    for day in days:
        prediction = make_prediction(user)
        moment = timezone.make_aware(datetime.datetime.combine(day, datetime.time(23, 59)))
        Prediction.objects.filter(pk=prediction.pk).update(created_at=moment)
        created.append(prediction.pk)

    # when
    found = selectors.prediction_list_for_user(
        user=user, date_from=datetime.date(2025, 3, 2), date_to=datetime.date(2025, 3, 3)
    )

    # then newest first, the first day left out
    assert [p.pk for p in found] == [created[2], created[1]]


def test_market_histogram_uses_level_and_family_then_falls_back_to_the_level():
    # given 40 senior data scientists, 10 senior data engineers, a pending outlier
    SalaryRecord.objects.bulk_create(
        [_salary("SE", "Data Scientist", 100_000 + 1_000 * i) for i in range(40)]
        + [_salary("SE", "Data Engineer", 150_000) for _ in range(10)]
        + [_salary("SE", "Data Scientist", 4_000_000, status=ReviewStatus.PENDING)]
    )

    # when
    science = selectors.market_histogram(experience_level="SE", family="Data Science")
    engineering = selectors.market_histogram(experience_level="SE", family="Data Engineering")
    nothing = selectors.market_histogram(experience_level="EX", family="Data Science")

    # then
    assert science.sample_size == 40
    assert science.description == "Senior · Data Science"
    assert science.bin_edges[-1] < 4_000_000
    assert engineering.sample_size == 50
    assert engineering.description == "All Senior jobs"
    assert nothing is None


def test_market_histogram_is_cached(django_assert_num_queries):
    # given
    SalaryRecord.objects.bulk_create([_salary("MI", "Data Analyst", 70_000) for _ in range(35)])
    first = selectors.market_histogram(experience_level="MI", family="Data Analysis")

    # when / then a second look costs no query
    with django_assert_num_queries(0):
        again = selectors.market_histogram(experience_level="MI", family="Data Analysis")
    assert again == first


def test_market_histogram_refreshes_after_an_import(tmp_path):
    # given a cached histogram of 35 mid-level analysts
    SalaryRecord.objects.bulk_create([_salary("MI", "Data Analyst", 70_000) for _ in range(35)])
    before = selectors.market_histogram(experience_level="MI", family="Data Analysis")

    # when a file with 35 more analysts is imported
    header = (
        "work_year,experience_level,employment_type,job_title,salary,salary_currency,"
        "salary_in_usd,employee_residence,remote_ratio,company_location,company_size"
    )
    row = "2024,MI,FT,Data Analyst,90000,USD,90000,US,0,US,M"
    path = tmp_path / "more.csv"
    path.write_text("\n".join([header] + [row] * 35) + "\n")
    salary_import_csv(path=path)

    # then the chart shows all 70 at once, not after the cache expires
    after = selectors.market_histogram(experience_level="MI", family="Data Analysis")
    assert before.sample_size == 35
    assert after.sample_size == 70
