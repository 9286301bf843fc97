"""Rollout: experiments, sticky assignment, shadow arms, live metrics, guardrails.

``services`` (writes: champion, experiments, assignments), ``selectors`` (reads), ``metrics``
(the daily rollup and the per-arm dashboard numbers), ``guardrails`` (the staged-ramp policy)
and ``tasks`` (thin Celery entry points). The arithmetic lives in ``mlmodel.core.rollout`` and
``mlmodel.core.experiment_stats``.
"""
