"""Load the demo: branch 1222 Labuhanbatu Selatan, its queue, the complaints queue, staff users,
and a few public knowledge-base articles (so the request page's search-first step and the branch's
search have something to find; they reach the branches through the down-feed like any article).

Idempotent: running it again changes nothing and prints the same logins.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.utils.translation import gettext as _
from helpdesk.models import KBCategory, KBItem

from pst_helpdesk_ext.management.commands._demo_day import day_summary, load_demo_day
from pst_helpdesk_ext.models import Branch
from pst_helpdesk_ext.services.branches import create_branch, ensure_complaints_queue

DEMO_USERS = [
    # username, password, superuser, full name
    ("admin", "admin-demo-1222", True, "Admin Helpdesk"),
    ("provinsi", "provinsi-demo-1222", False, "Petugas Provinsi Sumatera Utara"),
    ("pst1222", "pst-demo-1222", False, "Petugas PST Labuhanbatu Selatan"),
]

DEMO_KB_CATEGORY = {
    "slug": "data-statistik",
    "name": "Data dan statistik",
    "title": "Data dan statistik BPS",
    "description": "Jawaban untuk pertanyaan yang paling sering diajukan di PST.",
}
DEMO_KB = [
    # title, question, answer
    (
        "Membaca inflasi dan IHK",
        "Bagaimana inflasi dihitung dari Indeks Harga Konsumen (IHK)?",
        "Inflasi adalah persentase perubahan IHK dibandingkan periode sebelumnya (bulanan,"
        " tahun kalender, atau tahunan). IHK dihitung dari harga paket barang dan jasa yang"
        " dikonsumsi rumah tangga di kota-kota survei biaya hidup. Tabel IHK dan inflasi"
        " menurut kota tersedia di situs web BPS, menu Statistik > Harga.",
    ),
    (
        "Garis kemiskinan kabupaten/kota",
        "Di mana saya menemukan garis kemiskinan dan jumlah penduduk miskin kabupaten saya?",
        "BPS menghitung garis kemiskinan dari Susenas Maret setiap tahun. Angka kabupaten/kota"
        " (garis kemiskinan, jumlah dan persentase penduduk miskin, indeks kedalaman dan"
        " keparahan) terbit dalam publikasi Data dan Informasi Kemiskinan Kabupaten/Kota dan"
        " di tabel dinamis situs web BPS provinsi.",
    ),
    (
        "Kode KBLI untuk usaha",
        "Bagaimana menentukan kode KBLI untuk kegiatan usaha saya?",
        "KBLI (Klasifikasi Baku Lapangan Usaha Indonesia) 2020 mengelompokkan kegiatan ekonomi"
        " dalam kode lima digit. Cari kegiatan utama usaha Anda di aplikasi KBLI BPS atau di"
        " publikasi KBLI 2020; jika ragu, petugas PST dapat membantu menentukan kodenya.",
    ),
    (
        "Mengutip data BPS",
        "Bagaimana cara mengutip data BPS dalam skripsi atau laporan?",
        "Sebutkan BPS sebagai sumber, judul tabel atau publikasi, tahun terbit, dan alamat"
        " tautannya, misalnya: Badan Pusat Statistik (2025), Provinsi Sumatera Utara Dalam"
        " Angka 2025. Data BPS bebas digunakan dengan menyebutkan sumbernya.",
    ),
]


def load_demo_kb() -> int:
    """The demo's public KB category and articles; returns how many articles were new."""
    category, _created = KBCategory.objects.get_or_create(
        slug=DEMO_KB_CATEGORY["slug"], defaults={**DEMO_KB_CATEGORY, "public": True}
    )
    new = 0
    for order, (title, question, answer) in enumerate(DEMO_KB, start=1):
        _item, created = KBItem.objects.get_or_create(
            category=category,
            title=title,
            defaults={"question": question, "answer": answer, "order": order, "enabled": True},
        )
        new += created
    return new


class Command(BaseCommand):
    @property  # type: ignore[override]
    def help(self) -> str:  # translated when shown, not at import (argparse needs a real str)
        return _(
            "Load the PST demo data (branch 1222, staff users with demo passwords, a few public"
            " knowledge-base articles) and a service day so far: walk-ins of branch 1207 in"
            " every state, online requests waiting and answered, complaints and ratings."
        )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--quiet-logins", action="store_true", help=_("do not print passwords"))
        parser.add_argument(
            "--without-day",
            action="store_true",
            help=_("load no service day (branch 1207's walk-ins, online requests, complaints)"),
        )

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        branch = Branch.objects.filter(code="1222").first() or create_branch(
            "1222", "Labuhanbatu Selatan", "Asia/Jakarta", "pst1222@example.bps.go.id"
        )
        ensure_complaints_queue()
        load_demo_kb()
        user_model = get_user_model()
        for username, password, superuser, full_name in DEMO_USERS:
            user, created = user_model.objects.get_or_create(
                username=username,
                defaults={"email": f"{username}@example.bps.go.id", "is_staff": True},
            )
            if created:
                first, _, last = full_name.partition(" ")
                user.first_name, user.last_name = first, last
                user.is_superuser = superuser
                user.set_password(password)
                user.save()
        if not options["without_day"]:
            load_demo_day()
        self.stdout.write(f"Demo branch {branch.code} {branch.name}, queue {branch.queue.slug}.")
        if not options["without_day"]:
            self.stdout.write(day_summary())
        if not options["quiet_logins"]:
            self.stdout.write("Demo logins (change them before real use):")
            for username, password, superuser, _name in DEMO_USERS:
                role = "superuser" if superuser else "staff"
                self.stdout.write(f"  {username:<10} {password:<20} ({role})")
