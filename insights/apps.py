from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "insights"
    verbose_name = "Sales Insights"

    def ready(self) -> None:
        from insights import signals  # noqa: F401  (a deleted user's activity leaves the rollup)
