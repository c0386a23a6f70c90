from django.apps import AppConfig


class RegenerationConfig(AppConfig):
    name = "audit.regeneration"
    label = "regeneration"
    verbose_name = "Regeneration"

    def ready(self) -> None:
        # The model judge labels a pre-screened campaign's items with score bands at its dry run
        # and launch (the campaigns layer asks through its registry, never importing this one).
        from audit.campaigns.services import score_source_register
        from audit.regeneration.prescreen import judge_bands

        score_source_register("judge", judge_bands)
