"""The agent's model choices are the shared vocabulary's codes (``sync.vocabulary``)."""

from branch_agent.models import Visit
from sync import vocabulary


def test_agent_visit_choices_are_the_shared_codes():
    assert set(Visit.Outcome.values) <= set(vocabulary.OUTCOMES)
    assert tuple(Visit.FollowUp.values) == vocabulary.FOLLOW_UP_MODES
