"""Generated 278 request workloads for the benchmarks: N distinct, decidable requests.

    .venv/bin/python benchmarks/workloads.py 1000 var/bench/requests-1000.x12   # write one
    .venv/bin/python benchmarks/workloads.py --size-mb 20 var/bench/size-20mb.x12
    .venv/bin/python benchmarks/workloads.py --one-interchange 100000 var/bench/one-100000.x12

The requests are the determination samples (44: the X217 requests) of samples/requests/
in rotation (every provider in them is in samples/reference/, so each request is
decided), each with its own BHT03 and TRN02s so that none is a duplicate of another. So
that the 100th copy of a sample is not a business duplicate of the first (same patient,
service and dates: A3 0Q), the patient of a sample whose subscriber is an eligible
member is another eligible subscriber of samples/reference/ of the same sex in every
round of them, and the dates of service move on by 31 days for each sample asking the
same service as another and again each time the members have all had their turn (100,000
requests reach about 16 years on). They are framed as stream_memory.py frames its sets:
interchanges of 5 to 12 transaction sets, each with its own control numbers, the
delimiters rotating per interchange over stream_memory.STYLES (the terminator is always
`~`, so a plain split counts the segments the reader finds). With one_interchange
(--one-interchange) the same requests come as one interchange of one functional group,
the shape many clearinghouses send at night, written set by set in chunks (a 1 GiB file
is never text in memory): its ISA and GS, the sets, its GE and IEA. GE01 has at most six
digits, so past GROUP_MAX sets (about 550 MB) the interchange holds further groups of
GROUP_MAX sets each; still one ISA and one IEA. One request in FAULT_EVERY carries a
guide fault (a bad code, an element too long, a missing required segment, a bad date, a
segment the guide does not know), so that the validators have findings to agree on; the
first request of a file is always valid."""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from stream_memory import STYLES, Style, _sets_in, templates

ROOT = Path(__file__).resolve().parent.parent
REQUESTS = ROOT / "samples" / "requests"
REFERENCE = ROOT / "samples" / "reference"
BENCH_DIR = ROOT / "var" / "bench"
GENERATOR_VERSION = 4  # bump when the bytes a given call writes change: cached files go stale
FAULT_EVERY = 100  # request numbers n with n % FAULT_EVERY == FAULT_AT carry a fault
FAULT_AT = 50
WRITE_CHUNK = 8 << 20
GROUP_MAX = 999_999  # GE01 is numeric of at most 6 digits: the most sets a group may count
MB = 1 << 20

# --- the requests -----------------------------------------------------------------------


def _sample_bodies() -> list[tuple[str, list[str]]]:
    """(file name, the segments between ST and SE) of each sample request, with `*` as
    element and `:` as component separator."""
    bodies = []
    for path in sorted(REQUESTS.glob("*.x12")):
        if "*005010X217~" not in path.read_text():
            continue  # the X215 inquiries and X216 notices: not requests for review
        texts = [s.strip() for s in path.read_text().split("~") if s.strip()]
        start = next(i for i, s in enumerate(texts) if s.startswith("ST*"))
        end = next(i for i, s in enumerate(texts) if s.startswith("SE*"))
        bodies.append((path.name, texts[start + 1 : end]))
    return bodies


def _eligible_subscribers() -> dict[str, dict[str, str]]:
    """Subscribers with open-ended coverage in samples/reference/, by member ID."""
    with open(REFERENCE / "eligibility.csv", newline="") as f:
        open_ended = {row["member_id"] for row in csv.DictReader(f) if not row["end_date"]}
    with open(REFERENCE / "members.csv", newline="") as f:
        return {
            row["member_id"]: row
            for row in csv.DictReader(f)
            if row["relationship"] == "subscriber" and row["member_id"] in open_ended
        }


def _distinct(body: list[str], substitute: bool) -> list[str]:
    """The body as a format string: BHT03 and every TRN02 carry `{serial}` (at most
    20 + 1 + 12 characters of the 50 allowed), each DTP03 `{dN}`, and with `substitute`
    the subscriber's name, ID and birth date `{last}`, `{first}`, `{member}`, `{dob}`."""
    out = []
    dates = 0
    for text in body:
        elements = text.replace("{", "{{").replace("}", "}}").split("*")
        head = elements[0]
        if head in ("BHT", "TRN"):
            index = 3 if head == "BHT" else 2
            value = elements[index]
            stem = value.replace("20261120", "") if "20261120" in value else value[:20]
            elements[index] = stem + "X{serial}"
        elif head == "DTP":
            elements[3] = f"{{d{dates}}}"
            dates += 1
        elif substitute and head == "NM1" and elements[1] == "IL":
            elements[3], elements[4], elements[9] = "{last}", "{first}", "{member}"
        elif substitute and head == "DMG":
            elements[2] = "{dob}"
        out.append("*".join(elements))
    return out


def _service(body: list[str]) -> tuple[str, ...]:
    """What the duplicate rule compares besides patient and dates: the procedures asked
    for, or the event's service type when no line names one."""
    procedures = tuple(t.split("*")[1] for t in body if t[:4] in ("SV1*", "SV2*", "SV3*"))
    if procedures:
        return procedures
    return tuple(t.split("*")[3] for t in body if t.startswith("UM*") and t.count("*") >= 3)[:1]


def _later(value: str, days: int) -> str:
    """A D8 or RD8 value moved `days` later."""
    moved = (date(int(v[:4]), int(v[4:6]), int(v[6:8])) + timedelta(days) for v in value.split("-"))
    return "-".join(f"{d:%Y%m%d}" for d in moved)


def _replace_element(body: list[str], segment: str, index: int, value: str) -> list[str]:
    """Element `index` of the first segment starting with `segment`."""
    out, done = [], False
    for text in body:
        if not done and text.startswith(segment):
            elements = text.split("*")
            elements[index] = value
            text, done = "*".join(elements), True
        out.append(text)
    assert done, f"no {segment} to change"
    return out


# Each turns a valid body into one with a guide fault, the envelope left intact.
FAULTS: dict[str, Callable[[list[str]], list[str]]] = {
    "bad code (UM01)": lambda body: _replace_element(body, "UM*", 1, "ZZ"),
    "element too long (NM103)": lambda body: _replace_element(body, "NM1*IL*", 3, "X" * 61),
    "required segment missing (2010A NM1)": lambda body: [
        text for text in body if not text.startswith("NM1*X3*")
    ],
    "bad date (BHT04)": lambda body: _replace_element(body, "BHT*", 4, "20261332"),
    "unknown segment": lambda body: [*body[:1], "ZZZ*1", *body[1:]],
}


@dataclass(frozen=True, slots=True)
class Workload:
    """What a generated file holds."""

    path: str
    bytes: int
    interchanges: int
    transactions: int
    segments: int
    faulty: int  # requests carrying a guide fault
    first_interchange: int  # ISA13 of the first interchange; the rest follow in order


class Requests:
    """Transaction-set and interchange text, per delimiter style, ready to format."""

    def __init__(self) -> None:
        bodies = _sample_bodies()
        self.samples = [name for name, _ in bodies]
        subscribers = _eligible_subscribers()
        by_sex: dict[str, list[dict[str, str]]] = {}
        for row in subscribers.values():
            by_sex.setdefault(row["gender"], []).append(row)
        # Who stands in for each sample's subscriber (None: the sample's own patient stays,
        # as when it names a dependent or someone not on file or not eligible).
        self.pools: list[list[dict[str, str]] | None] = []
        self.dates: list[list[str]] = []
        self.offsets: list[int] = []  # a sample's place among those asking the same service
        services: dict[tuple[str, ...], int] = {}
        valid, faulty = [], []
        for _, body in bodies:
            member = next(t.split("*")[9] for t in body if t.startswith("NM1*IL*"))
            birth = next((t.split("*")[2] for t in body if t.startswith("DMG*")), "")
            dependent = any(t.startswith("HL*") and t.split("*")[3] == "23" for t in body)
            known = subscribers.get(member)
            standing = known and not dependent and known["birth_date"].replace("-", "") == birth
            pool = by_sex[known["gender"]] if standing else None
            self.pools.append(pool)
            service = _service(body)
            self.offsets.append(services.get(service, 0) if pool else 0)
            services[service] = services.get(service, 0) + bool(pool)
            self.dates.append([t.split("*")[3] for t in body if t.startswith("DTP*")])
            valid.append(_distinct(body, pool is not None))
            faulty.append([fault(valid[-1]) for fault in FAULTS.values()])
        self.epoch = max(len(pool) for pool in self.pools if pool)  # rounds per date move
        self.spread = max(services.values())  # date moves per epoch: one per same service
        self.framing = [templates(style) for style in STYLES]
        self.valid = [[self._set(style, b) for b in valid] for style in STYLES]
        self.faulty = [[[self._set(style, b) for b in fs] for fs in faulty] for style in STYLES]
        self.valid_segments = [len(b) + 2 for b in valid]
        self.faulty_segments = [[len(b) + 2 for b in fs] for fs in faulty]

    @lru_cache(maxsize=4096)  # noqa: B019 - one generator per file, a bounded cache
    def fields(self, sample: int, round_: int) -> dict[str, str]:
        """What fills sample `sample`'s placeholders in round `round_` (one per sample)."""
        pool = self.pools[sample]
        epoch = round_ // (len(pool) if pool else self.epoch)
        days = (epoch * self.spread + self.offsets[sample]) * 31
        fields = {f"d{n}": _later(value, days) for n, value in enumerate(self.dates[sample])}
        if pool:
            row = pool[(round_ + 7 * sample) % len(pool)]
            fields.update(
                last=row["last_name"],
                first=row["first_name"],
                member=row["member_id"],
                dob=row["birth_date"].replace("-", ""),
            )
        return fields

    @staticmethod
    def _set(style: Style, body: list[str]) -> str:
        end = style.terminator + style.line_break
        table = str.maketrans({"*": style.element, ":": style.component})
        texts = ["ST*278*{st}*005010X217", *body, f"SE*{len(body) + 2}*{{st}}"]
        return "".join(text.translate(table) + end for text in texts)

    def transaction(self, style: int, serial: int, control: str) -> tuple[str, int, bool]:
        """Request number `serial` (1-based, over the whole file): its text, its segment
        count, and whether it carries a fault."""
        round_, sample = divmod(serial - 1, len(self.samples))
        fields = self.fields(sample, round_)
        number = f"{serial:012d}"
        if serial % FAULT_EVERY == FAULT_AT:
            kind = (serial // FAULT_EVERY) % len(FAULTS)
            text = self.faulty[style][sample][kind].format(st=control, serial=number, **fields)
            return text, self.faulty_segments[sample][kind], True
        text = self.valid[style][sample].format(st=control, serial=number, **fields)
        return text, self.valid_segments[sample], False

    def interchange(
        self, number: int, first_serial: int, sets: int, style: int | None = None
    ) -> tuple[str, int, int]:
        """Interchange `number` (ISA13, GS06) with requests first_serial.. : its text,
        segment count and faulty requests. The style rotates with `number` unless given."""
        style = (number - 1) % len(STYLES) if style is None else style
        frame = self.framing[style]
        control, group = f"{number:09d}", str(number)
        parts, segments, faulty = [], 4, 0
        for n in range(sets):
            text, count, bad = self.transaction(style, first_serial + n, f"{n + 1:04d}")
            parts.append(text)
            segments += count
            faulty += bad
        text = (
            frame.isa.format(ctl=control)
            + frame.group.format(gs=group)
            + "".join(parts)
            + frame.trailers.format(sets=sets, gs=group, ctl=control)
        )
        return text, segments, faulty


def single_requests(count: int, first_interchange: int, first_serial: int) -> list[bytes]:
    """`count` interchanges of one valid request each (for the HTTP API), delimiters
    `*:^~`, ISA13 from `first_interchange` and request numbers from `first_serial` up
    (skipping those that would carry a fault)."""
    requests = Requests()
    serials = (s for s in range(first_serial, 1 << 62) if s % FAULT_EVERY != FAULT_AT)
    return [
        requests.interchange(first_interchange + n, serial, 1, style=0)[0].encode("latin-1")
        for n, serial in zip(range(count), serials, strict=False)
    ]


# --- files ------------------------------------------------------------------------------


def generate(
    path: Path,
    transactions: int | None = None,
    size: int | None = None,
    first_interchange: int = 1,
    first_serial: int = 1,
    one_interchange: bool = False,
) -> Workload:
    """Write `transactions` requests, or exactly `size` bytes (whole interchanges, the
    last one shortened to fit, then newlines), under a temporary name first. ISA13s
    count from `first_interchange`, request numbers (BHT03, TRN02) from `first_serial`.
    With `one_interchange` all of them are the sets of one interchange (ISA13
    `first_interchange`), of one group up to GROUP_MAX sets; by size, as many whole sets
    as fit with the trailers, then newlines.
    A file written before by the same call is reused: its description sits beside it."""
    assert (transactions is None) != (size is None), "a count or a size"
    described = path.with_name(path.name + ".json")
    wanted = {
        "version": GENERATOR_VERSION,
        "transactions": transactions,
        "size": size,
        "first_interchange": first_interchange,
        "first_serial": first_serial,
    }
    if one_interchange:  # only then: the files of the other calls stay described as before
        wanted["one_interchange"] = True
    if path.exists() and described.exists():
        known = json.loads(described.read_text())
        if known.get("wanted") == wanted and known["workload"]["bytes"] == path.stat().st_size:
            return Workload(**known["workload"])
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    try:
        write = _write_one if one_interchange else _write
        workload = write(temporary, path, transactions, size, first_interchange, first_serial)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    os.replace(temporary, path)
    described.write_text(json.dumps({"wanted": wanted, "workload": asdict(workload)}, indent=1))
    return workload


def _write(
    out_path: Path,
    path: Path,
    transactions: int | None,
    size: int | None,
    first: int,
    first_serial: int,
) -> Workload:
    requests = Requests()
    counts = {"interchanges": 0, "transactions": 0, "segments": 0, "faulty": 0, "bytes": 0}
    remaining_bytes = size if size is not None else -1
    with open(out_path, "wb") as out:
        buffer: list[str] = []
        buffered = 0
        while transactions is None or counts["transactions"] < transactions:
            number = first + counts["interchanges"]
            sets = _sets_in(number)
            if transactions is not None:
                sets = min(sets, transactions - counts["transactions"])
            serial = first_serial + counts["transactions"]
            text, segments, faulty = requests.interchange(number, serial, sets)
            while size is not None and len(text) > remaining_bytes and sets > 1:
                sets -= 1  # only ever at the very end
                text, segments, faulty = requests.interchange(number, serial, sets)
            if size is not None and len(text) > remaining_bytes:
                break
            buffer.append(text)
            buffered += len(text)
            remaining_bytes -= len(text)
            counts["interchanges"] += 1
            counts["transactions"] += sets
            counts["segments"] += segments
            counts["faulty"] += faulty
            counts["bytes"] += len(text)
            if buffered >= WRITE_CHUNK:
                out.write("".join(buffer).encode("latin-1"))
                buffer, buffered = [], 0
        if size is not None:
            buffer.append("\n" * remaining_bytes)
            counts["bytes"] += remaining_bytes
        out.write("".join(buffer).encode("latin-1"))
    return Workload(str(path), first_interchange=first, **counts)


def _write_one(
    out_path: Path,
    path: Path,
    transactions: int | None,
    size: int | None,
    number: int,
    first_serial: int,
) -> Workload:
    """One interchange, ISA13 and GS06 `number` as Requests.interchange frames it (same
    templates, same delimiter style), its sets written in chunks of WRITE_CHUNK. A group
    is closed at GROUP_MAX sets and the next opened with GS06 one more."""
    requests = Requests()
    style = (number - 1) % len(STYLES)
    frame = requests.framing[style]
    e, end = STYLES[style].element, STYLES[style].terminator + STYLES[style].line_break
    control = f"{number:09d}"
    ge_template = frame.trailers[: frame.trailers.index(end) + len(end)]  # GE*{sets}*{gs}~

    def ge(sets: int, group: int) -> str:
        return ge_template.format(sets=sets, gs=str(number + group))

    def iea(groups: int) -> str:
        return f"IEA{e}{groups}{e}{control}{end}"

    def gs(group: int) -> str:
        return frame.group.format(gs=str(number + group))

    counts = {"transactions": 0, "segments": 2, "faulty": 0}  # ISA and IEA
    written = 0
    with open(out_path, "wb") as out:
        buffer = [frame.isa.format(ctl=control)]
        buffered = len(buffer[0])
        group, in_group = 0, 0  # the open group (0-based) and its sets so far
        while transactions is None or counts["transactions"] < transactions:
            first, full = counts["transactions"] == 0, in_group == GROUP_MAX
            now = group + full  # the group this set goes in
            opening = (ge(in_group, group) if full else "") + (gs(now) if first or full else "")
            place = 1 if full else in_group + 1  # its place in its group: ST02
            serial = first_serial + counts["transactions"]
            text, segments, bad = requests.transaction(style, serial, f"{place:04d}")
            if size is not None:
                closing = len(ge(place, now)) + len(iea(now + 1))
                if written + buffered + len(opening) + len(text) + closing > size:
                    break
            buffer += [opening, text]
            buffered += len(opening) + len(text)
            group, in_group = now, place
            counts["transactions"] += 1
            counts["segments"] += segments + first + 2 * full  # GS; or GE and GS
            counts["faulty"] += bad
            if buffered >= WRITE_CHUNK:
                out.write("".join(buffer).encode("latin-1"))
                written, buffer, buffered = written + buffered, [], 0
        assert counts["transactions"], "not even one set fits"
        buffer += [ge(in_group, group), iea(group + 1)]
        counts["segments"] += 1  # the last GE
        text = "".join(buffer)
        written += len(text)
        if size is not None:
            text += "\n" * (size - written)
        out.write(text.encode("latin-1"))
    return Workload(
        str(path),
        bytes=size if size is not None else written,
        interchanges=1,
        first_interchange=number,
        **counts,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("transactions", nargs="?", type=int, help="how many requests")
    parser.add_argument("path", type=Path, help="the file to write")
    parser.add_argument("--size-mb", type=int, help="exactly this many MiB instead of a count")
    parser.add_argument(
        "--one-interchange",
        action="store_true",
        help="every request in one interchange of one group (GE01 allowing)",
    )
    args = parser.parse_args(argv)
    if (args.transactions is None) == (args.size_mb is None):
        parser.error("give a number of requests or --size-mb")
    size = args.size_mb * MB if args.size_mb else None
    workload = generate(args.path, args.transactions, size, one_interchange=args.one_interchange)
    print(json.dumps(asdict(workload)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
