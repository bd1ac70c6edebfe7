"""The PST sync protocol: a sans-IO core (no sockets, clock, disk or Django) and a ZeroMQ transport;
and the pure domain contract both programs share (ownership, ids, vocabulary, nik, regions).

Only ``sync.transport`` imports zmq. Nothing here imports Django, ``pst_helpdesk_ext`` or
``branch_agent``.
"""

PROTOCOL_VERSION = 1

# Modules here whose people-facing msgids are marked with ``gettext_noop``: each program's
# makemessages reads them too (``make messages``, the locale tests), and each program's catalogue
# translates them at the edge.
MESSAGE_MODULES = ("nik.py",)
