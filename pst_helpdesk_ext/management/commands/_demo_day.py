"""The demo's service day so far, so every page a newcomer opens shows real data.

Walk-ins of branch 1207 Labuhanbatu (a second office, with no agent in the demo) arrive as ops
through central's own intake (``apply_walkin_ops``), exactly as a branch's sync would bring them:
finished, referred, escalated, missed (no-show), being served, called and waiting, with ratings
and a kiosk complaint. Online requests to the same office go through the request page's service
(``submit_request``): one waiting, one incomplete, one answered by staff through helpdesk's own
update path and rated through its link. One complaint about a ticket comes by e-mail.

Times are relative to when it is loaded (the last visitor arrived minutes ago). Loaded once: a
second run finds branch 1207's visits and adds nothing. Branch 1222, the demo's running
agent, stays empty for the newcomer's own visitors.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone
from helpdesk.models import Ticket

from pst_helpdesk_ext.conf import pst_settings
from pst_helpdesk_ext.helpdesk_gateway import record_update
from pst_helpdesk_ext.models import (
    Branch,
    Complaint,
    PSTTicket,
    Rating,
    RatingInvitation,
    ServiceCategory,
    Visit,
)
from pst_helpdesk_ext.personal_data import id_hash, last4
from pst_helpdesk_ext.services import online, ratings
from pst_helpdesk_ext.services.branches import create_branch
from pst_helpdesk_ext.services.complaints import file_complaint
from pst_helpdesk_ext.services.intake import apply_walkin_ops
from sync import ops as kinds
from sync.ops import Op

DAY_BRANCH = ("1207", "Labuhanbatu")
SCORES_GOOD = {f"U{n}": 4 for n in range(1, 10)}
SCORES_MIXED = {**{f"U{n}": 3 for n in range(1, 10)}, "U2": 2, "U5": 4}

#: name, institution, service, minutes ago issued, wait minutes, state, extra
WALK_INS: list[tuple[str, str, str, int, int, str, dict[str, Any]]] = [
    ("Siti Rahmawati", "Universitas Sumatera Utara", "konsultasi", 190, 6, "resolved",
     {"notes": "Menjelaskan data kemiskinan per kecamatan 2024", "rating": SCORES_GOOD}),
    ("Rudi Hartono", "Dinas Pertanian", "konsultasi", 170, 9, "referred",
     {"notes": "Butuh publikasi cetak Kabupaten Dalam Angka", "referred_to": "penjualan"}),
    ("Dewi Lestari", "Bappeda Labuhanbatu", "konsultasi", 150, 14, "escalated",
     {"notes": "Data PDRB triwulanan per lapangan usaha belum tersedia di meja",
      "rating": SCORES_MIXED, "overall": 3, "comment": "Menunggu agak lama, tetapi petugas ramah"}),
    ("Ahmad Fauzi", "SMA Negeri 1 Rantauprapat", "perpustakaan", 120, 0, "no_show", {}),
    ("Maria Simanjuntak", "Mahasiswa", "konsultasi", 95, 7, "resolved",
     {"notes": "Kode KBLI untuk usaha kopi bubuk", "rating": SCORES_GOOD,
      "complaint": "Ruang tunggu panas, kipas angin tidak menyala."}),
    ("Hendra Gunawan", "CV Maju Bersama", "konsultasi", 40, 8, "served", {}),
    ("Nur Aisyah", "Puskesmas Bilah Hulu", "konsultasi", 20, 5, "called", {}),
    ("Bambang Sutrisno", "Wiraswasta", "konsultasi", 12, 0, "waiting", {}),
    ("Lina Marpaung", "Universitas Labuhanbatu", "rekomendasi", 5, 0, "waiting", {}),
]  # fmt: skip

#: name, e-mail, subject, title, question, state
ONLINE = [
    ("Yusuf Siregar", "yusuf@example.id", "data", "Jumlah penduduk per kecamatan 2024",
     "Saya memerlukan jumlah penduduk menurut kecamatan dan jenis kelamin tahun 2024 untuk"
     " penelitian skripsi.", "answered"),
    ("Rina Hasibuan", "rina@example.id", "data", "Inflasi bulanan Kota Rantauprapat",
     "Apakah tersedia data inflasi bulanan Kota Rantauprapat untuk tahun 2023 dan 2024?",
     "waiting"),
    ("Tono Pardede", "tono@example.id", "metadata", "Definisi pengangguran terbuka",
     "Apa definisi tingkat pengangguran terbuka yang dipakai BPS?", "incomplete"),
]  # fmt: skip


class _Branch:
    """Ops as branch 1207 records them: contiguous seq, UUIDv7-shaped ids, applied at once."""

    def __init__(self, branch: Branch) -> None:
        self.branch = branch
        self.seq = 0

    def op(self, kind: str, visit: str, when: dt.datetime, /, **payload: Any) -> Op:
        self.seq += 1
        raw = uuid.uuid4().hex
        op_id = f"{raw[:8]}-{raw[8:12]}-7{raw[13:16]}-8{raw[17:20]}-{raw[20:]}"
        return Op(op_id, self.seq, kind, visit, int(when.timestamp() * 1000) << 16, payload)

    def apply(self, ops: list[Op], at: dt.datetime) -> None:
        outcomes = apply_walkin_ops(self.branch, ops, received_at=at)
        refused = [o for o in outcomes if o.result != "applied"]
        if refused:
            raise RuntimeError(f"demo ops refused by the intake: {refused}")


def _walk_in(branch: _Branch, number: int, row: tuple, now: dt.datetime) -> None:
    name, institution, service, ago, wait, state, extra = row
    visit = str(uuid.uuid4())
    issued = now - dt.timedelta(minutes=ago)
    called = issued + dt.timedelta(minutes=wait)
    started = called + dt.timedelta(minutes=1)
    finished = started + dt.timedelta(minutes=18)
    letter = ServiceCategory.objects.get(code=service).queue_letter or "K"
    nik = f"120701{(number % 28) + 1:02d}0{number % 10}9{number:05d}"[:16]
    ops = [
        branch.op(kinds.VISIT_CREATED, visit, issued, service=service,
                  queue_number=f"{letter}-{number:03d}",
                  service_day=timezone.localtime(issued).date().isoformat(),
                  issued_at=issued.isoformat()),
        branch.op(kinds.GUESTBOOK_RECORDED, visit, issued + dt.timedelta(minutes=1), name=name,
                  institution=institution, email=f"{name.split()[0].lower()}@example.id",
                  phone="", id_type="ktp", id_hash=id_hash(nik, pst_settings.ID_HASH_KEY),
                  id_last4=last4(nik), purpose=extra.get("notes", "Konsultasi data statistik"),
                  consent=True, recorded_at=(issued + dt.timedelta(minutes=1)).isoformat()),
    ]  # fmt: skip
    if state == "waiting":
        return branch.apply(ops, issued + dt.timedelta(minutes=1))
    if state == "no_show":
        ops.append(branch.op(kinds.VISIT_CALLED, visit, called, desk="1",
                             called_at=called.isoformat(), wait_seconds=wait * 60))  # fmt: skip
        at = called + dt.timedelta(minutes=5)
        ops.append(branch.op(kinds.VISIT_NO_SHOW, visit, at, desk="1", at=at.isoformat()))
        return branch.apply(ops, at)
    ops.append(branch.op(kinds.VISIT_CALLED, visit, called, desk="1",
                         called_at=called.isoformat(), wait_seconds=wait * 60))  # fmt: skip
    if state == "called":
        return branch.apply(ops, called)
    ops.append(branch.op(kinds.VISIT_SERVED, visit, started, desk="1", officer="Budi Santoso",
                         started_at=started.isoformat()))  # fmt: skip
    if state == "served":
        return branch.apply(ops, started)
    ops.append(branch.op(kinds.CONSULTATION_NOTED, visit, finished, subject="data",
                         notes=extra["notes"], officer="Budi Santoso"))  # fmt: skip
    seconds = int((finished - started).total_seconds())
    if state == "escalated":
        ops.append(branch.op(kinds.VISIT_ESCALATED, visit, finished, follow_up="online",
                             note=extra["notes"], finished_at=finished.isoformat(),
                             service_seconds=seconds))  # fmt: skip
    else:
        ops.append(branch.op(kinds.VISIT_RESOLVED, visit, finished, outcome=state,
                             finished_at=finished.isoformat(), service_seconds=seconds,
                             referred_to=extra.get("referred_to")))  # fmt: skip
    if "rating" in extra:
        ops.append(branch.op(kinds.RATING_GIVEN, visit, finished + dt.timedelta(minutes=2),
                             scores=extra["rating"], overall=extra.get("overall", 4),
                             comment=extra.get("comment", "")))  # fmt: skip
    if "complaint" in extra:
        ops.append(branch.op(kinds.COMPLAINT_FILED, visit, finished + dt.timedelta(minutes=3),
                             tier=1, text=extra["complaint"]))  # fmt: skip
    branch.apply(ops, finished + dt.timedelta(minutes=3))


def _online(home: Branch, row: tuple, staff: Any) -> PSTTicket:
    name, email, subject, title, question, state = row
    complete = state != "incomplete"
    pst = online.submit_request(
        online.RequestData(
            email=email,
            name=name,
            institution="Universitas Labuhanbatu" if complete else "",
            branch=home,
            subject=ServiceCategory.objects.get(code=subject, kind=ServiceCategory.Kind.SUBJECT),
            title=title,
            question=question,
            indicator=title if complete else "",
            region="Kabupaten Labuhanbatu Selatan" if complete else "",
            period="2024" if complete else "",
            purpose="Penelitian" if complete else "",
            search_query=title.split()[0],
        )
    )
    if state == "answered":
        record_update(
            pst.ticket,
            staff,
            comment="Data jumlah penduduk per kecamatan 2024 ada di publikasi Kecamatan Dalam"
            " Angka 2025, tabel 3.1.2, di situs web BPS kabupaten. Terima kasih.",
            public=True,
            new_status=Ticket.RESOLVED_STATUS,
        )
        invitation = RatingInvitation.objects.filter(ticket=pst.ticket).first()
        if invitation is None:
            invitation = RatingInvitation.objects.create(ticket=pst.ticket)
        ratings.submit_rating(
            invitation, scores=SCORES_GOOD, overall=4, comment="Jawabannya cepat dan jelas."
        )
    return pst


def load_demo_day() -> bool:
    """Load the day once; False when it is there already."""
    branch = Branch.objects.filter(code=DAY_BRANCH[0]).first() or create_branch(*DAY_BRANCH)
    if Visit.objects.filter(branch=branch).exists():
        return False
    now = timezone.now().replace(microsecond=0)
    ops = _Branch(branch)
    for number, row in enumerate(WALK_INS, start=1):
        _walk_in(ops, number, row, now)
    staff = get_user_model().objects.get(username="pst1222")
    answered, *_others = [_online(branch, row, staff) for row in ONLINE]
    file_complaint(
        text="Jawaban atas permintaan saya tidak mencantumkan sumber tabelnya.",
        email="yusuf@example.id",
        about=answered.ticket,
        tier=2,
    )
    return True


def day_summary() -> str:
    visits = Visit.objects.filter(branch__code=DAY_BRANCH[0])
    return (
        f"Demo day: {visits.count()} walk-ins at branch {DAY_BRANCH[0]} {DAY_BRANCH[1]}, "
        f"{PSTTicket.objects.filter(online_request__isnull=False).count()} online requests, "
        f"{Complaint.objects.count()} complaints, {Rating.objects.count()} ratings."
    )
