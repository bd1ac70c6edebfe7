"""The shared vocabulary (``sync.vocabulary``) is what the wire types say: one list of codes."""

import typing

from sync import ops, vocabulary


def test_the_payload_types_use_the_shared_codes():
    assert typing.get_args(ops.ServiceCode) == vocabulary.SERVICES
    assert typing.get_args(ops.FollowUpMode) == vocabulary.FOLLOW_UP_MODES
    resolved = typing.get_args(typing.get_type_hints(ops.VisitResolved)["outcome"])
    assert set(resolved) == {vocabulary.OUTCOME_RESOLVED, vocabulary.OUTCOME_REFERRED}
    assert ops.IKM_ELEMENTS is vocabulary.IKM_ELEMENTS
    assert tuple(f"U{n}" for n in range(1, 10)) == vocabulary.IKM_ELEMENTS


def test_every_ikm_element_has_both_official_names():
    for code, (name_id, name_en) in vocabulary.IKM_ELEMENT_NAMES.items():
        assert name_id and name_en and name_id != name_en, code
