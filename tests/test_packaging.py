"""Under `tox -e dist` the packages must come from the installed wheel, not the source tree."""

import os
from pathlib import Path

import pytest

import branch_agent
import pst_helpdesk_ext
import sync


@pytest.mark.skipif(not os.environ.get("PST_EXPECT_INSTALLED"), reason="only in tox -e dist")
def test_packages_come_from_the_wheel():
    for module in (pst_helpdesk_ext, branch_agent, sync):
        assert "site-packages" in Path(module.__file__).parts, module.__file__


def test_plugin_ships_templates_locale_and_migrations():
    root = Path(pst_helpdesk_ext.__file__).parent
    assert (root / "templates" / "pst_helpdesk_ext").is_dir()
    assert (root / "migrations" / "0001_pst_domain_and_sync_state.py").is_file()
    assert (root / "py.typed").is_file()
    assert (root / "locale_helpdesk" / "id" / "LC_MESSAGES" / "django.mo").is_file()
    assert (root / "static" / "pst_helpdesk_ext" / "img" / "pst-logo.svg").is_file()
