"""Django settings for the agent, built from its validated config (never read at import time).

``branch_agent.settings`` (the settings module ``run`` uses) and the test settings both call
``build``; app code reads the result lazily through ``branch_agent.conf``.
"""

from __future__ import annotations

from typing import Any

from branch_agent.config import AgentConfig

# Each connection: WAL so kiosks read while a desk writes, FULL so a committed op survives a power
# cut, a busy timeout instead of "database is locked" errors, and foreign keys enforced. The
# automatic checkpoint is pushed far out (10000 pages) because ``branch_agent.housekeeping``
# checkpoints off the request path; the high mark is only a safety net without it.
SQLITE_INIT = (
    "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
    " PRAGMA busy_timeout=10000; PRAGMA wal_autocheckpoint=10000;"
)


def build(config: AgentConfig) -> dict[str, Any]:
    return {
        "SECRET_KEY": config.secret_key,
        "DEBUG": False,
        "ALLOWED_HOSTS": list(config.allowed_hosts),
        "INSTALLED_APPS": [
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "django.contrib.messages",
            "django.contrib.staticfiles",
            "branch_agent",
        ],
        "MIDDLEWARE": [
            "django.middleware.security.SecurityMiddleware",
            "whitenoise.middleware.WhiteNoiseMiddleware",
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.locale.LocaleMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "django.contrib.messages.middleware.MessageMiddleware",
            "django.middleware.clickjacking.XFrameOptionsMiddleware",
            "branch_agent.middleware.StoreErrorMiddleware",
        ],
        "ROOT_URLCONF": "branch_agent.urls",
        "WSGI_APPLICATION": "branch_agent.wsgi.application",
        "TEMPLATES": [
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "DIRS": [],
                "APP_DIRS": True,
                "OPTIONS": {
                    "context_processors": [
                        "django.template.context_processors.request",
                        "django.template.context_processors.i18n",
                        "django.contrib.auth.context_processors.auth",
                        "django.contrib.messages.context_processors.messages",
                        "branch_agent.context_processors.agent",
                    ]
                },
            }
        ],
        "DATABASES": {
            "default": {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": str(config.store_path),
                # One connection per server thread, kept: no reopen and PRAGMAs per request.
                "CONN_MAX_AGE": None,
                "CONN_HEALTH_CHECKS": True,
                "OPTIONS": {
                    "init_command": SQLITE_INIT,
                    "transaction_mode": "IMMEDIATE",
                    "timeout": 10,
                },
            }
        },
        "DEFAULT_AUTO_FIELD": "django.db.models.BigAutoField",
        # Staff sessions live in the store, so logging out ends them (a copied cookie is dead);
        # the kiosk, board and rating screens never open one (no login, messages in a cookie).
        "SESSION_ENGINE": "django.contrib.sessions.backends.db",
        "SESSION_COOKIE_AGE": 12 * 3600,
        "SESSION_COOKIE_HTTPONLY": True,
        "MESSAGE_STORAGE": "django.contrib.messages.storage.cookie.CookieStorage",
        "LOGIN_URL": "branch_agent:login",
        "LOGIN_REDIRECT_URL": "branch_agent:home",
        "LOGOUT_REDIRECT_URL": "branch_agent:home",
        "LANGUAGE_CODE": config.language,
        "LANGUAGES": [("id", "Bahasa Indonesia"), ("en", "English")],
        "LANGUAGE_COOKIE_NAME": "pst_agent_language",
        "LANGUAGE_COOKIE_AGE": 365 * 24 * 3600,
        "USE_I18N": True,
        "TIME_ZONE": config.timezone,
        "USE_TZ": True,
        "STATIC_URL": "/static/",
        "STATIC_ROOT": None,  # served from the app's own static dir (WhiteNoise finders)
        "WHITENOISE_USE_FINDERS": True,
        "WHITENOISE_AUTOREFRESH": False,
        "WHITENOISE_MAX_AGE": 3600,
        "CSRF_FAILURE_VIEW": "branch_agent.views.csrf_failure",
        "X_FRAME_OPTIONS": "DENY",
        "SECURE_CONTENT_TYPE_NOSNIFF": True,
        "SECURE_REFERRER_POLICY": "same-origin",
        "PASSWORD_HASHERS": [
            "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        ],
        "AUTH_PASSWORD_VALIDATORS": [
            {
                "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
                "OPTIONS": {"min_length": 8},
            },
            {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
            {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
        ],
        "LOGGING": {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
            "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
            "loggers": {
                "branch_agent": {"handlers": ["console"], "level": "INFO"},
                "django.security": {"handlers": ["console"], "level": "WARNING"},
                "sync": {"handlers": ["console"], "level": "INFO"},
                "waitress": {"handlers": ["console"], "level": "WARNING"},
                "django.request": {"handlers": ["console"], "level": "ERROR"},
            },
        },
        "PST_AGENT": {
            "HOME": str(config.home),
            "BRANCH_CODE": config.branch_code,
            "BRANCH_NAME": config.branch_name,
            "DESKS": config.desks,
            "WAIT_TARGET_MINUTES": config.wait_target_minutes,
            "CENTRAL_ENDPOINT": config.central_endpoint,
            "SERVER_PUBLIC_KEY": config.server_public_key,
            "KEYS_DIR": str(config.keys_dir),
            "ID_HASH_KEY": config.id_hash_key,
            "LOCAL_RETENTION_DAYS": config.local_retention_days,
            "SYNC_BATCH_SIZE": config.sync_batch_size,
            "SYNC_RETRY_MAX_SECONDS": config.sync_retry_max_seconds,
            "ISSUE_PER_DEVICE_PER_MINUTE": config.issue_per_device_per_minute,
            "ISSUE_PER_MINUTE": config.issue_per_minute,
            "LOGIN_FAILURES_PER_ACCOUNT": config.login_failures_per_account,
            "LOGIN_FAILURES_PER_ADDRESS": config.login_failures_per_address,
            "LOGIN_LOCKOUT_MINUTES": config.login_lockout_minutes,
        },
    }
