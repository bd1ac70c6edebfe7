"""compute_ikm against hand-computed surveys, the regulation's rounding pitfall, bad input and
properties."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

import pytest
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from pst_helpdesk_ext.ikm import ELEMENTS, Grade, IkmInputError, compute_ikm, compute_ikm_totals
from sync.ops import IKM_ELEMENTS

D = Decimal


def survey(spec: list[tuple[int, int]]) -> list[dict[str, int]]:
    """Responses from (answers, total) per element U1..U9: respondent i answers element u when
    i < answers_u; scores are as high as possible for the first respondents."""
    columns = []
    for answers, total in spec:
        scores, rest = [1] * answers, total - answers
        for i in range(answers):
            scores[i] += min(3, rest)
            rest -= min(3, rest)
        assert rest == 0
        columns.append(scores)
    respondents = max(answers for answers, _ in spec)
    return [
        {
            code: column[i]
            for code, column in zip(IKM_ELEMENTS, columns, strict=True)
            if i < len(column)
        }
        for i in range(respondents)
    ]


def counts(distribution: dict[str, tuple[int, int, int, int]]) -> list[dict[str, int]]:
    """Responses from how many respondents gave 1, 2, 3, 4 per element (published tables)."""
    columns = {
        code: [score for score, n in zip((1, 2, 3, 4), ns, strict=True) for _ in range(n)]
        for code, ns in distribution.items()
    }
    size = max(len(c) for c in columns.values())
    return [
        {code: column[i] for code, column in columns.items() if i < len(column)}
        for i in range(size)
    ]


def test_elements_match_the_wire_contract():
    assert tuple(e.code for e in ELEMENTS) == IKM_ELEMENTS


def test_perfect_survey_is_100_not_99():
    result = compute_ikm([dict.fromkeys(IKM_ELEMENTS, 4)] * 10)
    assert result.index == D("100.00")
    assert result.unit_value == D("4.0000")
    assert result.grade is Grade.A
    # The pitfall: the regulation's printed weight 0.11 gives 4 x 0.11 x 9 x 25 = 99.00.
    assert D("4") * D("0.11") * 9 * 25 == D("99.00") != result.index


def test_worst_survey_is_25():
    result = compute_ikm([dict.fromkeys(IKM_ELEMENTS, 1)] * 3)
    assert result.index == D("25.00") and result.grade is Grade.D


def test_uniform_threes_and_twos():
    # Each element: 4 + 3 + 3 + 2 = 12 over 4 respondents = 3.0000 -> 75.00, grade C.
    responses = [dict.fromkeys(IKM_ELEMENTS, s) for s in (4, 3, 3, 2)]
    result = compute_ikm(responses)
    assert result.respondents == 4
    assert {e.nrr for e in result.elements} == {D("3.0000")}
    assert result.index == D("75.00") and result.grade is Grade.C
    assert result.grade.label_id == "Kurang Baik"


def test_hand_computed_small_survey_with_an_unanswered_element():
    responses = [
        {"U1": 4, "U2": 3, "U3": 4, "U4": 4, "U5": 3, "U6": 4, "U7": 4, "U8": 2, "U9": 3},
        {"U1": 4, "U2": 3, "U3": 3, "U4": 4, "U5": 4, "U6": 4, "U7": 4, "U8": 3},
        {"U1": 3, "U2": 3, "U3": 2, "U4": 4, "U5": 4, "U6": 4, "U7": 3, "U8": 3},
    ]
    result = compute_ikm(responses)
    nrr = {e.code: e.nrr for e in result.elements}
    assert nrr == {
        "U1": D("3.6667"),  # 11/3
        "U2": D("3.0000"),
        "U3": D("3.0000"),
        "U4": D("4.0000"),
        "U5": D("3.6667"),
        "U6": D("4.0000"),
        "U7": D("3.6667"),
        "U8": D("2.6667"),  # 8/3
        "U9": D("3.0000"),  # one answer
    }
    # Sum 30.6668; / 9 = 3.40742 -> unit 3.4074; x 25 = 85.1855... -> 85.19, grade B.
    assert result.unit_value == D("3.4074")
    assert result.index == D("85.19") and result.grade is Grade.B
    assert result.element("U9").answers == 1 and result.element("U1").answers == 3
    assert result.element("U1").total == 11
    assert result.element("U1").grade is Grade.A
    assert result.element("U2").grade is Grade.C  # 3.0000 < 3.0644
    assert result.element("U8").converted == D("66.67")
    assert result.element("U4").weighted == D("0.4444")  # 4 x 1/9
    assert result.missing_elements == ()


def test_published_style_table_where_the_rounded_weight_changes_the_grade():
    # 100 respondents; counts of answers 1/2/3/4 per element as offices publish them.
    # U9 (complaint handling) was answered by the 40 respondents who had dealt with it.
    responses = counts(
        {
            "U1": (0, 2, 38, 60),  # 358 / 100 = 3.5800
            "U2": (0, 5, 45, 50),  # 345 -> 3.4500
            "U3": (1, 7, 52, 40),  # 331 -> 3.3100
            "U4": (0, 0, 0, 100),  # free service: 4.0000
            "U5": (0, 3, 47, 50),  # 347 -> 3.4700
            "U6": (0, 1, 35, 64),  # 363 -> 3.6300
            "U7": (0, 0, 30, 70),  # 370 -> 3.7000
            "U8": (2, 8, 50, 40),  # 328 -> 3.2800
            "U9": (0, 2, 18, 20),  # 138 / 40 = 3.4500
        }
    )
    result = compute_ikm(responses)
    assert result.respondents == 100
    assert [e.answers for e in result.elements] == [100] * 8 + [40]
    assert [str(e.nrr) for e in result.elements] == [
        "3.5800",
        "3.4500",
        "3.3100",
        "4.0000",
        "3.4700",
        "3.6300",
        "3.7000",
        "3.2800",
        "3.4500",
    ]
    assert [e.grade.letter for e in result.elements] == list("ABBABAABB")
    # Sum of NRRs 31.87: exact 1/9 -> 3.5411 -> 88.5278 -> 88.53, grade A (Sangat Baik).
    assert result.unit_value == D("3.5411")
    assert result.index == D("88.53") and result.grade is Grade.A
    # The printed weights would report 88.44 (0.111) or 87.64 (0.11, grade B) for this survey.
    assert D("31.87") * D("0.111") * 25 == D("88.43925")
    assert D("31.87") * D("0.11") * 25 == D("87.6425")


def test_nrr_rounds_half_up_at_four_decimals():
    # 97 / 32 = 3.03125 exactly: half-up 3.0313 (banker's rounding would say 3.0312).
    responses = survey([(32, 97)] + [(1, 4)] * 8)
    assert compute_ikm(responses).element("U1").nrr == D("3.0313")


@pytest.mark.parametrize(
    ("spec", "index", "grade"),
    [
        # NRRs 3.5 + 3.8571 + 3.625 + 3.25 + 3.75 + 2.8333 + 3.375 + 3.6 + 4 = 31.7904;
        # x 25 / 9 = 88.3067 -> 88.31, the lowest A.
        (
            [(2, 7), (7, 27), (8, 29), (4, 13), (4, 15), (6, 17), (8, 27), (5, 18), (1, 4)],
            "88.31",
            "A",
        ),
        (
            [(5, 16), (8, 31), (5, 18), (7, 22), (3, 11), (7, 24), (4, 15), (8, 25), (1, 4)],
            "88.30",
            "B",
        ),
        (
            [(5, 17), (3, 10), (3, 10), (6, 13), (7, 17), (8, 31), (8, 17), (6, 19), (4, 15)],
            "76.61",
            "B",
        ),
        (
            [(8, 31), (7, 22), (7, 10), (4, 15), (8, 19), (6, 13), (8, 29), (7, 26), (2, 7)],
            "76.60",
            "C",
        ),
        # 5/5 = 1 and eight times 14/5 = 2.8: 23.4 x 25 / 9 = 65.00, the lowest C.
        ([(5, 5)] + [(5, 14)] * 8, "65.00", "C"),
        (
            [(6, 23), (3, 10), (7, 27), (8, 25), (7, 13), (5, 9), (7, 9), (7, 10), (8, 23)],
            "64.99",
            "D",
        ),
    ],
)
def test_grade_boundaries_end_to_end(spec, index, grade):
    result = compute_ikm(survey(spec))
    assert result.index == D(index)
    assert result.grade is Grade[grade]


@pytest.mark.parametrize(
    ("value", "grade"),
    [
        ("100.00", "A"),
        ("88.31", "A"),
        ("88.30", "B"),
        ("76.61", "B"),
        ("76.60", "C"),
        ("65.00", "C"),
        ("64.99", "D"),
        ("25.00", "D"),
    ],
)
def test_grade_for_index(value, grade):
    assert Grade.for_index(D(value)) is Grade[grade]


@pytest.mark.parametrize(
    ("nrr", "grade"),
    [
        ("3.5324", "A"),
        ("3.5323", "B"),
        ("3.0644", "B"),
        ("3.0643", "C"),
        ("2.60", "C"),
        ("2.5999", "D"),
    ],
)
def test_grade_for_nrr(nrr, grade):
    assert Grade.for_nrr(D(nrr)) is Grade[grade]


def test_grade_labels_in_both_languages():
    assert [(g.letter, g.label_id) for g in Grade] == [
        ("A", "Sangat Baik"),
        ("B", "Baik"),
        ("C", "Kurang Baik"),
        ("D", "Tidak Baik"),
    ]
    with translation.override("en"):
        assert Grade.B.label == "Good" and ELEMENTS[0].name == "Requirements"
    with translation.override("id"):
        assert Grade.B.label == "Baik" and ELEMENTS[0].name == "Persyaratan"


def test_no_responses_gives_no_index():
    result = compute_ikm([])
    assert result.respondents == 0
    assert result.index is None and result.grade is None and result.unit_value is None
    assert result.missing_elements == IKM_ELEMENTS
    assert all(e.nrr is None and e.answers == 0 for e in result.elements)
    assert result.as_dict()["index"] is None


def test_generator_input_and_json_shape():
    result = compute_ikm(dict.fromkeys(IKM_ELEMENTS, s) for s in (4, 3))
    data = result.as_dict()
    assert data["index"] == "87.50" and data["grade"]["letter"] == "B"
    assert data["elements"][0] == {
        "code": "U1",
        "name_id": "Persyaratan",
        "name_en": "Requirements",
        "answers": 2,
        "total": 7,
        "nrr": "3.5000",
        "weighted": "0.3889",
        "converted": "87.50",
        "grade": {"letter": "B", "label_id": "Baik", "label_en": "Good"},
    }


def test_element_nobody_answered_is_reported_and_weights_follow():
    responses = [dict.fromkeys(IKM_ELEMENTS[:8], 4), dict.fromkeys(IKM_ELEMENTS[:8], 2)]
    result = compute_ikm(responses)
    assert result.missing_elements == ("U9",)
    assert result.element("U9").nrr is None and result.element("U9").grade is None
    assert result.index == D("75.00")  # eight NRRs of 3.0, each weighted 1/8
    assert result.element("U1").weighted == D("0.3750")


@pytest.mark.parametrize(
    ("responses", "code", "fragments"),
    [
        ([{"U1": 5}], "out_of_range", ["Response 1", "U1", "5", "1 to 4"]),
        ([{"U1": 4}, {"U2": 0}], "out_of_range", ["Response 2", "U2", "0"]),
        ([{"U10": 3}], "unknown_element", ["Response 1", "U10", "U1 to U9"]),
        ([{"u1": 3}], "unknown_element", ["'u1'"]),
        ([{"U1": 3.0}], "not_an_integer", ["U1", "3.0", "whole number"]),
        ([{"U1": "4"}], "not_an_integer", ["U1", "'4'"]),
        ([{"U1": True}], "not_an_integer", ["U1", "True"]),
        ([{"U1": None}], "not_an_integer", ["U1", "None", "leave unanswered elements out"]),
        ([{"U1": 4}, {}], "empty_response", ["Response 2", "no answers"]),
        ([{"U1": 4}, [4, 4]], "not_a_mapping", ["Response 2"]),
        ({"U1": 4}, "not_a_list", ["single dict"]),
    ],
)
def test_bad_input_is_refused_clearly(responses, code, fragments):
    with translation.override("en"), pytest.raises(IkmInputError) as caught:
        compute_ikm(responses)
    assert isinstance(caught.value, ValueError)
    assert caught.value.code == code
    for fragment in fragments:
        assert fragment in str(caught.value), str(caught.value)


def test_error_names_response_and_element_attributes():
    with pytest.raises(IkmInputError) as caught:
        compute_ikm([{"U1": 4}, {"U1": 4}, {"U7": 9}])
    assert (caught.value.response, caught.value.element) == (3, "U7")


# --- Properties ------------------------------------------------------------------------------

response = st.dictionaries(
    st.sampled_from(IKM_ELEMENTS), st.integers(min_value=1, max_value=4), min_size=1
)
surveys = st.lists(response, min_size=1, max_size=60)


def reference_index(responses: list[dict[str, int]]) -> Decimal:
    """Straight from the regulation's definitions, written independently of the module."""
    nrrs = []
    for code in IKM_ELEMENTS:
        scores = [r[code] for r in responses if code in r]
        if scores:
            exact = Decimal(sum(scores)) / Decimal(len(scores))
            nrrs.append(exact.quantize(D("0.0001"), rounding=ROUND_HALF_UP))
    value = Fraction(sum(nrrs)) * 25 / len(nrrs)
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(
        D("0.01"), rounding=ROUND_HALF_UP
    )


@settings(max_examples=200, deadline=None)
@given(surveys)
def test_index_matches_the_definitions_and_stays_in_range(responses):
    result = compute_ikm(responses)
    assert result.index == reference_index(responses)
    assert D("25.00") <= result.index <= D("100.00")
    assert result.grade is Grade.for_index(result.index)
    assert result.respondents == len(responses)
    assert sum(e.answers for e in result.elements) == sum(len(r) for r in responses)
    for e in result.elements:
        if e.nrr is not None:
            assert D(1) <= e.nrr <= D(4) and e.grade is Grade.for_nrr(e.nrr)


@settings(max_examples=100, deadline=None)
@given(surveys, st.randoms(use_true_random=False), st.integers(min_value=2, max_value=4))
def test_order_and_duplication_do_not_matter(responses, rnd, copies):
    result = compute_ikm(responses)
    shuffled = list(responses)
    rnd.shuffle(shuffled)
    assert compute_ikm(shuffled).index == result.index
    repeated = compute_ikm(responses * copies)
    assert repeated.index == result.index and repeated.respondents == copies * len(responses)


@settings(max_examples=100, deadline=None)
@given(surveys, st.data())
def test_a_better_answer_never_lowers_the_index(responses, data):
    number = data.draw(st.integers(min_value=0, max_value=len(responses) - 1))
    chosen = dict(responses[number])
    element = data.draw(st.sampled_from(sorted(chosen)))
    if chosen[element] == 4:
        return
    chosen[element] += 1
    improved = [*responses[:number], chosen, *responses[number + 1 :]]
    assert compute_ikm(improved).index >= compute_ikm(responses).index


# --- From sums (what a database adds up) -----------------------------------------------------


def sums(responses: list[dict[str, int]]) -> tuple[int, dict[str, int], dict[str, int]]:
    totals = {code: sum(r.get(code, 0) for r in responses) for code in IKM_ELEMENTS}
    answers = {code: sum(code in r for r in responses) for code in IKM_ELEMENTS}
    return len(responses), totals, answers


def exact(value: Fraction, places: str) -> Decimal:
    """The exact value rounded half up once (Decimal arithmetic on the exact fraction)."""
    with localcontext() as context:
        context.prec = 100
        return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(
            D(places), rounding=ROUND_HALF_UP
        )


@settings(max_examples=300, deadline=None)
@given(
    st.integers(min_value=1, max_value=10**12),
    st.lists(st.integers(min_value=0, max_value=10**12), min_size=9, max_size=9),
    st.lists(st.integers(min_value=0, max_value=3 * 10**12), min_size=9, max_size=9),
)
def test_every_figure_is_the_exact_value_rounded_once(respondents, counts, extra):
    """Every printed figure (NRR, weighted NRR, NRR x 25, unit value, index) is its exact value
    from the definitions rounded half up once, with survey sizes far beyond a real one."""
    counts = [min(c, respondents) for c in counts]
    counts[0] = max(counts[0], 1)
    totals = [c + min(e, 3 * c) for c, e in zip(counts, extra, strict=True)]
    respondents = min(respondents, sum(counts))
    result = compute_ikm_totals(
        respondents,
        dict(zip(IKM_ELEMENTS, totals, strict=True)),
        dict(zip(IKM_ELEMENTS, counts, strict=True)),
    )
    nrrs = [exact(Fraction(t, c), "0.0001") for t, c in zip(totals, counts, strict=True) if c]
    k = len(nrrs)
    answered = [e for e in result.elements if e.answers]
    assert [e.nrr for e in answered] == nrrs
    assert [e.weighted for e in answered] == [exact(Fraction(n) / k, "0.0001") for n in nrrs]
    assert [e.converted for e in answered] == [exact(Fraction(n) * 25, "0.01") for n in nrrs]
    assert [str(e.nrr) for e in answered] == [str(n) for n in nrrs]  # printed with 4 places
    assert result.unit_value == exact(sum(Fraction(n) for n in nrrs) / k, "0.0001")
    assert result.index == exact(sum(Fraction(n) for n in nrrs) * 25 / k, "0.01")
    assert str(result.index) == str(exact(sum(Fraction(n) for n in nrrs) * 25 / k, "0.01"))


@settings(max_examples=300, deadline=None)
@given(st.lists(response, min_size=0, max_size=200))
def test_sums_give_exactly_the_result_of_the_responses(responses):
    """The report sums scores in the database and passes the sums: every figure, not only the
    index, must be the one ``compute_ikm`` gives for the responses themselves."""
    respondents, totals, answers = sums(responses)
    assert compute_ikm_totals(respondents, totals, answers) == compute_ikm(responses)
    # As a database returns them: elements nobody answered missing or NULL.
    sparse_totals = {code: total or None for code, total in totals.items() if answers[code]}
    sparse_answers = {code: count for code, count in answers.items() if count}
    assert compute_ikm_totals(respondents, sparse_totals, sparse_answers) == compute_ikm(responses)


def test_hand_computed_survey_from_its_sums():
    # Three respondents, U1..U8 summing to 10 each (NRR 10/3 = 3.3333), U9 unanswered: the
    # index weighs the eight NRRs 1/8: 3.3333 x 25 = 83.3325 -> 83.33.
    result = compute_ikm_totals(
        3, {f"U{n}": 10 for n in range(1, 9)}, {f"U{n}": 3 for n in range(1, 9)}
    )
    assert result.element("U1").nrr == D("3.3333") and result.missing_elements == ("U9",)
    assert result.index == D("83.33") and result.respondents == 3
    assert compute_ikm_totals(0, {}, {}).index is None


@pytest.mark.parametrize(
    ("respondents", "totals", "answers", "element"),
    [
        (2, {"U1": 9}, {"U1": 2}, "U1"),  # two answers cannot sum above 8
        (2, {"U1": 1}, {"U1": 2}, "U1"),  # nor below 2
        (1, {"U1": 8}, {"U1": 2}, "U1"),  # more answers than respondents
        (1, {"U10": 4}, {"U10": 1}, "U10"),  # not an element
        (1, {"U1": 4.0}, {"U1": 1}, "U1"),  # not a whole number
        (3, {"U1": 8}, {"U1": 2}, None),  # a respondent who answered nothing
        (-1, {}, {}, None),
    ],
)
def test_sums_no_survey_can_make_are_refused(respondents, totals, answers, element):
    with pytest.raises(IkmInputError) as caught:
        compute_ikm_totals(respondents, totals, answers)
    assert caught.value.element == element
