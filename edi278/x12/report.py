"""What was found in an interchange, level by level, and the acknowledgement codes that
follow from it (TA104, AK901, IK501)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, MutableSequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from edi278.x12.faults import Fault, Level
from edi278.x12.segment import Segment
from edi278.x12.tokenizer import Header, Junk
from edi278.x12.values import is_digits

if TYPE_CHECKING:  # the syntax layer does not depend on the 278 model, it only carries it
    from edi278.model import Transaction
    from edi278.x12.compact import SetResults


@dataclass(slots=True)
class TransactionReport:
    identifier: str  # ST01
    control_number: str  # ST02
    convention: str  # ST03
    faults: tuple[Fault, ...] = ()
    request: Transaction | None = None  # an accepted X217 request, read for its response
    # The request as received (ST .. SE) in the interchange's delimiters, kept beside the
    # model so that it can be stored as it came: as text, a tenth of its segments' memory.
    text: str | None = None

    @property
    def accepted(self) -> bool:
        return not any(fault.fatal for fault in self.faults)

    @property
    def ack_code(self) -> str:  # IK501
        if not self.accepted:
            return "R"
        return "E" if self.faults else "A"

    def trailer_codes(self) -> list[str]:  # IK502..IK506
        codes = [f.code for f in self.faults if f.level is Level.TRANSACTION]
        return list(dict.fromkeys(codes))[:5]


@dataclass(slots=True)
class GroupReport:
    header: Segment  # GS
    trailer: Segment | None  # GE
    received: int  # transaction sets counted
    faults: list[Fault] = field(default_factory=list)
    # A list, or for an interchange of any size the compact SetResults (x12.compact).
    transactions: MutableSequence[TransactionReport] | SetResults = field(default_factory=list)
    # Requests taken but not held: an interchange of more than a few hundred is read
    # again, a batch at a time, when it is answered (InterchangeReport.requests_again).
    deferred: int = 0

    @property
    def rejected_as_a_whole(self) -> bool:
        return any(fault.level is Level.GROUP for fault in self.faults)

    @property
    def accepted_count(self) -> int:
        if self.rejected_as_a_whole:
            return 0
        return len(self.transactions) - sum(1 for t in self.notable() if not t.accepted)

    @property
    def included(self) -> int:  # AK902: what GE01 says, where it says a number
        stated = self.trailer.value(1) if self.trailer else ""
        return int(stated) if is_digits(stated) else self.received

    @property
    def ack_code(self) -> str:  # AK901
        accepted = self.accepted_count
        if self.rejected_as_a_whole or accepted == 0:
            return "R"
        if accepted < self.received:
            return "P"
        return "E" if any(t.faults for t in self.notable()) else "A"

    def trailer_codes(self) -> list[str]:  # AK905..AK909
        codes = [f.code for f in self.faults if f.level is Level.GROUP]
        return list(dict.fromkeys(codes))[:5]

    def taken(self) -> list[TransactionReport]:
        """The requests of this group that are decided: read, accepted, and in a group
        not rejected as a whole (a GE that does not match its GS rejects them all)."""
        if self.rejected_as_a_whole:
            return []
        return [t for t in self.notable() if t.accepted and t.request is not None]

    @property
    def request_count(self) -> int:
        """The requests of this group that are decided, held or deferred."""
        return len(self.taken()) + (0 if self.rejected_as_a_whole else self.deferred)

    def forget_requests(self) -> None:
        """Drop what was read of its requests once the group is rejected: nothing of it
        is decided, and the memory is free again."""
        for transaction in self.notable():
            transaction.request = transaction.text = None
        self.deferred = 0

    def defer_requests(self) -> None:
        """Drop the requests held so far, counting those that will be read again."""
        for transaction in self.notable():
            if transaction.request is not None:
                self.deferred += transaction.accepted
                transaction.request = transaction.text = None

    def notable(self) -> Iterable[TransactionReport]:
        """The sets that may carry a fault or a request, in order: all of them, or only
        those the compact results keep whole (every other is a fault-free set)."""
        others = getattr(self.transactions, "others", None)
        return self.transactions if others is None else others()


@dataclass(slots=True)
class InterchangeReport:
    header: Header | None  # None for bytes outside any interchange
    junk: Junk | None = None
    faults: list[Fault] = field(default_factory=list)
    groups: list[GroupReport] = field(default_factory=list)
    # Byte offsets of the interchange in its file, the end None for "to the end".
    span: tuple[int, int | None] = (0, None)
    # Acknowledgements received (TA1 segments, FA groups of 999s or 997s): they are
    # never acknowledged in turn, so they have no place in `groups`.
    acknowledgements: int = 0
    # Groups of a rejected interchange (not examined) and stray segments: anything but
    # acknowledgements, which makes the interchange more than an acknowledgement.
    other_content: int = 0
    # For an interchange whose requests were too many to hold (see GroupReport.deferred):
    # its taken requests read again from the source, in order, each with its group.
    requests_again: Callable[[], Iterator[tuple[GroupReport, TransactionReport]]] | None = None

    @property
    def deferred(self) -> bool:
        """Its requests are read again when answered, a batch at a time."""
        return self.accepted and any(group.deferred for group in self.groups)

    @property
    def acknowledgement_only(self) -> bool:
        """An interchange that carries acknowledgements and nothing else: recorded as
        received, answered with nothing at all, not even a TA1."""
        return (
            self.header is not None
            and not self.header.faults  # delimiters unsure: what it carries is unsure too
            and self.acknowledgements > 0
            and not self.groups
            and not self.other_content
        )

    @property
    def accepted(self) -> bool:
        return not any(fault.fatal for fault in self.faults)

    @property
    def ack_code(self) -> str:  # TA104
        if not self.accepted:
            return "R"
        return "E" if self.faults else "A"

    @property
    def note_code(self) -> str:  # TA105: the first fatal fault, else the first, else none
        for fault in sorted(self.faults, key=lambda f: not f.fatal):
            return fault.code
        return "000"

    @property
    def acknowledgment_requested(self) -> bool:
        return self.header is not None and self.header.segment.value(14) == "1"

    @property
    def needs_ta1(self) -> bool:
        if self.acknowledgement_only:
            return False
        return self.acknowledgment_requested or bool(self.faults)

    def all_faults(self) -> list[Fault]:
        faults = list(self.faults)
        for group in self.groups:
            faults.extend(group.faults)
            for transaction in group.notable():
                faults.extend(transaction.faults)
        return faults

    def taken(self) -> list[TransactionReport]:
        """The requests of this interchange that are decided: none when it is rejected,
        else those its groups took."""
        if not self.accepted:
            return []
        return [t for group in self.groups for t in group.taken()]

    def transaction_counts(self) -> tuple[int, int]:
        """(received, accepted) over the groups of this interchange."""
        received = sum(g.received for g in self.groups)
        accepted = sum(g.accepted_count for g in self.groups) if self.accepted else 0
        return received, accepted
