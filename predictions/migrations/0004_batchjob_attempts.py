"""Batch jobs count their runs, so a job whose worker keeps dying is sent again a bounded number
of times. Existing rows start at 0: a job running during the deploy may get one extra run."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("predictions", "0003_batchjob_shared_job_state"),
    ]

    operations = [
        migrations.AddField(
            model_name="batchjob",
            name="attempts",
            field=models.PositiveSmallIntegerField(
                default=0, help_text="Runs started by a worker, at most JOB_MAX_ATTEMPTS."
            ),
        ),
    ]
