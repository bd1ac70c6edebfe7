"""Template filters of the office-floor pages."""

from __future__ import annotations

from django import template

from branch_agent.floor import mmss as _mmss

register = template.Library()


@register.filter
def mmss(seconds: int | None) -> str:
    """Seconds as m:ss ("–" when there is no figure)."""
    return _mmss(seconds)
