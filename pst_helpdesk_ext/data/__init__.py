"""Reference data shipped with the plugin (plain Python modules, no database rows)."""
