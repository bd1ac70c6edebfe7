import datetime as dt
import zoneinfo

import pytest

JAKARTA = zoneinfo.ZoneInfo("Asia/Jakarta")


def at(hour: int, minute: int = 0, second: int = 0, day: int = 17) -> dt.datetime:
    """A moment on the branch clock (2026-03-<day>, WIB)."""
    return dt.datetime(2026, 3, day, hour, minute, second, tzinfo=JAKARTA)


@pytest.fixture
def users(db):
    from django.contrib.auth.models import Group, User

    made = {}
    for role in ("front_office", "desk_officer", "branch_admin"):
        user = User.objects.create_user(role, password="pw-" + role, first_name=role.title())
        user.groups.add(Group.objects.get(name=role))
        made[role] = user
    return made
