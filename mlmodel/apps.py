from django.apps import AppConfig


def _warm_models_in_worker_process(**_kwargs) -> None:
    """A Celery pool process loads the serving models before its first task (batch jobs,
    shadow scoring) instead of during it."""
    from mlmodel.loading import warm

    warm()


class MlmodelConfig(AppConfig):
    name = "mlmodel"

    def ready(self) -> None:
        from celery.signals import worker_process_init

        worker_process_init.connect(_warm_models_in_worker_process, weak=False)
