"""System checks for the plugin's settings and installation (ids pst_helpdesk_ext.E0xx / W0xx).

Size: over 500 lines on purpose: one short check per setting or install step; one module keeps the
check ids in one list, unique.
"""

from __future__ import annotations

import re
import zoneinfo
from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.db import DatabaseError
from django.db.models import Q

from pst_helpdesk_ext.conf import DEFAULTS


def check_settings(app_configs: Any = None, **kwargs: Any) -> list[Error | Warning]:
    errors: list[Error | Warning] = []
    user = getattr(settings, "PST_HELPDESK", {})
    if not isinstance(user, dict):
        return [
            Error(
                "PST_HELPDESK must be a dict.",
                hint="Set PST_HELPDESK = {...} in settings, or remove it to use the defaults.",
                id="pst_helpdesk_ext.E001",
            )
        ]
    unknown = sorted(set(user) - set(DEFAULTS))
    if unknown:
        errors.append(
            Error(
                f"PST_HELPDESK has unknown keys: {', '.join(unknown)}.",
                hint=f"Known keys: {', '.join(sorted(DEFAULTS))}.",
                id="pst_helpdesk_ext.E002",
            )
        )
    days = user.get("PERSONAL_DATA_RETENTION_DAYS", DEFAULTS["PERSONAL_DATA_RETENTION_DAYS"])
    if not isinstance(days, int) or isinstance(days, bool) or days < 1:
        errors.append(
            Error(
                f"PST_HELPDESK['PERSONAL_DATA_RETENTION_DAYS'] must be a whole number of days "
                f">= 1, not {days!r}.",
                hint="For example 730 (two years).",
                id="pst_helpdesk_ext.E003",
            )
        )
    tz = user.get("DEFAULT_TIMEZONE", DEFAULTS["DEFAULT_TIMEZONE"])
    try:
        zoneinfo.ZoneInfo(str(tz))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        errors.append(
            Error(
                f"PST_HELPDESK['DEFAULT_TIMEZONE'] is not a known timezone: {tz!r}.",
                hint="Use an IANA name: Asia/Jakarta (WIB), Asia/Makassar (WITA), "
                "Asia/Jayapura (WIT).",
                id="pst_helpdesk_ext.E004",
            )
        )
    key = user.get("ID_HASH_KEY")
    if key is not None and (not isinstance(key, str | bytes) or len(key) < 32):
        errors.append(
            Error(
                "PST_HELPDESK['ID_HASH_KEY'] must be a string of at least 32 characters.",
                hint="Generate one with: python -c 'import secrets; print(secrets.token_hex(32))'",
                id="pst_helpdesk_ext.E005",
            )
        )
    for name in ("SYNC_SERVER_SECRET_KEY", "SYNC_SERVER_PUBLIC_KEY"):
        value = user.get(name)
        if value is not None and (not isinstance(value, str) or len(value) != 40):
            errors.append(
                Error(
                    f"PST_HELPDESK[{name!r}] must be a 40-character Z85 CURVE key.",
                    hint="Create keys with: python manage.py pst_sync_keys --create",
                    id="pst_helpdesk_ext.E006",
                )
            )
    for name in (
        "SYNC_MAX_MESSAGE_BYTES",
        "SYNC_MAX_BATCH_OPS",
        "RATING_LINK_MAX_AGE_DAYS",
        "SYNC_FEED_RETENTION_DAYS",
        "SLA_TICK_BATCH_SIZE",
        "SLA_BREACH_NOTE_MAX_AGE_DAYS",
        "COMPLAINT_FIRST_RESPONSE_DAYS",
        "REPORT_MIN_RESPONDENTS",
    ):
        value = user.get(name, DEFAULTS[name])
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            errors.append(
                Error(
                    f"PST_HELPDESK[{name!r}] must be a positive whole number, not {value!r}.",
                    hint=f"The default is {DEFAULTS[name]}.",
                    id="pst_helpdesk_ext.E007",
                )
            )
    errors.extend(_check_rating_settings(user))
    for name in ("OFFICE_NAME", "OFFICE_LOGO"):
        if not isinstance(user.get(name, DEFAULTS[name]), str):
            errors.append(
                Error(
                    f"PST_HELPDESK[{name!r}] must be a string, not {user[name]!r}.",
                    hint="OFFICE_NAME: the office's name on the public pages, e.g. 'BPS Kabupaten "
                    "Labuhanbatu Selatan'; OFFICE_LOGO: a static file path or an https:// URL "
                    "('' for none).",
                    id="pst_helpdesk_ext.E030",
                )
            )
    if not isinstance(user.get("PUBLIC_TICKET_FORM", False), bool):
        errors.append(
            Error(
                "PST_HELPDESK['PUBLIC_TICKET_FORM'] must be True or False, "
                f"not {user['PUBLIC_TICKET_FORM']!r}.",
                hint="False (the default) sends visitors into the PST request flow; True also "
                "offers helpdesk's own public submit form.",
                id="pst_helpdesk_ext.E030",
            )
        )
    days = user.get("SLA_INACTIVITY_CLOSE_DAYS", DEFAULTS["SLA_INACTIVITY_CLOSE_DAYS"])
    if not isinstance(days, int) or isinstance(days, bool) or days < 0:
        errors.append(
            Error(
                f"PST_HELPDESK['SLA_INACTIVITY_CLOSE_DAYS'] must be a whole number of days >= 0, "
                f"not {days!r}.",
                hint="7 closes a conversation after a week without the visitor's answer; "
                "0 never closes one automatically.",
                id="pst_helpdesk_ext.E011",
            )
        )
    # helpdesk's teams mode works with any team model (HELPDESK_TEAMS_MODEL); only its default,
    # pinax-teams' model, is an app the site may have forgotten to install.
    team_model = str(getattr(settings, "HELPDESK_TEAMS_MODEL", "pinax_teams.Team"))
    if (
        getattr(settings, "HELPDESK_TEAMS_MODE_ENABLED", True)
        and team_model.split(".")[0] == "pinax_teams"
        and "pinax.teams" not in getattr(settings, "INSTALLED_APPS", [])
    ):
        errors.append(
            Error(
                f"django-helpdesk teams mode is on with the team model {team_model!r}, but "
                "pinax-teams is not installed.",
                hint="Set HELPDESK_TEAMS_MODE_ENABLED = False, or install pinax-teams and add "
                "'pinax.teams' to INSTALLED_APPS, or point HELPDESK_TEAMS_MODEL at your own "
                "team model.",
                id="pst_helpdesk_ext.E008",
            )
        )
    apps = list(getattr(settings, "INSTALLED_APPS", []))
    if "helpdesk" not in apps:
        errors.append(
            Error(
                "pst_helpdesk_ext needs django-helpdesk: 'helpdesk' is not in INSTALLED_APPS.",
                hint="Install django-helpdesk and add 'helpdesk' to INSTALLED_APPS.",
                id="pst_helpdesk_ext.E009",
            )
        )
    elif apps.index("pst_helpdesk_ext") > apps.index("helpdesk"):
        errors.append(
            Warning(
                "'pst_helpdesk_ext' is listed after 'helpdesk' in INSTALLED_APPS, so the PST "
                "panels cannot extend helpdesk's templates.",
                hint="Put 'pst_helpdesk_ext' directly before 'helpdesk' in INSTALLED_APPS.",
                id="pst_helpdesk_ext.W001",
            )
        )
    errors.extend(_check_helpdesk_locale())
    errors.extend(check_online_settings(user))
    errors.extend(check_public_limits(user))
    errors.extend(check_install(user))
    return errors


def check_public_limits(user: dict[str, Any]) -> list[Error | Warning]:
    """The public rate limits (ids E2xx / W2xx; ``throttle``)."""
    import ipaddress

    errors: list[Error | Warning] = []
    for name in ("PUBLIC_LIMIT_PER_CLIENT", "PUBLIC_LIMIT_PER_EMAIL"):
        value = user.get(name, DEFAULTS[name])
        if not (
            isinstance(value, list | tuple)
            and len(value) == 2
            and all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in value)
        ):
            errors.append(
                Error(
                    f"PST_HELPDESK[{name!r}] must be (count, seconds), two positive whole "
                    f"numbers, not {value!r}.",
                    hint=f"The default is {DEFAULTS[name]!r}.",
                    id="pst_helpdesk_ext.E201",
                )
            )
    value = user.get("PUBLIC_DAILY_SENDS_PER_EMAIL", DEFAULTS["PUBLIC_DAILY_SENDS_PER_EMAIL"])
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        errors.append(
            Error(
                "PST_HELPDESK['PUBLIC_DAILY_SENDS_PER_EMAIL'] must be a positive whole number, "
                f"not {value!r}.",
                hint=f"The default is {DEFAULTS['PUBLIC_DAILY_SENDS_PER_EMAIL']}.",
                id="pst_helpdesk_ext.E201",
            )
        )
    proxies = user.get("PUBLIC_TRUSTED_PROXIES", DEFAULTS["PUBLIC_TRUSTED_PROXIES"])
    bad = []
    if not isinstance(proxies, list | tuple):
        bad = [repr(proxies)]
    else:
        for proxy in proxies:
            try:
                ipaddress.ip_network(str(proxy), strict=False)
            except ValueError:
                bad.append(repr(proxy))
    if bad:
        errors.append(
            Error(
                "PST_HELPDESK['PUBLIC_TRUSTED_PROXIES'] must be a list of IP addresses or "
                f"networks; not understood: {', '.join(bad)}.",
                hint='For example ["127.0.0.1", "10.0.0.0/8"]; empty when no proxy is in front.',
                id="pst_helpdesk_ext.E202",
            )
        )
    middleware = "pst_helpdesk_ext.middleware.PublicThrottleMiddleware"
    if middleware not in getattr(settings, "MIDDLEWARE", []):
        errors.append(
            Warning(
                "helpdesk's public ticket form and password reset are not rate-limited: "
                f"{middleware} is not in MIDDLEWARE.",
                hint=f"Add {middleware!r} to MIDDLEWARE after AuthenticationMiddleware.",
                id="pst_helpdesk_ext.W202",
            )
        )
    return errors


#: Values the example site falls back to when its environment sets none. They are public (in this
#: repository): a site using one lets anyone forge session cookies, rating links, ID hashes or
#: WhatsApp webhook calls. Anything starting "demo-" or containing "change-me" counts as well.
PUBLIC_EXAMPLE_VALUES = frozenset(
    {
        "demo-only-insecure-key-change-me-in-production-0123456789",
        "demo-only-id-hash-key-change-me-0123456789abcdef0123456789",
        "demo-verify-token",
        "demo-app-secret",
    }
)
GENERATE = "python -c 'import secrets; print(secrets.token_hex(32))'"


def _public_value(value: Any) -> bool:
    text = value.decode(errors="replace") if isinstance(value, bytes) else str(value)
    return text in PUBLIC_EXAMPLE_VALUES or text.startswith("demo-") or "change-me" in text


def check_deploy(app_configs: Any = None, **kwargs: Any) -> list[Error | Warning]:
    """``manage.py check --deploy``: secrets that are public or too short, DEBUG on, a database
    file others can read (ids E3xx)."""
    errors: list[Error | Warning] = []
    user = getattr(settings, "PST_HELPDESK", {})
    user = user if isinstance(user, dict) else {}
    secret_key = getattr(settings, "SECRET_KEY", "")
    if not secret_key or len(secret_key) < 50 or _public_value(secret_key):
        errors.append(
            Error(
                "SECRET_KEY is the example site's public value, empty or shorter than 50 "
                "characters: anyone can forge sessions, verification and rating links.",
                hint=f"Set your own (example site: DJANGO_SECRET_KEY=$({GENERATE})) and keep it "
                "secret.",
                id="pst_helpdesk_ext.E301",
            )
        )
    id_hash_key = user.get("ID_HASH_KEY")
    if id_hash_key is not None and (len(id_hash_key) < 32 or _public_value(id_hash_key)):
        errors.append(
            Error(
                "PST_HELPDESK['ID_HASH_KEY'] is the example site's public value or shorter than "
                "32 characters: anyone can test ID numbers against the stored hashes.",
                hint=f"Set your own (example site: PST_ID_HASH_KEY=$({GENERATE})), the same at "
                "central and at every branch (pst-branch-agent init --id-hash-key).",
                id="pst_helpdesk_ext.E302",
            )
        )
    for name, env in (
        ("WHATSAPP_APP_SECRET", "PST_WHATSAPP_APP_SECRET"),
        ("WHATSAPP_VERIFY_TOKEN", "PST_WHATSAPP_VERIFY_TOKEN"),
    ):
        value = user.get(name, DEFAULTS[name])
        if value and (len(str(value)) < 16 or _public_value(value)):
            errors.append(
                Error(
                    f"PST_HELPDESK[{name!r}] is the example site's public value or shorter "
                    "than 16 characters: anyone can forge WhatsApp webhook calls.",
                    hint=f"Use the value of your Meta app (example site: {env}); or leave it "
                    "empty, which turns the WhatsApp webhook off.",
                    id="pst_helpdesk_ext.E303",
                )
            )
    if getattr(settings, "DEBUG", False):
        errors.append(
            Error(
                "DEBUG is on: an error shows visitors a debug page with settings and data.",
                hint="Set DEBUG = False (example site: DJANGO_DEBUG=0).",
                id="pst_helpdesk_ext.E304",
            )
        )
    errors.extend(_check_database_file())
    errors.extend(check_install_deploy(user))
    return errors


def check_shared_cache(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    """The public rate limits count in the default cache: with DEBUG off (a real site), one that
    each server process keeps for itself lets a flood through N times (W301)."""
    errors: list[Warning] = []
    backend = str(getattr(settings, "CACHES", {}).get("default", {}).get("BACKEND", ""))
    if not getattr(settings, "DEBUG", False) and backend.endswith(
        ("locmem.LocMemCache", "dummy.DummyCache")
    ):
        errors.append(
            Warning(
                f"The default cache ({backend.rsplit('.', 1)[-1]}) is not shared between server "
                "processes: each process counts the public rate limits alone"
                + (" (DummyCache: not at all)." if "Dummy" in backend else "."),
                hint="Use a shared cache: CACHES = {'default': {'BACKEND': "
                "'django.core.cache.backends.db.DatabaseCache', 'LOCATION': 'pst_cache'}}, "
                "then python manage.py createcachetable (README, Install). A site served by "
                "one process only may silence this: "
                "SILENCED_SYSTEM_CHECKS = ['pst_helpdesk_ext.W301'].",
                id="pst_helpdesk_ext.W301",
            )
        )
    return errors


def _check_database_file() -> list[Error]:
    import os
    import stat

    errors: list[Error] = []
    for alias, database in getattr(settings, "DATABASES", {}).items():
        name = str(database.get("NAME") or "")
        if not database.get("ENGINE", "").endswith("sqlite3") or not os.path.isfile(name):
            continue
        mode = stat.S_IMODE(os.stat(name).st_mode)
        if mode & 0o077:
            errors.append(
                Error(
                    f"The SQLite database {name} ({alias}) can be read by other users of this "
                    f"machine (mode {mode:04o}).",
                    hint=f"chmod 600 {name} (and 700 its directory).",
                    id="pst_helpdesk_ext.E305",
                )
            )
    return errors


def _check_helpdesk_locale() -> list[Warning]:
    """Indonesian staff pages need the plugin's catalogue of helpdesk's strings in LOCALE_PATHS."""
    from pst_helpdesk_ext import HELPDESK_LOCALE_DIR

    codes = {str(code).split("-")[0] for code, _ in getattr(settings, "LANGUAGES", [])}
    codes.add(str(getattr(settings, "LANGUAGE_CODE", "")).split("-")[0])
    paths = {str(path).rstrip("/") for path in getattr(settings, "LOCALE_PATHS", [])}
    if "id" in codes and HELPDESK_LOCALE_DIR not in paths:
        return [
            Warning(
                "helpdesk's own staff pages stay in English: the plugin's Indonesian catalogue of "
                "helpdesk's strings is not in LOCALE_PATHS.",
                hint="import pst_helpdesk_ext and add "
                "LOCALE_PATHS = [pst_helpdesk_ext.HELPDESK_LOCALE_DIR] to settings.",
                id="pst_helpdesk_ext.W030",
            )
        ]
    return []


def check_online_settings(user: dict[str, Any]) -> list[Error | Warning]:
    """The online channel's keys (ids E1xx / W1xx): WhatsApp settings that cannot work together."""
    errors: list[Error | Warning] = []

    def get(name: str) -> Any:
        return user.get(name, DEFAULTS[name])

    for name in (
        "WHATSAPP_MAX_MESSAGE_CHARS",
        "WHATSAPP_REOPEN_DAYS",
        "ONLINE_VERIFY_MAX_AGE_HOURS",
        "VISITOR_LINK_INACTIVE_DAYS",
        "VISITOR_ATTACHMENT_MAX_BYTES",
    ):
        value = get(name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            errors.append(
                Error(
                    f"PST_HELPDESK[{name!r}] must be a positive whole number, not {value!r}.",
                    hint=f"The default is {DEFAULTS[name]}.",
                    id="pst_helpdesk_ext.E101",
                )
            )
    max_chars = get("WHATSAPP_MAX_MESSAGE_CHARS")
    if isinstance(max_chars, int) and max_chars > 4096:
        errors.append(
            Error(
                f"PST_HELPDESK['WHATSAPP_MAX_MESSAGE_CHARS'] is {max_chars}; the WhatsApp Cloud "
                "API accepts at most 4096 characters in a text message.",
                hint="Use 4096 or less.",
                id="pst_helpdesk_ext.E102",
            )
        )
    sender_path = get("WHATSAPP_SENDER")
    if sender_path:
        from django.utils.module_loading import import_string

        try:
            sender = import_string(sender_path)
        except ImportError as exc:
            errors.append(
                Error(
                    f"PST_HELPDESK['WHATSAPP_SENDER'] cannot be imported: {exc}.",
                    hint="Use pst_helpdesk_ext.services.whatsapp.CloudApiSender, "
                    "pst_helpdesk_ext.services.whatsapp.LoggingSender, or a class of yours "
                    "with send_text(to, text) -> message id.",
                    id="pst_helpdesk_ext.E103",
                )
            )
        else:
            if sender_path.endswith(".CloudApiSender") or getattr(sender, "needs_cloud_api", False):
                missing = [
                    name
                    for name in ("WHATSAPP_PHONE_NUMBER_ID", "WHATSAPP_ACCESS_TOKEN")
                    if not get(name)
                ]
                if missing:
                    errors.append(
                        Error(
                            f"The Cloud API WhatsApp sender needs {' and '.join(missing)}.",
                            hint="Copy them from the WhatsApp > API Setup page of your Meta app.",
                            id="pst_helpdesk_ext.E104",
                        )
                    )
            if not str(get("WHATSAPP_GRAPH_URL")).startswith("https://"):
                errors.append(
                    Error(
                        "PST_HELPDESK['WHATSAPP_GRAPH_URL'] must be an https:// URL.",
                        hint=f"The default is {DEFAULTS['WHATSAPP_GRAPH_URL']}.",
                        id="pst_helpdesk_ext.E105",
                    )
                )
    if get("WHATSAPP_VERIFY_TOKEN") and not get("WHATSAPP_APP_SECRET"):
        errors.append(
            Error(
                "PST_HELPDESK has a WHATSAPP_VERIFY_TOKEN but no WHATSAPP_APP_SECRET: the webhook "
                "would subscribe, then refuse every message (403).",
                hint="Set WHATSAPP_APP_SECRET to the App secret of your Meta app "
                "(App settings > Basic).",
                id="pst_helpdesk_ext.E106",
            )
        )
    if get("WHATSAPP_APP_SECRET") and not sender_path:
        errors.append(
            Warning(
                "WhatsApp messages are received but no WHATSAPP_SENDER is set: staff replies "
                "will not reach WhatsApp visitors (recorded as failed).",
                hint="Set WHATSAPP_SENDER to pst_helpdesk_ext.services.whatsapp.CloudApiSender.",
                id="pst_helpdesk_ext.W102",
            )
        )
    from pst_helpdesk_ext.services.appointments import ics_attachments_allowed

    if not ics_attachments_allowed():
        errors.append(
            Warning(
                "helpdesk does not accept .ics attachments, so appointment e-mails carry the "
                "calendar file in a second e-mail instead of the ticket update.",
                hint="Add '.ics' to HELPDESK_VALID_EXTENSIONS (with helpdesk's defaults).",
                id="pst_helpdesk_ext.W101",
            )
        )
    return errors


def _check_rating_settings(user: dict[str, Any]) -> list[Error | Warning]:
    errors: list[Error | Warning] = []
    walk_in = user.get("RATING_LINK_WALK_IN", DEFAULTS["RATING_LINK_WALK_IN"])
    if not isinstance(walk_in, bool):
        errors.append(
            Error(
                f"PST_HELPDESK['RATING_LINK_WALK_IN'] must be True or False, not {walk_in!r}.",
                hint="False (the default): walk-in visitors rate at the branch's rating kiosk.",
                id="pst_helpdesk_ext.E030",
            )
        )
    tier = user.get("COMPLAINT_DEFAULT_TIER", DEFAULTS["COMPLAINT_DEFAULT_TIER"])
    if not isinstance(tier, int) or isinstance(tier, bool) or not 1 <= tier <= 4:
        errors.append(
            Error(
                f"PST_HELPDESK['COMPLAINT_DEFAULT_TIER'] must be 1, 2, 3 or 4, not {tier!r}.",
                hint="1 light (2 working days), 2 normative (5), 3 dispute (14), "
                "4 dispute with field check (60).",
                id="pst_helpdesk_ext.E031",
            )
        )
    pattern = user.get("LAPOR_REF_PATTERN", DEFAULTS["LAPOR_REF_PATTERN"])
    try:
        re.compile(pattern)
    except (re.error, TypeError) as exc:
        errors.append(
            Error(
                f"PST_HELPDESK['LAPOR_REF_PATTERN'] is not a regular expression: {exc}.",
                hint=f"The default is {DEFAULTS['LAPOR_REF_PATTERN']!r}.",
                id="pst_helpdesk_ext.E032",
            )
        )
    return errors


@register(Tags.database)
def check_branch_calendars(
    app_configs: Any = None, databases: Any = None, **kwargs: Any
) -> list[Error]:
    """Every branch's stored working calendar must be valid: the SLA clocks read it (an invalid
    one falls back to the defaults, which is wrong for that office). Runs with the database
    checks (``migrate``, ``check --database default``), as it reads the branches table."""
    from pst_helpdesk_ext.calendar import CalendarError, WorkingCalendar
    from pst_helpdesk_ext.models import Branch, validate_branch_calendar

    errors: list[Error] = []
    for alias in databases or ():
        try:
            rows = list(Branch.objects.using(alias).values_list("code", "timezone", "calendar"))
        except DatabaseError:
            continue  # not migrated yet: nothing stored to check
        for code, zone, calendar in rows:
            try:
                validate_branch_calendar(calendar)
                WorkingCalendar.from_config({**(calendar or {}), "timezone": zone})
            except CalendarError as exc:
                errors.append(
                    Error(
                        f"Branch {code}: its working calendar is invalid: {exc}",
                        hint=f"Correct it in the admin (Branch offices > {code} > working "
                        "calendar); until then its SLA clocks use the default calendar.",
                        obj=f"Branch {code}",
                        id="pst_helpdesk_ext.E010",
                    )
                )
    return errors


def check_public_base_url(app_configs: Any = None, **kwargs: Any) -> list[Error | Warning]:
    """PST_HELPDESK['PUBLIC_BASE_URL'] (ids E040, W042): a usable address whose scheme agrees
    with the one helpdesk puts in its e-mail links."""
    from pst_helpdesk_ext.site_url import parse_base_url

    user = getattr(settings, "PST_HELPDESK", {})
    value = user.get("PUBLIC_BASE_URL", "") if isinstance(user, dict) else ""
    if not value:
        return []
    try:
        scheme, _domain = parse_base_url(value)
    except ValueError as exc:
        return [
            Error(
                f"PST_HELPDESK['PUBLIC_BASE_URL'] {exc}.",
                hint="Give the address visitors open, e.g. 'https://pst.example.go.id' or "
                "'http://10.1.2.3:8000', or '' to keep the Site the admin set.",
                id="pst_helpdesk_ext.E040",
            )
        ]
    # Read as helpdesk.settings reads it (there once, at import).
    https = bool(
        getattr(settings, "HELPDESK_USE_HTTPS_IN_EMAIL_LINK", settings.SECURE_SSL_REDIRECT)
    )
    if https != (scheme == "https"):
        return [
            Warning(
                f"PST_HELPDESK['PUBLIC_BASE_URL'] is {scheme}:// but helpdesk's e-mail links "
                f"use {'https' if https else 'http'}://.",
                hint=f"Set HELPDESK_USE_HTTPS_IN_EMAIL_LINK = {scheme == 'https'} (helpdesk "
                "builds its links from the Site's domain and that setting).",
                id="pst_helpdesk_ext.W042",
            )
        ]
    return []


@register(Tags.database)
def check_public_links(
    app_configs: Any = None, databases: Any = None, **kwargs: Any
) -> list[Warning]:
    """Links in e-mails and WhatsApp messages must reach the site (ids W040, W041): helpdesk
    builds them from the current Site, whose domain is example.com until someone sets it. Runs
    with the database checks (``migrate``, ``check --database default``)."""
    from pst_helpdesk_ext.site_url import PLACEHOLDER_DOMAINS, configured_domain

    if "django.contrib.sites" not in getattr(settings, "INSTALLED_APPS", []):
        return []
    from django.contrib.sites.models import Site

    wanted = configured_domain()
    errors: list[Warning] = []
    for alias in databases or ():
        try:
            site = Site.objects.using(alias).filter(pk=getattr(settings, "SITE_ID", 1)).first()
        except DatabaseError:
            continue  # not migrated yet
        domain = site.domain if site is not None else "configure-django-sites.com"
        if wanted and domain != wanted:
            errors.append(
                Warning(
                    f"E-mail and WhatsApp links point to http://{domain}/, not to "
                    f"PST_HELPDESK['PUBLIC_BASE_URL'] ({wanted}).",
                    hint="Run `manage.py migrate`: it writes PUBLIC_BASE_URL's host into the "
                    "Sites framework.",
                    obj=f"Site {getattr(settings, 'SITE_ID', 1)}",
                    id="pst_helpdesk_ext.W041",
                )
            )
        elif not wanted and domain in PLACEHOLDER_DOMAINS:
            errors.append(
                Warning(
                    f"E-mail and WhatsApp links point to http://{domain}/, which is not this "
                    "site: visitors cannot open their ticket, verification or rating links.",
                    hint="Set PST_HELPDESK['PUBLIC_BASE_URL'] to the address visitors open "
                    "(e.g. 'https://pst.example.go.id') and run `manage.py migrate`, or set the "
                    "domain in the admin (Sites > Sites).",
                    obj=f"Site {getattr(settings, 'SITE_ID', 1)}",
                    id="pst_helpdesk_ext.W040",
                )
            )
    return errors


# --- install: what the README's settings block sets (ids W31x / E31x) ------------------------

TOKEN_AUTH = "rest_framework.authentication.TokenAuthentication"  # noqa: S105 - a class path
LOCALE_MIDDLEWARE = "django.middleware.locale.LocaleMiddleware"
README_INSTALL = 'README, "Install into an existing django-helpdesk site"'


def check_install(user: dict[str, Any]) -> list[Error | Warning]:
    """Settings the plugin needs from the site, each missing one named with why and how (the
    README's settings block sets them all). Ids W310-W313."""
    errors: list[Error | Warning] = []
    for alias, database in getattr(settings, "DATABASES", {}).items():
        if not database.get("ATOMIC_REQUESTS"):
            errors.append(
                Warning(
                    f"DATABASES[{alias!r}] has no ATOMIC_REQUESTS: helpdesk's views use no "
                    "transactions, so a failed staff change can be half-saved and its down-feed "
                    "row (what the branches learn) lost or sent for a change that never happened.",
                    hint=f"Set DATABASES[{alias!r}]['ATOMIC_REQUESTS'] = True ({README_INSTALL}).",
                    id="pst_helpdesk_ext.W310",
                )
            )
    middleware = list(getattr(settings, "MIDDLEWARE", []))
    if LOCALE_MIDDLEWARE not in middleware:
        errors.append(
            Warning(
                "django.middleware.locale.LocaleMiddleware is not in MIDDLEWARE: the public PST "
                "pages (request, rating, complaint) ignore the visitor's language "
                "(Accept-Language: id) and show LANGUAGE_CODE's.",
                hint="Add 'django.middleware.locale.LocaleMiddleware' after SessionMiddleware "
                f"and before CommonMiddleware ({README_INSTALL}).",
                id="pst_helpdesk_ext.W311",
            )
        )
    apps = list(getattr(settings, "INSTALLED_APPS", []))
    rest = getattr(settings, "REST_FRAMEWORK", {}) or {}
    auth = rest.get("DEFAULT_AUTHENTICATION_CLASSES")
    if "rest_framework.authtoken" in apps and auth is not None and TOKEN_AUTH not in auth:
        errors.append(
            Warning(
                "rest_framework.authtoken is installed but REST_FRAMEWORK's "
                "DEFAULT_AUTHENTICATION_CLASSES has no TokenAuthentication: a valid API token "
                "gets 403 from /api/pst/.",
                hint=f"Add {TOKEN_AUTH!r} to REST_FRAMEWORK['DEFAULT_AUTHENTICATION_CLASSES'] "
                f"({README_INSTALL}).",
                id="pst_helpdesk_ext.W312",
            )
        )
    elif "rest_framework.authtoken" in apps and auth is None:
        errors.append(
            Warning(
                "rest_framework.authtoken is installed but REST_FRAMEWORK sets no "
                "DEFAULT_AUTHENTICATION_CLASSES (DRF's default: session and basic only): a valid "
                "API token gets 403 from /api/pst/.",
                hint="Set REST_FRAMEWORK['DEFAULT_AUTHENTICATION_CLASSES'] to session, basic and "
                f"{TOKEN_AUTH!r} ({README_INSTALL}).",
                id="pst_helpdesk_ext.W312",
            )
        )
    if not _logs_pst():
        errors.append(
            Warning(
                "No LOGGING handler receives the 'pst' loggers: the sync server's message lines, "
                "pst_sla_tick's summary and every refused record are not logged anywhere "
                "(Python's fallback shows warnings only).",
                hint="Add a 'pst' logger with a handler at level INFO to LOGGING "
                f"({README_INSTALL}).",
                id="pst_helpdesk_ext.W313",
            )
        )
    return errors


def _logs_pst() -> bool:
    """Whether LOGGING gives the ``pst`` loggers (or the root logger) a handler."""
    config = getattr(settings, "LOGGING", None) or {}
    loggers = config.get("loggers", {}) or {}
    for name, logger in loggers.items():
        if (name == "pst" or name == "") and logger.get("handlers"):
            return True
    root = config.get("root") or {}
    return bool(root.get("handlers"))


def check_install_deploy(user: dict[str, Any]) -> list[Error | Warning]:
    """``check --deploy``: what a production site needs besides the README's block: the sync
    server's keys and a sender for e-mails (ids W314, W315, W318)."""
    errors: list[Error | Warning] = []
    has_inline = user.get("SYNC_SERVER_SECRET_KEY") and user.get("SYNC_SERVER_PUBLIC_KEY")
    key_dir = user.get("SYNC_KEY_DIR")
    if not has_inline and not key_dir:
        errors.append(
            Warning(
                "PST_HELPDESK has no SYNC_KEY_DIR (nor SYNC_SERVER_SECRET_KEY and "
                "SYNC_SERVER_PUBLIC_KEY): pst_sync_keys --create and pst_sync_server cannot "
                "run, so no branch agent can sync.",
                hint="Set PST_HELPDESK['SYNC_KEY_DIR'] to a directory only the site's user "
                "can read (e.g. BASE_DIR / 'pst-keys'), then python manage.py pst_sync_keys "
                "--create.",
                id="pst_helpdesk_ext.W314",
            )
        )
    elif not has_inline and key_dir:
        import os

        parent = os.path.dirname(os.path.abspath(str(key_dir)))
        if not os.path.isdir(str(key_dir)) and not os.path.isdir(parent):
            errors.append(
                Warning(
                    f"PST_HELPDESK['SYNC_KEY_DIR'] is {key_dir!r}, and neither it nor its parent "
                    "directory exists: pst_sync_keys --create cannot write the keys there.",
                    hint="Create the parent directory, or point SYNC_KEY_DIR elsewhere.",
                    id="pst_helpdesk_ext.W315",
                )
            )
    default_from = str(getattr(settings, "DEFAULT_FROM_EMAIL", "webmaster@localhost"))
    if default_from.endswith("@localhost"):
        errors.append(
            Warning(
                f"DEFAULT_FROM_EMAIL is {default_from!r} (Django's default): e-mails that no "
                "queue sends (verification links, password resets) come from it, and a queue "
                "without an address sends as 'NO QUEUE EMAIL ADDRESS DEFINED <...>'.",
                hint="Set DEFAULT_FROM_EMAIL = 'PST BPS <pst@bps.go.id>' (and SERVER_EMAIL).",
                id="pst_helpdesk_ext.W318",
            )
        )
    return errors


@register(Tags.database)
def check_install_database(
    app_configs: Any = None, databases: Any = None, **kwargs: Any
) -> list[Warning]:
    """Who visitors' e-mails come from, read from the database (``check --database default``,
    and ``migrate``): a sender per PST queue (W317; the Sites domain is W040)."""
    errors: list[Warning] = []
    for alias in databases or ():
        from helpdesk.models import Queue

        from pst_helpdesk_ext.conf import pst_settings
        from pst_helpdesk_ext.models import Branch

        try:
            slugs = set(Branch.objects.using(alias).values_list("queue__slug", flat=True))
            slugs |= {pst_settings.COMPLAINTS_QUEUE, pst_settings.ONLINE_QUEUE}
            missing = sorted(
                Queue.objects.using(alias)
                .filter(slug__in=slugs)
                .filter(Q(email_address__isnull=True) | Q(email_address=""))
                .values_list("slug", flat=True)
            )
        except DatabaseError:
            missing = []
        if missing:
            default_from = str(getattr(settings, "DEFAULT_FROM_EMAIL", "webmaster@localhost"))
            errors.append(
                Warning(
                    f"PST queues without an e-mail address: {', '.join(missing)}. Their "
                    "e-mails to visitors come from 'NO QUEUE EMAIL ADDRESS DEFINED "
                    f"<{default_from}>'.",
                    hint="Give each queue its sender: pst_branch add CODE NAME --email "
                    "pst1222@bps.go.id for a new branch, pst_branch set-email CODE ADDRESS for "
                    "one that exists, or the admin (Helpdesk > Queues > E-mail address).",
                    id="pst_helpdesk_ext.W317",
                )
            )
    return errors


@register(Tags.database)
def check_reference_data(
    app_configs: Any = None, databases: Any = None, **kwargs: Any
) -> list[Error]:
    """The rows the migrations seed (``check --database default``, and ``migrate``): without
    the walk-in channel every visit a branch pushes fails, so a flushed database is an error
    (E050) naming ``pst_restore_reference_data``."""
    from pst_helpdesk_ext.services import reference_data

    errors: list[Error] = []
    for alias in databases or ():
        try:
            gone = reference_data.missing(alias)
        except DatabaseError:  # not migrated yet: migrate seeds them
            continue
        if gone:
            errors.append(
                Error(
                    f"Reference rows the migrations seed are missing in database {alias!r}: "
                    f"{gone.describe()}. Branch pushes, online requests and e-mails that need "
                    "them fail until they are back.",
                    hint="Run: python manage.py pst_restore_reference_data (creates only the "
                    "missing rows; rows that exist are left unchanged).",
                    id="pst_helpdesk_ext.E050",
                )
            )
    return errors
