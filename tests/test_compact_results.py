"""The compact per-set results of a group read back exactly what was put in, and find a
repeated control number exactly as a set of strings would."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from edi278.x12.compact import SeenControlNumbers, SetResults
from edi278.x12.faults import ik5
from edi278.x12.report import GroupReport, TransactionReport
from edi278.x12.segment import Segment

control_numbers = st.one_of(
    st.integers(0, 10**9).map(str),
    st.integers(0, 9999).map(lambda n: f"{n:04d}"),  # leading zeros: "0001" is not "1"
    st.text(alphabet="0123456789AZ٣ ", min_size=0, max_size=20),  # not all digits
    st.integers(0, 10**19).map(str),  # wider than a key holds
)
faults = st.sampled_from([(), (ik5("23", "repeats"),)])
entries = st.tuples(
    st.sampled_from(["278", "999", "27", ""]),
    control_numbers,
    st.sampled_from(["005010X217", "005010X215", ""]),
    faults,
)


@given(st.lists(entries, max_size=60))
def test_set_results_read_back_what_was_appended(appended: list) -> None:
    reports = [TransactionReport(*entry) for entry in appended]
    results = SetResults()
    for report in reports:
        results.append(report)
    assert len(results) == len(reports)
    assert list(results) == reports
    assert [results[i] for i in range(len(reports))] == reports
    if reports:
        assert results[-1] == reports[-1]
        assert results[1:3] == reports[1:3]
    with_faults = [r for r in reports if r.faults]
    assert [r for r in results.others() if r.faults] == with_faults


def test_a_set_kept_whole_is_the_same_object_so_forgetting_a_request_sticks() -> None:
    results = SetResults()
    read = TransactionReport("278", "0002", "005010X217", request=object())  # type: ignore[arg-type]
    results.append(TransactionReport("278", "0001", "005010X217"))
    results.append(read)
    group = GroupReport(Segment.of("GS", "HI"), None, 2, transactions=results)
    assert group.taken() == [read]
    group.forget_requests()
    assert results[1].request is None and group.taken() == []


def test_a_group_over_compact_results_counts_and_codes_as_over_a_list() -> None:
    reports = [
        TransactionReport("278", f"{n:04d}", "005010X217", (ik5("5", "bad"),) if n % 3 else ())
        for n in range(1, 10)
    ]
    compact = SetResults()
    for report in reports:
        compact.append(report)
    gs = Segment.of("GS", "HI", "A", "B", "20261207", "1200", "1", "X", "005010X217")
    as_list = GroupReport(gs, None, len(reports), transactions=list(reports))
    as_compact = GroupReport(gs, None, len(reports), transactions=compact)
    assert as_compact.accepted_count == as_list.accepted_count == 3
    assert as_compact.ack_code == as_list.ack_code == "P"


@given(st.lists(control_numbers, max_size=80))
def test_seen_control_numbers_finds_repeats_as_a_set_does(numbers: list[str]) -> None:
    seen, plain = SeenControlNumbers(), set()
    for number in numbers:
        assert (number in seen) == (number in plain), number
        seen.add(number)
        plain.add(number)
    for number in numbers:
        assert number in seen


def test_growing_numbers_are_kept_in_order_and_a_late_repeat_is_found() -> None:
    seen = SeenControlNumbers()
    for n in range(1, 5001):
        seen.add(f"{n:04d}")
    assert "0001" in seen and "2500" in seen and "5000" in seen
    assert "1" not in seen and "5001" not in seen and "00001" not in seen
