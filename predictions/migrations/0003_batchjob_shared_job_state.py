"""BatchJob becomes a portal.jobs Job: stage, a stored percent, the Celery task id, a heartbeat.

Existing rows keep everything; their percent is what the old ``progress_percent`` property
computed from ``rows_done`` / ``row_count``, and their heartbeat their last known activity.
"""

import django.core.validators
from django.db import migrations, models
from django.db.models.functions import Coalesce

BATCH_SIZE = 1_000
FULL_PERCENT = 100


def _old_progress_percent(job) -> int:
    if not job.row_count:
        return FULL_PERCENT if job.status == "succeeded" else 0
    return min(FULL_PERCENT, round(FULL_PERCENT * job.rows_done / job.row_count))


def fill_job_state(apps, schema_editor):
    BatchJob = apps.get_model("predictions", "BatchJob")
    jobs = BatchJob.objects.only("id", "status", "row_count", "rows_done").order_by("pk")
    changed = []
    for job in jobs.iterator(chunk_size=BATCH_SIZE):
        job.progress_percent = _old_progress_percent(job)
        if job.progress_percent:
            changed.append(job)
        if len(changed) >= BATCH_SIZE:
            BatchJob.objects.bulk_update(changed, ["progress_percent"])
            changed = []
    BatchJob.objects.bulk_update(changed, ["progress_percent"])
    BatchJob.objects.filter(heartbeat_at__isnull=True).update(
        heartbeat_at=Coalesce("finished_at", "started_at")
    )


class Migration(migrations.Migration):
    dependencies = [
        ("predictions", "0002_recent_list_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="batchjob",
            name="celery_task_id",
            field=models.CharField(blank=True, max_length=255),
        ),
        migrations.AddField(
            model_name="batchjob",
            name="heartbeat_at",
            field=models.DateTimeField(
                blank=True,
                help_text="Last sign of life from the worker running the job.",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="batchjob",
            name="progress_percent",
            field=models.PositiveSmallIntegerField(
                default=0, validators=[django.core.validators.MaxValueValidator(100)]
            ),
        ),
        migrations.AddField(
            model_name="batchjob",
            name="stage",
            field=models.CharField(
                blank=True, help_text="What the running job is doing now.", max_length=32
            ),
        ),
        migrations.AlterField(
            model_name="batchjob",
            name="message",
            field=models.TextField(blank=True, help_text="For the owner: why the job failed."),
        ),
        migrations.RunPython(fill_job_state, migrations.RunPython.noop, elidable=True),
    ]
