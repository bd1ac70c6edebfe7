"""``sync.feed``: the typed down-feed payloads. Central's mapping is the wire format, unchanged;
the branch's parse is lenient (wrong types take defaults, text is cut, unknown fields ignored)."""

import datetime as dt

from sync import feed


def test_a_category_round_trips_as_the_mapping_central_always_sent():
    category = feed.CategoryUpsert(
        id=3,
        code="konsultasi",
        kind="service",
        parent=None,
        name_id="Konsultasi",
        name_en="Consultation",
        queue_letter="K",
        order=1,
        active=True,
    )
    payload = category.as_payload()
    assert list(payload) == [
        "id",
        "code",
        "kind",
        "parent",
        "name_id",
        "name_en",
        "queue_letter",
        "order",
        "active",
    ]
    assert feed.CategoryUpsert.parse(payload) == category


def test_parsing_is_lenient_never_refusing():
    odd = {"id": True, "code": 7, "name_id": "x" * 500, "active": 0, "extra": "newer central"}
    parsed = feed.CategoryUpsert.parse(odd)
    assert (parsed.id, parsed.code, parsed.kind, parsed.active) == (0, "", "", False)
    assert len(parsed.name_id) == 120
    assert feed.Deleted.parse({}).id == 0
    assert feed.KbUpsert.parse({"updated": None}).updated == ""


def test_ticket_status_keeps_the_raw_status_and_time_it_is_keyed_by():
    row = feed.TicketStatus(
        ticket_id=12, status=3, status_label="", open=False, owner="central", at="2026-03-17T02:00"
    )
    parsed = feed.TicketStatus.parse(row.as_payload())
    assert parsed.status_label == "3"  # no label sent: the status code stands in
    assert (parsed.status, parsed.at) == (3, "2026-03-17T02:00")
    assert parsed.at_time == dt.datetime(2026, 3, 17, 2, 0, tzinfo=dt.UTC)  # naive: UTC
    assert not parsed.owned_by_branch
    assert feed.TicketStatus.parse({"owner": "branch"}).owned_by_branch
    assert feed.TicketStatus.parse({}).open is None  # "open" not said
    assert feed.TicketReply.parse({"at": "not a time"}).at_time is None


def test_an_appointment_round_trips_and_a_bad_one_parses_to_defaults():
    sent = feed.AppointmentUpsert(
        id=7,
        code="ABCDEF",
        status="booked",
        service="konsultasi",
        start="2026-03-18T02:00:00+00:00",
        minutes=30,
        topic="Data kemiskinan ****************",
        ticket_id=41,
        ticket_ref="pst-online-41",
    )
    assert feed.AppointmentUpsert.parse(sent.as_payload()) == sent
    assert list(sent.as_payload()) == [
        "id", "code", "status", "service", "start", "minutes", "topic", "ticket_id", "ticket_ref"
    ]  # fmt: skip
    assert sent.start_time is not None and sent.start_time.hour == 2
    bad = feed.AppointmentUpsert.parse({"id": True, "code": 5, "start": 3, "minutes": "30"})
    assert (bad.id, bad.code, bad.start_time, bad.minutes, bad.ticket_id) == (0, "", None, 0, 0)
