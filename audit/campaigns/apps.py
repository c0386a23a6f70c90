from django.apps import AppConfig


def expert_may_view_image(user, image) -> bool:
    """Experts see the images of their own assignments in launched campaigns."""
    from audit.campaigns.models import Assignment

    return Assignment.objects.filter(
        expert=user,
        campaign__status__in=["active", "paused", "closed"],
        campaign_item__source_pair__images__image=image,
    ).exists()


def owner_may_view_image(user, image) -> bool:
    """Campaign owners see the images of their campaigns' items."""
    from audit.campaigns.models import CampaignItem

    return CampaignItem.objects.filter(
        campaign__memberships__user=user,
        campaign__memberships__role="owner",
        source_pair__images__image=image,
    ).exists()


class CampaignsConfig(AppConfig):
    name = "audit.campaigns"
    label = "campaigns"
    verbose_name = "Campaigns"

    def ready(self) -> None:
        from audit.datasets.selectors import IMAGE_ACCESS_RULES

        IMAGE_ACCESS_RULES.extend([expert_may_view_image, owner_may_view_image])
