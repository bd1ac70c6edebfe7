"""PST statistical-consultation service for django-helpdesk (the central plugin)."""

__version__ = "0.1.0"

from pathlib import Path

# Indonesian for django-helpdesk's own staff pages (helpdesk ships no `id`): add it to the site's
# LOCALE_PATHS so it is found ahead of helpdesk's catalogues (README, Install step 2).
HELPDESK_LOCALE_DIR = str(Path(__file__).resolve().parent / "locale_helpdesk")
