"""Template tags of the IKM report page.

Rules:
- ``pst_staff_rows`` writes the rows of the per-desk and per-officer tables in Python: at
  national scale they are hundreds of rows (every desk and officer of every branch), and the
  template language spent a quarter of the page's time on them (issue 19). The markup is the
  one ``includes/staff_figures.html`` had: numbers localized as ``{{ }}`` prints them, every
  text escaped, a hidden row marked ``data-hidden`` with its reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django import template
from django.utils.formats import localize
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString

from pst_helpdesk_ext.services.reports import StaffFigures

register = template.Library()

NONE = "—"


def _number(value: Any) -> str:
    """A figure as ``{{ value|default_if_none:"—" }}`` prints it (localized, escaped)."""
    return NONE if value is None else conditional_escape(localize(value))


def _numbers() -> Callable[[Any], str]:
    """``_number`` remembering what it printed: a table repeats the same few hundred counts and
    averages, and localizing one took most of a row's time. For one rendering (the active
    language's formats)."""
    printed: dict[tuple[type, str], str] = {}

    def number(value: Any) -> str:
        key = (type(value), str(value))  # Decimal("1.0") == 1 but prints otherwise
        text = printed.get(key)
        if text is None:
            text = printed[key] = _number(value)
        return text

    return number


def staff_row(row: StaffFigures, number: Callable[[Any], str] = _number) -> str:
    text = conditional_escape
    reason = row.hidden_reason
    hidden = ' data-hidden="1"' if reason else ""
    note = (
        f'<div class="small text-body-secondary pst-hidden-reason">{text(reason)}</div>'
        if reason
        else ""
    )
    if row.ikm is not None:
        grade = row.ikm.grade
        ikm = (
            f'<td class="pst-num"><strong>{number(row.ikm.index)}</strong></td>'
            f'<td class="text-nowrap">'
            f"{f'{text(grade.letter)} {text(grade.label)}' if grade else ''}</td>"
        )
    else:
        ikm = f'<td class="pst-num text-body-secondary">{NONE}</td><td></td>'
    return (
        f'<tr data-branch="{text(row.branch)}" data-name="{text(row.name)}"{hidden}>'
        f"<td>{text(row.branch)}</td>\n"
        f'<td style="min-width:12rem"><span class="text-nowrap">{text(row.name)}</span>{note}</td>'
        f'<td class="pst-num">{number(row.respondents)}</td>\n'
        f"{ikm}\n"
        f'<td class="pst-num">{number(row.served)}</td>\n'
        f'<td class="pst-num">{number(row.service_avg_minutes)}</td>'
        f'<td class="pst-num">{number(row.wait_avg_minutes)}</td></tr>'
    )


@register.simple_tag
def pst_staff_rows(rows: Iterable[StaffFigures]) -> SafeString:
    """The ``<tr>`` of each desk or officer (see the module's rules)."""
    number = _numbers()
    return SafeString("\n".join(staff_row(row, number) for row in rows))
