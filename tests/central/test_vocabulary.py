"""Central's model choices and IKM element names are the shared vocabulary's codes."""

from pst_helpdesk_ext import ikm
from pst_helpdesk_ext.models import Visit
from sync import vocabulary


def test_central_visit_choices_are_the_shared_codes():
    assert tuple(Visit.Outcome.values) == vocabulary.OUTCOMES
    assert tuple(Visit.FollowUp.values) == vocabulary.FOLLOW_UP_MODES


def test_the_ikm_elements_are_the_shared_ones():
    assert tuple(e.code for e in ikm.ELEMENTS) == vocabulary.IKM_ELEMENTS
    assert ikm.ELEMENTS[0].name_id == "Persyaratan" and ikm.ELEMENTS[8].name_en.startswith("Handl")
