"""The PST sync protocol: a sans-IO core (no sockets, clock, disk or Django) and a ZeroMQ transport.

Only ``sync.transport`` imports zmq. Nothing here imports Django, ``pst_helpdesk_ext`` or
``branch_agent``.
"""

PROTOCOL_VERSION = 1
