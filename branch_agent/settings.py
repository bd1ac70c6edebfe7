"""The agent's settings module: the config of the data directory in PST_AGENT_HOME, built once.

The CLI validates the config (with a one-line message) before Django imports this module.
"""

from branch_agent.config import data_dir, load
from branch_agent.djsettings import build

globals().update(build(load(data_dir())))
