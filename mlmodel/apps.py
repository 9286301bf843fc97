from django.apps import AppConfig


class MlmodelConfig(AppConfig):
    name = "mlmodel"
