"""Settings for the central test suite: the example site, on SQLite or PST_TEST_DATABASE_URL."""

import os

import dj_database_url
from example_project.settings import *  # noqa: F403

_url = os.environ.get("PST_TEST_DATABASE_URL")
DATABASES = {
    "default": dj_database_url.parse(_url)
    if _url
    else {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}
}
DATABASES["default"]["ATOMIC_REQUESTS"] = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
PST_HELPDESK = {"ID_HASH_KEY": "test-id-hash-key-0123456789abcdef0123456789"}
# The live test server shares one in-memory SQLite connection between its threads.
MIDDLEWARE = ["tests.serial_requests.serial_requests", *MIDDLEWARE]  # noqa: F405
# The suite runs one process with DEBUG off and the local-memory cache on purpose.
SILENCED_SYSTEM_CHECKS = ["pst_helpdesk_ext.W301"]
