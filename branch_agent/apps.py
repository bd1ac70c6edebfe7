from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BranchAgentConfig(AppConfig):
    name = "branch_agent"
    verbose_name = _("PST branch agent")
    default_auto_field = "django.db.models.BigAutoField"
