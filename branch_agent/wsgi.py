"""WSGI entry point (waitress in ``pst-branch-agent run``, or any WSGI server)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "branch_agent.settings")
application = get_wsgi_application()
