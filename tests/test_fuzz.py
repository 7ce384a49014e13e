"""Hostile bytes through the whole path (syntax, guide, engine, store): sample and corpus
files mutated (byte flips, segments dropped or repeated, delimiters swapped, truncation,
huge elements, deep HL chains) are each answered with a TA1, a 999 or a 278, and never
raise."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from edi278.channels import answer_bytes, intake_for
from edi278.clock import fixed_clock
from edi278.ig import Guide
from edi278.store.database import open_database
from edi278.store.reference import load_reference
from tests.conftest import NOW

ROOT = Path(__file__).parents[1]
SEEDS = sorted(
    [*(ROOT / "samples" / "requests").glob("*.x12"), *(ROOT / "samples" / "inbox").iterdir()]
)
GUIDE = Guide()


@pytest.fixture(scope="module")
def intake(tmp_path_factory):
    engine = open_database(f"sqlite:///{tmp_path_factory.mktemp('fuzz')}/fuzz.db")
    load_reference(engine, ROOT / "samples" / "reference")
    yield intake_for(engine, "fuzz", "fuzz")
    engine.dispose()


def _segments(data: bytes) -> tuple[list[bytes], bytes]:
    terminator = data[105:106] or b"~"
    return data.split(terminator), terminator


@st.composite
def mutated(draw) -> bytes:
    data = draw(st.sampled_from(SEEDS)).read_bytes()
    for _ in range(draw(st.integers(1, 3))):
        # Mostly inside the transaction set, where the guide and the engine work; now and
        # then the envelope.
        kind = draw(st.sampled_from(["flip", "drop", "repeat", "huge", "hl"] * 3
                                    + ["swap", "truncate", "envelope-flip"]))  # fmt: skip
        segments, terminator = _segments(data)
        inside = (4, max(len(segments) - 5, 4))  # after ISA, GS, ST, BHT; before SE, GE, IEA
        index = draw(st.integers(*inside)) if kind != "truncate" else 0
        if kind in ("flip", "envelope-flip") and len(data) > 200:
            low = 0 if kind == "envelope-flip" else 200
            at = draw(st.integers(low, len(data) - 1))
            data = data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1 :]
        elif kind == "drop":
            data = terminator.join(segments[:index] + segments[index + 1 :])
        elif kind == "repeat":
            data = terminator.join(segments[: index + 1] + segments[index:])
        elif kind == "swap" and len(data) > 105:
            old, new = data[3:4], draw(st.sampled_from([b"|", b"^", b":", b"~", b"*", b"!"]))
            data = data.replace(old, new)
        elif kind == "truncate":
            data = data[: draw(st.integers(0, len(data)))]
        elif kind == "huge":
            segments.insert(index, b"MSG*" + b"A" * draw(st.integers(1000, 200_000)))
            data = terminator.join(segments)
        elif kind == "hl":
            chain = [b"HL*%d*%d*EV*1" % (n, n - 1) for n in range(5, 5 + draw(st.integers(1, 400)))]
            data = terminator.join(segments[:index] + chain + segments[index:])
    return data


NUMBERS = iter(range(500_000_000, 999_999_999))


def fresh_control_number(data: bytes) -> bytes:
    """A new ISA13 (and IEA02) for each example: the same control number with other bytes
    would be a duplicate (TA1 025), which would stop most examples at the envelope."""
    if not data.startswith(b"ISA") or len(data) < 106:
        return data
    old, new = data[90:99], b"%09d" % next(NUMBERS)
    return data[:90] + new + data[99:].replace(old, new)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=mutated())
def test_every_mutated_input_is_answered_and_nothing_raises(intake, data):
    answers = answer_bytes(intake, GUIDE, fresh_control_number(data), "fuzz", fixed_clock(NOW))
    assert answers, "even an empty input gets a TA1"
    for answer in answers:
        sent = answer.acknowledgements
        assert sent.ta1 or sent.functional or sent.responses
        event("278" if sent.responses else "999" if sent.functional else "TA1 only")
        for text in filter(None, (sent.ta1, sent.functional, sent.responses)):
            # written with the sender's delimiters, whatever they are (DEL included): the
            # answer ends with the terminator its own ISA announces, then perhaps a newline
            terminator = text[105]
            assert text.startswith("ISA") and text.endswith(
                (terminator, terminator + "\n", terminator + "\r\n")
            )
