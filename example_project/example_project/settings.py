"""A central PST site: django-helpdesk with the pst_helpdesk_ext plugin.

This is what a helpdesk admin's own settings look like after following the README's
"Install into an existing django-helpdesk site". SQLite by default; PostgreSQL when DATABASE_URL
is set (postgres://user@host:5432/name).
"""

import os
from pathlib import Path

import dj_database_url

import pst_helpdesk_ext

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("PST_DATA_DIR", BASE_DIR))

SECRET_KEY = os.environ.get(
    "DJANGO_SECRET_KEY", "demo-only-insecure-key-change-me-in-production-0123456789"
)
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    # The plugin goes directly before helpdesk so its templates can extend helpdesk's blocks.
    "pst_helpdesk_ext",
    "helpdesk",
]
SITE_ID = 1

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Rate limits on helpdesk's own public forms (the plugin's pages count in their views).
    "pst_helpdesk_ext.middleware.PublicThrottleMiddleware",
]

ROOT_URLCONF = "example_project.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
WSGI_APPLICATION = "example_project.wsgi.application"

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{DATA_DIR / 'db.sqlite3'}", conn_max_age=60
    )
}


def _private_sqlite_file(name: str) -> None:
    """The SQLite file holds visitors' personal data: readable by this user only (0600; SQLite
    gives its -wal and -shm files the same mode), in a new data directory of mode 0700."""
    path = Path(name)
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True)
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    for file in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        if file.exists() and file.stat().st_mode & 0o077:
            file.chmod(0o600)


if DATABASES["default"]["ENGINE"].endswith("sqlite3") and DATABASES["default"]["NAME"] not in (
    "",
    ":memory:",
):
    _private_sqlite_file(DATABASES["default"]["NAME"])
# helpdesk's views use no transactions: this makes a staff change and its down-feed row commit
# together (the plugin writes the feed row in the same transaction as the change).
DATABASES["default"]["ATOMIC_REQUESTS"] = True
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "id"
LANGUAGES = [("id", "Bahasa Indonesia"), ("en", "English")]
TIME_ZONE = "Asia/Jakarta"
USE_I18N = True
# Indonesian for helpdesk's own staff pages, shipped by the plugin (helpdesk has no `id`).
LOCALE_PATHS = [pst_helpdesk_ext.HELPDESK_LOCALE_DIR]
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
MEDIA_URL = "/media/"
MEDIA_ROOT = DATA_DIR / "media"

LOGIN_URL = "helpdesk:login"
LOGIN_REDIRECT_URL = "helpdesk:home"

EMAIL_BACKEND = os.environ.get(
    "DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = "pst@example.bps.go.id"

# django-helpdesk
HELPDESK_TEAMS_MODE_ENABLED = False  # no pinax-teams needed
HELPDESK_USE_CDN = False  # every page must work with no internet
HELPDESK_DEFAULT_SETTINGS = {"use_email_as_submitter": True, "email_on_ticket_change": True}
HELPDESK_KB_ENABLED = True
HELPDESK_PUBLIC_ENABLED = True
# helpdesk's public submit form refuses posts unless PST_HELPDESK["PUBLIC_TICKET_FORM"] is on.
HELPDESK_PUBLIC_TICKET_FORM_CLASS = "pst_helpdesk_ext.public_form.PublicTicketForm"
# helpdesk's default attachment types plus .ics: follow-up appointments attach a calendar file.
HELPDESK_VALID_EXTENSIONS = [
    ".txt", ".asc", ".pdf", ".doc", ".docx", ".odt", ".jpg", ".png", ".eml", ".ics",
]  # fmt: skip

REST_FRAMEWORK = {
    # helpdesk's API uses DRF's defaults (session and basic auth); token auth added for scripts.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.BasicAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "PST helpdesk API",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
}

# The plugin: one dict, every key optional (see the README's settings table).
PST_HELPDESK = {
    # Branches hash visitor ID numbers with the same key; set your own and keep it.
    "ID_HASH_KEY": os.environ.get(
        "PST_ID_HASH_KEY", "demo-only-id-hash-key-change-me-0123456789abcdef0123456789"
    ),
    "SYNC_KEY_DIR": str(DATA_DIR / "keys"),
    "SYNC_BIND": os.environ.get("PST_SYNC_BIND", "tcp://127.0.0.1:5555"),
    # The address in e-mail and WhatsApp links (`make demo` sets it to its own host:port).
    "PUBLIC_BASE_URL": os.environ.get("PST_PUBLIC_BASE_URL", ""),
    # WhatsApp (docs/online.md): the demo logs replies instead of sending them. For the real
    # Cloud API use pst_helpdesk_ext.services.whatsapp.CloudApiSender with the phone number id
    # and access token of your Meta app, and your own verify token and app secret.
    "WHATSAPP_SENDER": "pst_helpdesk_ext.services.whatsapp.LoggingSender",
    "WHATSAPP_VERIFY_TOKEN": os.environ.get("PST_WHATSAPP_VERIFY_TOKEN", "demo-verify-token"),
    "WHATSAPP_APP_SECRET": os.environ.get("PST_WHATSAPP_APP_SECRET", "demo-app-secret"),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {"pst": {"handlers": ["console"], "level": "INFO"}},
}
