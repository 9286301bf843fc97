"""Background jobs: the abstract ``Job`` every long task's row shares, and its transitions.

``models.Job`` holds the state (status, stage, percent, message, Celery task id, attempts,
timestamps and a heartbeat); ``services`` moves a job through pending → running → succeeded /
failed and enqueues its task on commit (``enqueue`` documents that convention); two periodic
sweeps in ``tasks`` cover every concrete job type, found by ``selectors.job_models``: one sends
a running job whose heartbeat stopped (its worker died) again, a bounded number of times, the
other fails jobs lost for longer than their type's limit.
"""
