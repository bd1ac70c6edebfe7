"""Baseline: walk-in visits posted one by one through django-helpdesk's own REST API.

This is how an office would script it today: for each visit, create the ticket with
``POST /api/tickets/`` and add its timeline with ``POST /api/followups/`` (called, served,
consultation note, resolved), token-authenticated, against a real WSGI server (waitress) on
loopback, one HTTP/1.1 keep-alive connection. Prints ``rest_baseline_visits_per_s``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import subprocess
import sys
import time

from bench.common import (
    MANAGE,
    emit,
    free_port,
    prepare_central,
    scratch_database,
    temp_dir,
    wait_for_port,
)

TOKEN_SCRIPT = """
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from helpdesk.models import Queue
user = get_user_model().objects.get(username="admin")
print(Token.objects.get_or_create(user=user)[0].key, Queue.objects.get(slug="pst-1222").id)
"""


class Client:
    def __init__(self, port: int, token: str) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}

    def post(self, path: str, body: dict[str, object]) -> dict[str, object]:
        self.conn.request("POST", path, json.dumps(body), self.headers)
        response = self.conn.getresponse()
        data = response.read()
        if response.status != 201:
            raise RuntimeError(f"POST {path} -> {response.status}: {data[:300]!r}")
        return json.loads(data)


def post_visit(client: Client, queue_id: int, n: int) -> None:
    ticket = client.post(
        "/api/tickets/",
        {
            "queue": queue_id,
            "title": f"Kunjungan K-{n % 1000:03d}",
            "description": "Konsultasi statistik: data kemiskinan kabupaten.",
            "submitter_email": f"visitor{n}@example.com",
            "priority": 3,
        },
    )
    steps = [
        ("Dipanggil", "Dipanggil ke meja 1 setelah menunggu 240 detik.", None),
        ("Dilayani", "Dilayani oleh petugas PST.", None),
        ("Catatan konsultasi", "Subjek: data. Pengunjung menanyakan data kemiskinan.", None),
        ("Selesai", "Informasi diberikan.", 3),
    ]
    for title, comment, status in steps:
        body: dict[str, object] = {
            "ticket": ticket["id"],
            "title": title,
            "comment": comment,
            "public": False,
        }
        if status:
            body["new_status"] = status
        client.post("/api/followups/", body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--visits", type=int, default=200)
    args = parser.parse_args()

    with scratch_database("pst_bench_rest") as url:  # a new database, never a used one
        measure(args.visits, url)


def measure(visits: int, database_url: str | None) -> None:
    data_dir = temp_dir("pst-bench-rest-")
    env = prepare_central(data_dir, database_url)
    out = subprocess.run(
        [sys.executable, str(MANAGE), "shell", "-c", TOKEN_SCRIPT],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    token, queue_id = out[-2], int(out[-1])
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "waitress",
            f"--listen=127.0.0.1:{port}",
            "--threads=4",
            "example_project.wsgi:application",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        client = Client(port, token)
        post_visit(client, queue_id, 0)  # warm-up, not counted
        started = time.perf_counter()
        for n in range(1, visits + 1):
            post_visit(client, queue_id, n)
        elapsed = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=10)
    rate = visits / elapsed
    print(f"REST baseline: {visits} visits in {elapsed:.2f}s = {rate:.1f} visits/s")
    emit({"rest_baseline_visits_per_s": round(rate, 1)})


if __name__ == "__main__":
    main()
