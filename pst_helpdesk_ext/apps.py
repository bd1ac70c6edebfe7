import importlib.util

from django.apps import AppConfig
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

#: The central plugin's own packages: the ``central`` extra (an office PC installs ``[agent]``).
CENTRAL_PACKAGES = {
    "helpdesk": "django-helpdesk",
    "rest_framework": "djangorestframework",
    "drf_spectacular": "drf-spectacular",
    "holidays": "holidays",
    "openpyxl": "openpyxl",
}
_missing = [
    dist for module, dist in CENTRAL_PACKAGES.items() if not importlib.util.find_spec(module)
]
if _missing:
    raise ImproperlyConfigured(
        f"pst_helpdesk_ext needs {', '.join(_missing)}, which are not installed: install the "
        'central extra, pip install "pst-helpdesk[central]" (README, "Install into an existing '
        'django-helpdesk site").'
    )


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
