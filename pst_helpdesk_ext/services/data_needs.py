"""What data people ask for: the consultation subjects, indicators, regions, periods and purposes
of the PST requests of a selection, walk-in and online, as BPS's yearly data-needs survey (SKD)
and publication planning use them.

What it owns: counting, per item, the requests that asked for it, split walk-in / online:
- **subjects**: the consultation subject of each PST ticket (the desk's choice for a walk-in,
  the visitor's for an online request);
- **indicators, regions, periods, purposes**: what the online request form asked (free text),
  and the guest book's purpose of visit for walk-ins;
- **knowledge-base articles** the visitor opened before asking online (the article's title), and
  the searches that found nothing (what the knowledge base lacks).

Free text is grouped by its normalised form (case, spaces and punctuation at the ends ignored), and
shown as most people wrote it. Only the tickets of the queues the user may open.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

from django.db.models import Count, Exists, Min, OuterRef, QuerySet
from django.utils.translation import gettext as _
from helpdesk.models import KBItem

from pst_helpdesk_ext.models import GuestBookEntry, OnlineRequest, PSTTicket
from pst_helpdesk_ext.services.exports import Coded, Column, Table

SECTIONS: Final = ("subject", "indicator", "region", "period", "purpose", "article", "unanswered")
TOP: Final = 50
_EDGES = re.compile(r"^[\s\W_]+|[\s\W_]+$")
_SPACES = re.compile(r"\s+")


def normalise(text: str) -> str:
    return _SPACES.sub(" ", _EDGES.sub("", text or "")).casefold()


@dataclass(frozen=True)
class Item:
    label: str
    walk_in: int
    online: int

    @property
    def total(self) -> int:
        return self.walk_in + self.online


class _Tally:
    """Counts per normalised text, remembering how people wrote it."""

    def __init__(self) -> None:
        self.counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        self.spellings: dict[str, Counter[str]] = defaultdict(Counter)

    def add(self, text: str, online: bool, count: int = 1) -> None:
        key = normalise(text)
        if not key:
            return
        self.counts[key][1 if online else 0] += count
        self.spellings[key][_SPACES.sub(" ", text.strip())] += count

    def items(self, top: int = TOP) -> list[Item]:
        items = [
            Item(self.spellings[key].most_common(1)[0][0], walk_in, online)
            for key, (walk_in, online) in self.counts.items()
        ]
        items.sort(key=lambda item: (-item.total, item.label.casefold()))
        return items[:top]


@dataclass
class DataNeeds:
    requests: int
    walk_in: int
    online: int
    sections: dict[str, list[Item]]
    sizes: dict[str, int]  # distinct items per section before the top cut

    def section_list(self) -> list[tuple[str, str, list[Item], int]]:
        return [(s, section_label(s), self.sections[s], self.sizes[s]) for s in SECTIONS]


def section_label(section: str) -> str:
    return {
        "subject": _("Consultation subjects"),
        "indicator": _("Indicators, publications or items asked for"),
        "region": _("Regions asked about"),
        "period": _("Periods asked about"),
        "purpose": _("Purposes of use"),
        "article": _("Knowledge-base articles read before asking"),
        "unanswered": _("Searches that found nothing in the knowledge base"),
    }[section]


def _grouped(rows: QuerySet[Any], column: str) -> QuerySet[Any]:
    """``(value, count)`` per distinct value of ``column``, counted by the database, in the order
    each value first occurs (so a spelling tie goes to the one written first, as it always has)."""
    return (
        rows.order_by()
        .values(column)
        .annotate(count=Count("pk"), first=Min("pk"))
        .order_by("first")
        .values_list(column, "count")
    )


def build(tickets: QuerySet[PSTTicket], english: bool) -> DataNeeds:
    """The report of the PST tickets ``tickets`` (already narrowed to the user's queues). The
    database counts each distinct subject, text and list of articles; Python only groups the
    distinct texts by their normalised form. A fixed number of queries, whatever the number of
    requests."""
    name = "subject__name_en" if english else "subject__name_id"
    tallies = {section: _Tally() for section in SECTIONS}
    requests = walk_in = online = 0
    for subject, is_online, count in (
        tickets.order_by()
        .values(name, "channel__online")
        .annotate(count=Count("pk"), first=Min("pk"))
        .order_by("first")
        .values_list(name, "channel__online", "count")
    ):
        requests += count
        if is_online:
            online += count
        else:
            walk_in += count
        if subject:
            tallies["subject"].add(subject, bool(is_online), count)
    # EXISTS, not IN: SQLite would build the whole list of the selection's tickets for each query,
    # where a look-up per online request or guest-book entry is what they need.
    asked = OnlineRequest.objects.filter(
        Exists(tickets.order_by().filter(pk=OuterRef("pst_ticket_id")))
    )
    for section in ("indicator", "region", "period", "purpose"):
        for text, count in _grouped(asked, section):
            tallies[section].add(text, True, count)
    for text, count in _grouped(
        asked.filter(search_results=0).exclude(search_query=""), "search_query"
    ):
        tallies["unanswered"].add(text, True, count)
    article_counts: Counter[int] = Counter()
    for opened, count in _grouped(asked, "articles_opened"):
        for article in opened or []:
            if isinstance(article, int):
                article_counts[article] += count
    for purpose, count in _grouped(
        GuestBookEntry.objects.filter(
            Exists(tickets.order_by().filter(pk=OuterRef("visit__pst_ticket_id")))
        ),
        "purpose",
    ):
        tallies["purpose"].add(purpose, False, count)
    titles = dict(KBItem.objects.filter(pk__in=list(article_counts)).values_list("pk", "title"))
    for article, count in article_counts.items():
        title = titles.get(article) or _("(article %(id)s, since removed)") % {"id": article}
        tallies["article"].add(title, True, count)
    return DataNeeds(
        requests=requests,
        walk_in=walk_in,
        online=online,
        sections={section: tally.items() for section, tally in tallies.items()},
        sizes={section: len(tally.counts) for section, tally in tallies.items()},
    )


def table(report: DataNeeds, filters: dict[str, str], name: str) -> Table:
    columns = [
        Column("section", _("What"), coded=True),
        Column("item", _("Asked for")),
        Column("walk_in", _("Walk-in")),
        Column("online", _("Online")),
        Column("total", _("Total")),
    ]

    def rows() -> Iterator[list[Any]]:
        for section, label, items, _size in report.section_list():
            for item in items:
                yield [Coded(section, label), item.label, item.walk_in, item.online, item.total]

    return Table(
        name=name,
        title=_("Data needs"),
        columns=columns,
        rows=rows(),
        method=method_note(),
        filters=filters,
    )


def method_note() -> str:
    return _(
        "PST requests of the selection (tickets created in the period). Subjects: the "
        "consultation subject of each ticket. Indicators, regions, periods: what the online "
        "request form asked. Purposes: the online form's purpose of use and the guest book's "
        "purpose of visit. Free text is grouped ignoring case and spacing and shown as most "
        "people wrote it; each section lists its %(top)d most asked items."
    ) % {"top": TOP}
