"""Kemendagri province and regency/city codes: the table is ``sync.regions`` (shared with the
branch agent); this name stays for central code and reports that read it from here."""

from sync.regions import PROVINCES, REGENCIES, REGENCY_CODES, RETIRED_REGENCIES, regency_name

__all__ = ["PROVINCES", "REGENCIES", "REGENCY_CODES", "RETIRED_REGENCIES", "regency_name"]
