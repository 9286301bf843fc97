"""Admin pieces shared by job types (nothing of this app is registered itself)."""

# The job state every job admin shows, in lifecycle order.
JOB_ADMIN_FIELDS = (
    "status",
    "stage",
    "progress_percent",
    "message",
    "celery_task_id",
    "created_at",
    "started_at",
    "heartbeat_at",
    "finished_at",
)
