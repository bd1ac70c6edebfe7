"""The satisfaction index (IKM, Indeks Kepuasan Masyarakat) of PermenPAN-RB No. 14 Tahun 2017.

``compute_ikm(responses)`` is the one place the index is computed; reports, exports and the API
call it, so they show the same numbers. Reports at national scale sum the scores in the database
and pass the sums to ``compute_ikm_totals``, the same computation after the counting (the index
depends on the responses only through the per-element sums and counts). Pure: no database, no
settings.

The rules (DOMAIN.md, "Satisfaction index"):
- Each response maps elements ``U1``..``U9`` to a score 1-4; elements a respondent left
  unanswered are left out of the mapping. A response with no answer at all is refused.
- ``NRR_u`` (nilai rata-rata per unsur) = sum of the scores of element u / number of respondents
  who answered u, rounded half-up to 4 decimals; reports print these 4-decimal values.
- The index is the mean of the nine NRRs with the exact weight 1/9 (not the regulation's printed
  0.111 or 0.11, which cap a perfect survey at 99.90 or 99.00), times 25 (range 25-100), rounded
  half-up to 2 decimals only at the end. Anyone re-adding the printed NRRs gets the same index.
- An element nobody answered has no NRR; the index then weighs the answered elements equally
  (1/k) and lists the missing ones in ``missing_elements``, so a small sample is not sunk by one
  empty element. With all nine answered, k = 9 as the regulation says.
- Grades from the converted index: A 88.31-100 Sangat Baik, B 76.61-88.30 Baik, C 65.00-76.60
  Kurang Baik, D 25.00-64.99 Tidak Baik; per element from the NRR: A >= 3.5324, B >= 3.0644,
  C >= 2.60, else D.
- No responses: a result with ``index`` None, never an exception.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from django.utils.translation import get_language
from django.utils.translation import gettext as _

from sync.vocabulary import IKM_ELEMENT_NAMES, IKM_ELEMENTS

__all__ = [
    "ELEMENTS",
    "Element",
    "ElementResult",
    "Grade",
    "IkmInputError",
    "IkmResult",
    "compute_ikm",
    "compute_ikm_totals",
]

SCALE: Final = 25  # conversion of the 1-4 unit value to 25-100
MIN_SCORE: Final = 1
MAX_SCORE: Final = 4


@dataclass(frozen=True, slots=True)
class Element:
    code: str
    name_id: str
    name_en: str

    @property
    def name(self) -> str:
        return self.name_en if (get_language() or "id").startswith("en") else self.name_id


# The elements and their official names are the shared vocabulary's (sync.vocabulary).
ELEMENTS: Final[tuple[Element, ...]] = tuple(
    Element(code, name_id, name_en) for code, (name_id, name_en) in IKM_ELEMENT_NAMES.items()
)


class Grade(enum.Enum):
    """Service quality grade (mutu pelayanan) with its thresholds."""

    A = ("A", Decimal("88.31"), Decimal("3.5324"), "Sangat Baik", "Very good")
    B = ("B", Decimal("76.61"), Decimal("3.0644"), "Baik", "Good")
    C = ("C", Decimal("65.00"), Decimal("2.60"), "Kurang Baik", "Poor")
    D = ("D", Decimal("25.00"), Decimal("1"), "Tidak Baik", "Very poor")

    def __init__(
        self, letter: str, min_index: Decimal, min_nrr: Decimal, label_id: str, label_en: str
    ) -> None:
        self.letter = letter
        self.min_index = min_index
        self.min_nrr = min_nrr
        self.label_id = label_id
        self.label_en = label_en

    @property
    def label(self) -> str:
        return self.label_en if (get_language() or "id").startswith("en") else self.label_id

    @classmethod
    def for_index(cls, index: Decimal) -> Grade:
        """Grade of a converted index (25-100, 2 decimals)."""
        for grade in (cls.A, cls.B, cls.C):
            if index >= grade.min_index:
                return grade
        return cls.D

    @classmethod
    def for_nrr(cls, nrr: Decimal) -> Grade:
        """Grade of one element's NRR (1-4)."""
        for grade in (cls.A, cls.B, cls.C):
            if nrr >= grade.min_nrr:
                return grade
        return cls.D


class IkmInputError(ValueError):
    """A response that cannot be counted; names the response (1-based), element and value."""

    def __init__(
        self, message: str, *, code: str, response: int, element: str | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.response = response
        self.element = element


@dataclass(frozen=True, slots=True)
class ElementResult:
    element: Element
    answers: int  # respondents who answered this element
    total: int  # sum of their scores
    nrr: Decimal | None  # 4 decimals; None when nobody answered
    weighted: Decimal | None  # NRR x weight, 4 decimals (display; the index uses exact values)
    converted: Decimal | None  # NRR x 25, 2 decimals, for per-element bars
    grade: Grade | None

    @property
    def code(self) -> str:
        return self.element.code


@dataclass(frozen=True, slots=True)
class IkmResult:
    respondents: int
    elements: tuple[ElementResult, ...]
    unit_value: Decimal | None  # weighted mean of the NRRs (1-4), 4 decimals, for display
    index: Decimal | None  # converted (25-100), 2 decimals
    grade: Grade | None
    missing_elements: tuple[str, ...]  # elements nobody answered

    def element(self, code: str) -> ElementResult:
        for result in self.elements:
            if result.code == code:
                return result
        raise KeyError(code)

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly (decimals as strings, so no float rounding creeps into exports)."""

        def text(value: Decimal | None) -> str | None:
            return None if value is None else str(value)

        def grade(value: Grade | None) -> dict[str, str] | None:
            if value is None:
                return None
            return {"letter": value.letter, "label_id": value.label_id, "label_en": value.label_en}

        return {
            "respondents": self.respondents,
            "unit_value": text(self.unit_value),
            "index": text(self.index),
            "grade": grade(self.grade),
            "missing_elements": list(self.missing_elements),
            "elements": [
                {
                    "code": e.code,
                    "name_id": e.element.name_id,
                    "name_en": e.element.name_en,
                    "answers": e.answers,
                    "total": e.total,
                    "nrr": text(e.nrr),
                    "weighted": text(e.weighted),
                    "converted": text(e.converted),
                    "grade": grade(e.grade),
                }
                for e in self.elements
            ],
        }


def _check(number: int, response: Any) -> dict[str, int]:
    if not isinstance(response, Mapping):
        raise IkmInputError(
            _("Response %(number)s is not a mapping of elements (U1..U9) to scores.")
            % {"number": number},
            code="not_a_mapping",
            response=number,
        )
    if not response:
        raise IkmInputError(
            _("Response %(number)s has no answers; leave it out instead.") % {"number": number},
            code="empty_response",
            response=number,
        )
    checked: dict[str, int] = {}
    for element, score in response.items():
        if element not in IKM_ELEMENTS:
            raise IkmInputError(
                _("Response %(number)s: %(element)s is not an IKM element; use U1 to U9.")
                % {"number": number, "element": repr(element)},
                code="unknown_element",
                response=number,
                element=str(element),
            )
        if not isinstance(score, int) or isinstance(score, bool):
            raise IkmInputError(
                _(
                    "Response %(number)s: the score of %(element)s must be a whole number "
                    "from 1 to 4, not %(value)s; leave unanswered elements out."
                )
                % {"number": number, "element": element, "value": repr(score)},
                code="not_an_integer",
                response=number,
                element=element,
            )
        if not MIN_SCORE <= score <= MAX_SCORE:
            raise IkmInputError(
                _("Response %(number)s: the score of %(element)s is %(value)s; it must be 1 to 4.")
                % {"number": number, "element": element, "value": score},
                code="out_of_range",
                response=number,
                element=element,
            )
        checked[element] = score
    return checked


def compute_ikm(responses: Iterable[Mapping[str, int]]) -> IkmResult:
    """The IKM of a set of survey responses (see the module's rules)."""
    if isinstance(responses, Mapping | str | bytes):
        raise IkmInputError(
            _("compute_ikm takes a list of responses, not a single %(kind)s.")
            % {"kind": type(responses).__name__},
            code="not_a_list",
            response=0,
        )
    totals = dict.fromkeys(IKM_ELEMENTS, 0)
    answers = dict.fromkeys(IKM_ELEMENTS, 0)
    respondents = 0
    for number, response in enumerate(responses, start=1):
        for element, score in _check(number, response).items():
            totals[element] += score
            answers[element] += 1
        respondents += 1
    return _result(respondents, totals, answers)


def compute_ikm_totals(
    respondents: int, totals: Mapping[str, int | None], answers: Mapping[str, int | None]
) -> IkmResult:
    """The IKM from what ``compute_ikm`` counts of the responses, summed elsewhere (a database's
    ``SUM`` and ``COUNT`` per element): ``respondents`` responses with at least one answer,
    ``totals[u]`` the sum of the scores given to element u, ``answers[u]`` how many answered it
    (a missing element or ``None``: nobody). Same rules, same exact result as ``compute_ikm``
    over the responses themselves; sums no set of 1-4 answers can make are refused."""
    if isinstance(respondents, bool) or not isinstance(respondents, int) or respondents < 0:
        raise IkmInputError(
            _("The number of respondents must be a whole number, not %(value)s.")
            % {"value": repr(respondents)},
            code="bad_total",
            response=0,
        )
    clean_totals = dict.fromkeys(IKM_ELEMENTS, 0)
    clean_answers = dict.fromkeys(IKM_ELEMENTS, 0)
    for element in sorted(set(totals) | set(answers)):
        if element not in IKM_ELEMENTS:
            raise IkmInputError(
                _("%(element)s is not an IKM element; use U1 to U9.") % {"element": repr(element)},
                code="unknown_element",
                response=0,
                element=str(element),
            )
        total, count = totals.get(element) or 0, answers.get(element) or 0
        if (
            not isinstance(total, int)
            or not isinstance(count, int)
            or isinstance(total, bool)
            or isinstance(count, bool)
            or not 0 <= count <= respondents
            or not MIN_SCORE * count <= total <= MAX_SCORE * count
        ):
            raise IkmInputError(
                _(
                    "%(element)s: %(count)s answers summing to %(total)s from %(respondents)s "
                    "respondents cannot come from scores of 1 to 4."
                )
                % {
                    "element": element,
                    "count": repr(count),
                    "total": repr(total),
                    "respondents": respondents,
                },
                code="bad_total",
                response=0,
                element=element,
            )
        clean_totals[element], clean_answers[element] = total, count
    if respondents > sum(clean_answers.values()):  # each respondent answered something
        raise IkmInputError(
            _("%(respondents)s respondents cannot have given only %(answers)s answers.")
            % {"respondents": respondents, "answers": sum(clean_answers.values())},
            code="bad_total",
            response=0,
        )
    return _result(respondents, clean_totals, clean_answers)


def _half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator (both >= 0, denominator > 0) rounded half up to a whole number,
    exactly (integers only: as fast as the report's hundreds of groups need, and no rounding
    before the one rounding)."""
    return (2 * numerator + denominator) // (2 * denominator)


def _decimal(units: int, places: int) -> Decimal:
    """``units`` of 10^-places as a Decimal printed with ``places`` decimals (3.5000, 87.50)."""
    return Decimal(units).scaleb(-places)


def _result(respondents: int, totals: dict[str, int], answers: dict[str, int]) -> IkmResult:
    """The figures from the sums, in whole units of 0.0001 (NRRs, weighted NRRs, unit value) and
    0.01 (converted values, index), each rounded half up once from the exact value:
    NRR = total / answers; weighted = NRR / k; converted = NRR x 25; unit = sum(NRR) / k;
    index = unit x 25 = sum(NRR) x 25 / k, with k the answered elements."""
    nrrs = {  # in 0.0001
        code: _half_up(totals[code] * 10_000, answers[code])
        for code in IKM_ELEMENTS
        if answers[code]
    }
    missing = tuple(code for code in IKM_ELEMENTS if not answers[code])
    k = len(nrrs)
    elements = []
    for element in ELEMENTS:
        units = nrrs.get(element.code)
        if units is None:
            elements.append(
                ElementResult(element, answers[element.code], totals[element.code], *[None] * 4)
            )
            continue
        nrr = _decimal(units, 4)
        elements.append(
            ElementResult(
                element=element,
                answers=answers[element.code],
                total=totals[element.code],
                nrr=nrr,
                weighted=_decimal(_half_up(units, k), 4),
                converted=_decimal(_half_up(units * SCALE, 100), 2),
                grade=Grade.for_nrr(nrr),
            )
        )
    if not nrrs:
        return IkmResult(respondents, tuple(elements), None, None, None, missing)
    total_units = sum(nrrs.values())
    index = _decimal(_half_up(total_units * SCALE, 100 * k), 2)
    return IkmResult(
        respondents=respondents,
        elements=tuple(elements),
        unit_value=_decimal(_half_up(total_units, k), 4),
        index=index,
        grade=Grade.for_index(index),
        missing_elements=missing,
    )
