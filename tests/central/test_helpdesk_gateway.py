"""One gateway to helpdesk: only ``pst_helpdesk_ext/helpdesk_gateway.py`` writes ticket history.

The rule "change tickets through helpdesk's own path" (DESIGN.md) is checked on the source: no
other module of the plugin creates ``FollowUp`` or ``TicketChange`` rows (constructor,
``objects.create``/``bulk_create``/``get_or_create``, a related manager's ``create``, a bulk
``RowInserter``) or calls helpdesk's ``update_ticket`` itself. Also: the one
``update_ticket_done`` dispatcher runs its handlers in the declared order.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest
from helpdesk.signals import update_ticket_done

GATEWAY = "helpdesk_gateway.py"
HISTORY_MODELS = {"FollowUp", "TicketChange"}
CREATING_METHODS = {"create", "bulk_create", "get_or_create", "update_or_create"}
RELATED_MANAGERS = {"followup_set", "ticketchange_set"}


def package_root() -> Path:
    return Path(importlib.import_module("pst_helpdesk_ext").__file__).parent


def _name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def history_writes(source: str, filename: str = "<source>") -> list[str]:
    """Every place in ``source`` that writes ticket history without the gateway, as
    ``line: what``."""
    found = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = _name(func)
        if name in HISTORY_MODELS and (
            isinstance(func, ast.Name) or _name(func.value) == "models"  # not Visit.FollowUp
        ):
            found.append(f"{node.lineno}: {name}(...)")
        elif name == "update_ticket":
            found.append(f"{node.lineno}: update_ticket(...)")
        elif name == "RowInserter" and node.args and _name(node.args[0]) in HISTORY_MODELS:
            found.append(f"{node.lineno}: RowInserter({_name(node.args[0])}, ...)")
        elif isinstance(func, ast.Attribute) and func.attr in CREATING_METHODS:
            owner = func.value
            if isinstance(owner, ast.Attribute) and owner.attr == "objects":
                if _name(owner.value) in HISTORY_MODELS:
                    found.append(f"{node.lineno}: {_name(owner.value)}.objects.{func.attr}")
            elif _name(owner) in RELATED_MANAGERS:
                found.append(f"{node.lineno}: {_name(owner)}.{func.attr}")
    return found


def test_only_the_gateway_writes_ticket_history():
    root = package_root()
    files = sorted(p for p in root.rglob("*.py") if "migrations" not in p.parts)
    assert (root / GATEWAY) in files
    offences = [
        f"{path.relative_to(root.parent)}:{where}"
        for path in files
        if path.name != GATEWAY or path.parent != root
        for where in history_writes(path.read_text(), str(path))
    ]
    assert offences == [], "write ticket history through pst_helpdesk_ext/helpdesk_gateway.py"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("FollowUp.objects.create(ticket=t)", ["1: FollowUp.objects.create"]),
        ("models.FollowUp(ticket=t).save()", ["1: FollowUp(...)"]),
        ("TicketChange.objects.bulk_create(rows)", ["1: TicketChange.objects.bulk_create"]),
        ("f.ticketchange_set.create(field='x')", ["1: ticketchange_set.create"]),
        ("t.followup_set.create(title='x')", ["1: followup_set.create"]),
        ("update_ticket(user, ticket, comment='x')", ["1: update_ticket(...)"]),
        ("RowInserter(FollowUp, ['ticket'])", ["1: RowInserter(FollowUp, ...)"]),
        ("FollowUp.objects.filter(pk=1).update(title='x')", []),
        ("RowInserter(FeedItem, ['kind'])", []),
        ("Visit.FollowUp('phone')", []),
    ],
)
def test_the_checker_sees_history_writes(source, expected):
    assert history_writes(source) == expected


def test_one_update_ticket_done_receiver_runs_handlers_in_order(monkeypatch):
    from pst_helpdesk_ext import receivers

    uids = [entry[0][0] for entry in update_ticket_done.receivers]
    assert [uid for uid in uids if isinstance(uid, str) and uid.startswith("pst")] == [
        "pst_update_ticket_done"
    ]
    assert [h.__name__ for h in receivers.UPDATE_TICKET_DONE_HANDLERS] == [
        "send_whatsapp_reply",
        "email_reply_received",
        "ticket_updated",
        "sla_ticket_updated",
        "offer_rating_when_done",
    ]
    calls = []
    handlers = tuple(
        (lambda sender, followup, n=n: calls.append((n, sender, followup))) for n in range(3)
    )
    monkeypatch.setattr(receivers, "UPDATE_TICKET_DONE_HANDLERS", handlers)
    receivers.update_ticket_done_dispatcher(sender="s", followup="f")
    assert calls == [(0, "s", "f"), (1, "s", "f"), (2, "s", "f")]


def test_a_failing_handler_does_not_stop_the_others_and_is_raised(monkeypatch):
    from pst_helpdesk_ext import receivers

    calls = []

    def fails(sender, followup):
        calls.append("fails")
        raise ValueError("handler broke")

    monkeypatch.setattr(
        receivers,
        "UPDATE_TICKET_DONE_HANDLERS",
        (fails, lambda sender, followup: calls.append("after")),
    )
    with pytest.raises(ValueError, match="handler broke"):
        receivers.update_ticket_done_dispatcher(sender="s", followup="f")
    assert calls == ["fails", "after"]
