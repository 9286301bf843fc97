from django.apps import AppConfig


class PagesConfig(AppConfig):
    name = "portal.pages"
    label = "pages"
    verbose_name = "Site pages"

    def ready(self) -> None:
        from portal.pages import signals  # noqa: F401 - connects the receivers
