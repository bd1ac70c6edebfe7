"""End-to-end: real processes (central site, sync server, branch agent) on loopback."""
