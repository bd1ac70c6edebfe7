"""PST statistical-consultation service for django-helpdesk (the central plugin)."""

__version__ = "0.1.0"
