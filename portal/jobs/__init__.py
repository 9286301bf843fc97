"""Background jobs: the abstract ``Job`` every long task's row shares, and its transitions.

``models.Job`` holds the state (status, stage, percent, message, Celery task id, timestamps and
a heartbeat); ``services`` moves a job through pending → running → succeeded / failed and
enqueues its task on commit (``enqueue`` documents that convention); the periodic sweep in
``tasks`` fails lost jobs of every concrete job type, found by ``selectors.job_models``.
"""
