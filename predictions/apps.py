from django.apps import AppConfig
from django.db.models.signals import post_migrate


class PredictionsConfig(AppConfig):
    name = "predictions"

    def ready(self) -> None:
        from predictions.triggers import exposure_trigger_ensure

        post_migrate.connect(exposure_trigger_ensure, sender=self)
