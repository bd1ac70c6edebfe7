"""The plugin's pages, one module per audience: ``staff`` (inside helpdesk's staff UI) and the
public pages. Thin: queries and rules live in ``services``."""
