from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PstHelpdeskConfig(AppConfig):
    name = "pst_helpdesk_ext"
    verbose_name = _("PST statistical services")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.core import checks
        from django.db.models.signals import post_migrate

        from pst_helpdesk_ext import (  # noqa: F401  (connect helpdesk signals)
            online_receivers,
            receivers,
        )
        from pst_helpdesk_ext.checks import (
            check_deploy,
            check_public_base_url,
            check_settings,
            check_shared_cache,
        )
        from pst_helpdesk_ext.site_url import sync_site_domain

        checks.register(check_settings, checks.Tags.compatibility)
        checks.register(check_public_base_url, checks.Tags.compatibility)
        checks.register(check_shared_cache, checks.Tags.caches)
        checks.register(check_deploy, checks.Tags.security, deploy=True)
        post_migrate.connect(
            sync_site_domain, sender=self, dispatch_uid="pst_helpdesk_ext.sync_site_domain"
        )
