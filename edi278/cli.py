"""The `edi278` command: thin click wrappers around the core and the batch shell.

Exit status: 0 when every input was answered (or is valid, for `validate`), 1 when
something could not be answered (or is invalid), 2 for bad usage.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import click
from rich.console import Console
from rich.table import Table

from edi278 import __version__, heap, log
from edi278.batch import input_files, process_file
from edi278.channels import answerer, foreign_senders, intake_for
from edi278.channels.folder import numbered, reason_file, watch, write_reason
from edi278.channels.worker import worker
from edi278.cli_channels import partner, serve, sftp
from edi278.cli_deliveries import deliveries
from edi278.cli_store import (
    DATABASE,
    POLICY,
    RECEIVED_AT,
    SENDERS,
    STATE_DIR,
    database,
    db,
    inquire,
    policy,
    received_time,
    reference,
    review,
    service_clock,
)
from edi278.cli_users import user
from edi278.ig import ENGINES, Guide
from edi278.intake import KEPT_DECIDED
from edi278.jsonform import JsonFormError, check_document, from_json, to_json
from edi278.outbox import sweep
from edi278.pipeline import examine
from edi278.progress import answering
from edi278.queue import HOLD, QUEUE, queue_files, queue_for
from edi278.reader import NotA278, read_transaction, transaction_sets
from edi278.writer import write_interchange
from edi278.x12.delimiters import Delimiters
from edi278.x12.reader import read_interchanges
from edi278.x12.segment import Segment
from edi278.x12.writer import encode, write
from edi278.xmlform import XmlFormError, from_xml, to_xml


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="edi278")
def main() -> None:
    """X12 278 (005010X217) health care services review: validate requests against the
    implementation guide, decide them by the payer's policy, answer them with TA1, 999
    and 278 responses, and look cases up; over files, folders, SFTP and HTTP."""
    log.configure()


ENGINE = click.option(
    "--engine",
    "engine_name",
    type=click.Choice(ENGINES),
    default="compiled",
    show_default=True,
    envvar="EDI278_ENGINE",
    help="Guide validator: the compiled one, or pyx12, the reference it is tested "
    "against (same findings, much slower). Env: EDI278_ENGINE.",
)


@main.command(short_help="Answer X12 files with 999s, TA1s and 278 responses.")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--outbox",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    envvar="EDI278_OUTBOX",
    help="Folder for the answers. Env: EDI278_OUTBOX.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON summary per input file.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing; the exit status tells.")
@SENDERS
@QUEUE
@HOLD
@ENGINE
@RECEIVED_AT
@STATE_DIR
@DATABASE
@POLICY
def process(
    paths: tuple[Path, ...],
    outbox: Path,
    as_json: bool,
    quiet: bool,
    senders: frozenset[str],
    queue: bool,
    engine_name: str,
    received_at: str | None,
    hold: Path | None,
    state_dir: Path,
    db_url: str | None,
    policy_path: Path | None,
) -> None:
    """Answer X12 files: for each input NAME.EXT write NAME.999 (one 999 per functional
    group), NAME.ta1 (when ISA14=1 or the envelope is rejected) and NAME.278 (a 278
    response to each request taken) into OUTBOX.

    Requests are decided by the payer's policy (--policy, default samples/policy.yaml);
    a table of each request's outcome, reason and tracking number follows the files
    (the first 200; --json lists the first 10,000 of each file and counts the rest).

    Everything is recorded in the database: each interchange and the answers sent for
    it, each case with its decisions and tracking numbers. An interchange received
    again byte for byte gets the same answers again and creates nothing (once one of
    its cases was decided since, a new 278 with the current decision); one that
    reuses a control number for other content gets a TA1 R 025. An answer already in
    OUTBOX byte for byte is not written again; an existing answer file is never
    overwritten: another answer to the same NAME is written as NAME-2.999. PATHS may
    be files or folders.

    With --sender (repeatable), the files are that partner's: one holding an
    interchange from any other sender is not processed at all, and OUTBOX/NAME.reason
    says why (the exit status is then 1).

    With --queue and PostgreSQL, each file is copied into the holding folder (--hold)
    and queued for `edi278 worker`, which answers it into OUTBOX; one line (or JSON
    object) per file says where it is held. On SQLite --queue answers the files here,
    as without it.

    \b
    Example:
      edi278 process samples/inbox --outbox var/outbox
    """
    rules = policy(policy_path)
    received = received_time(received_at, rules)
    engine = database(db_url, state_dir)
    intake = intake_for(engine, "file", "cli:process", rules)
    clock = service_clock()
    answer = answerer(intake, clock, received)
    queued_to = (
        queue_for(engine, hold or state_dir / "held", "file", clock, received) if queue else None
    )
    files = list(input_files(list(paths)))
    refused = _refused(files, senders, outbox, quiet, as_json)
    files = [path for path in files if path not in refused]
    if queued_to is not None:
        sys.exit(queue_files(queued_to, files, outbox, quiet, as_json) or int(bool(refused)))

    guide = Guide(engine=engine_name)
    guide.warm()
    heap.settle()  # the maps loaded with the rest: kept out of the collector's way
    totals = {"files": 0, "unanswered": 0, "received": 0, "accepted": 0, "decisions": 0}
    decided: list[tuple[str, dict[str, str]]] = []  # the table's rows
    listed = JSON_ROWS if as_json else 0 if quiet else TABLE_ROWS
    totals["files"] = totals["unanswered"] = len(refused)
    if outbox.is_dir():
        sweep(outbox)  # what runs killed before this one left half-written
    with answering(files, quiet or not sys.stderr.isatty()) as progress:
        for path in files:
            progress.file(path.stat().st_size)
            summary = process_file(path, outbox, answer, guide, listed, progress.interchange)
            room = max(TABLE_ROWS - len(decided), 0)
            decided += [(path.name, row) for row in summary.decided[:room]]
            totals["decisions"] += summary.decisions
            totals["files"] += 1
            totals["unanswered"] += not summary.answered
            totals["received"] += summary.received
            totals["accepted"] += summary.accepted
            if quiet:
                continue
            if as_json:
                progress.echo(json.dumps(summary.as_dict()))
            else:
                outputs = ", ".join(str(p) for p in summary.outputs.values()) or "nothing written"
                detail = summary.error or summary.line()
                progress.echo(f"{path}: {summary.status}: {detail} -> {outputs}")
    if not quiet and not as_json:
        if decided:
            _decisions_table(decided)
        if totals["decisions"] > len(decided):
            click.echo(
                f"(the first {len(decided)} of {totals['decisions']} decisions; "
                "--json lists them all)"
            )
        click.echo(
            f"{totals['files']} file(s): {totals['accepted']}/{totals['received']} transaction "
            f"set(s) accepted, {totals['unanswered']} file(s) unanswered; answers in {outbox}"
        )
    sys.exit(1 if totals["unanswered"] else 0)


TABLE_ROWS = 200  # decisions shown after a run; a batch of millions is summed up instead
# Decisions and faults a file's --json summary lists (the rest are counted): as many as
# an interchange answered a batch at a time keeps, so that memory stays bounded.
JSON_ROWS = KEPT_DECIDED


def _refused(
    files: list[Path], senders: frozenset[str], outbox: Path, quiet: bool, as_json: bool
) -> set[Path]:
    """The files holding an interchange from a sender other than --sender's, each given
    OUTBOX/NAME.reason and reported: none of them is processed."""
    refused = set()
    for path in files:
        why = foreign_senders(path, senders)
        if why is None:
            continue
        outbox.mkdir(parents=True, exist_ok=True)
        # Never over an earlier run's reason: NAME.reason, NAME-2.reason ...
        named = next(n for n in numbered(outbox / path.name) if not reason_file(n).exists())
        write_reason(named, why)
        refused.add(path)
        reason = reason_file(named)
        if as_json:
            shown = {"input": str(path), "status": "refused", "error": why, "reason": str(reason)}
            click.echo(json.dumps(shown))
        elif not quiet:
            click.echo(f"{path}: refused: {why} -> {reason}", err=True)
    return refused


def _decisions_table(decided: list[tuple[str, dict[str, str]]]) -> None:
    """What each request got: outcome, reason and tracking number, file by file."""
    console = Console() if sys.stdout.isatty() else Console(width=160)
    table = Table(header_style="bold", title="decisions")
    for heading in ("file", "request (TRN02)", "outcome", "reason", "number"):
        table.add_column(heading)
    for name, row in decided:
        table.add_row(name, row["trace_number"], row["outcome"], row["reason"], row["number"])
    console.print(table)


@main.command(short_help="Check X12 files against the envelope rules and the X217 guide.")
@click.argument(
    "paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per file.")
@ENGINE
def validate(paths: tuple[Path, ...], as_json: bool, engine_name: str) -> None:
    """Check X12 files and name every fault with its location and acknowledgement code.
    Exits 0 when every file is a valid interchange, 1 otherwise.

    \b
    Example:
      edi278 validate samples/inbox/referral.x12
    """
    all_valid = True
    guide = Guide(engine=engine_name)
    for path in paths:
        faults = []
        acknowledgements = 0  # interchanges of acknowledgements: received, not judged
        with open(path, "rb") as source:
            for report in examine(source, guide, read_requests=False):
                faults.extend(report.all_faults())
                acknowledgements += report.acknowledgement_only
        all_valid &= not faults
        if as_json:
            click.echo(
                json.dumps(
                    {
                        "path": str(path),
                        "valid": not faults,
                        "faults": [fault.as_dict() for fault in faults],
                    }
                )
            )
            continue
        said = "valid" if not faults else f"invalid, {len(faults)} fault(s)"
        if acknowledgements:
            said += f"; {acknowledgements} interchange(s) of acknowledgements, not judged"
        click.echo(f"{path}: {said}")
        for fault in faults:
            location = fault.location()
            click.echo(
                f"  {fault.ack_code()}{' at ' + location if location else ''}: {fault.message}"
            )
    sys.exit(0 if all_valid else 1)


@main.command(short_help="Print a 278 as JSON (one document per transaction set).")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["json", "xml", "segments", "x12"]),
    default="json",
    show_default=True,
    help="json: one JSON document per 278 transaction set (the JSON form, one per line); "
    "xml: the XML form, one document (schemas/278.xsd); segments: the generic envelope "
    "and segment tree; x12: the segments written back.",
)
def parse(path: Path, output_format: str) -> None:
    """Print an X12 file, streaming: each 278 transaction set in the JSON form of
    schemas/278-*.schema.json (one per guide and direction), one document per line;
    or the generic segment tree (bytes outside any interchange show as "junk"); or the
    segments written back. Exits 1 when a transaction set is not a readable 278 (run
    validate to see why).

    \b
    Example:
      edi278 parse samples/inbox/specialist-referral.x12 | python -m json.tool
    """
    stdout = sys.stdout.buffer  # bytes: the texts keep their own encoding (Latin-1)
    if output_format == "xml":
        with open(path, "rb") as source:
            documents = list(_transaction_documents(source, model=True))
        transactions = [d for d in documents if not isinstance(d, dict)]
        stdout.write(to_xml(transactions))
        stdout.flush()
        sys.exit(1 if len(transactions) < len(documents) else 0)
    if output_format == "json":
        unreadable = 0
        with open(path, "rb") as source:
            for document in _transaction_documents(source):
                unreadable += "error" in document
                stdout.write(encode(json.dumps(document) + "\n"))
        stdout.flush()
        sys.exit(1 if unreadable else 0)
    chunks = _json_chunks if output_format == "segments" else _x12_chunks
    with open(path, "rb") as source:
        for chunk in chunks(source):
            stdout.write(encode(chunk))
    stdout.flush()


def _transaction_documents(source: BinaryIO, model: bool = False) -> Iterator[Any]:
    """Each 278 transaction set as a JSON document (or, with `model`, as the model), or
    an error document for one that is not a readable 278."""
    for envelope, transaction in transaction_sets(source):
        try:
            if transaction.identifier != "278" or transaction.trailer is None:
                raise NotA278("not a complete 278 transaction set")
            read = read_transaction(transaction.segments)
        except NotA278 as error:
            yield {"control_number": transaction.control_number, "error": str(error)}
            continue
        read.envelope = envelope
        yield read if model else to_json(read)


@main.command(short_help="Turn the JSON or XML form of 278s back into X12.")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The X12 file to write (never overwritten).",
)
def build(path: Path, out: Path) -> None:
    """Turn a file of 278s in the JSON form (one document, or one per line, as parse
    writes them) or the XML form back into X12. Each document is checked against its
    JSON Schema (or schemas/278.xsd) first; the first fault is named with its place.

    \b
    Example:
      edi278 parse samples/inbox/specialist-referral.x12 > referral.json
      edi278 build referral.json --out referral.x12
    """
    try:
        data = path.read_bytes()
        if data.lstrip().startswith(b"<"):
            transactions = from_xml(data)
        else:
            documents = _json_documents(data.decode("utf-8"))
            transactions = [from_json(check_document(document)) for document in documents]
        text = write(write_interchange(transactions), Delimiters(line_break="\n"))
    except (JsonFormError, XmlFormError, ValueError, KeyError) as error:
        raise click.ClickException(f"{path}: {error}") from None
    if out.exists():
        raise click.ClickException(f"{out} exists; build never overwrites a file")
    out.write_bytes(encode(text))
    click.echo(f"{out}: {len(transactions)} transaction set(s)")


def _json_documents(text: str) -> list[dict[str, object]]:
    try:
        return [json.loads(text)]
    except json.JSONDecodeError:
        pass
    documents = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                documents.append(json.loads(line))
            except json.JSONDecodeError as error:
                raise JsonFormError(f"line {number} is not JSON: {error.msg}") from None
    return documents


def _x12_chunks(source: BinaryIO) -> Iterator[str]:
    """The envelopes and transaction sets written back with their own delimiters;
    bytes and segments outside that structure are left out."""
    for interchange in read_interchanges(source):
        if interchange.header is None:
            continue
        delimiters = interchange.header.delimiters
        yield write([interchange.isa], delimiters)
        for group in interchange.groups:
            yield write([group.header], delimiters)
            for transaction in group.transactions:
                yield write(transaction.segments, delimiters)
            yield write(filter(None, [group.trailer]), delimiters)
        yield write(filter(None, [interchange.trailer]), delimiters)


def _element_json(element: tuple[tuple[str, ...], ...]) -> object:
    def repetition(rep: tuple[str, ...]) -> object:
        return rep[0] if len(rep) == 1 else list(rep)

    if len(element) == 1:
        return repetition(element[0])
    return {"repetitions": [repetition(rep) for rep in element]}


def _segment_json(segment: Segment | None) -> str:
    if segment is None:
        return "null"
    return json.dumps(
        {
            "id": segment.id,
            "position": segment.file_segment,
            "offset": segment.offset,
            "elements": [_element_json(e) for e in segment.elements],
        }
    )


def _json_chunks(source: BinaryIO) -> Iterator[str]:
    yield '{"interchanges": ['
    for index, interchange in enumerate(read_interchanges(source)):
        yield ",\n" if index else "\n"
        if interchange.header is None:
            junk = interchange.junk
            assert junk is not None
            yield json.dumps(
                {"junk": {"offset": junk.offset, "length": junk.length, "reason": junk.reason}}
            )
            continue
        delimiters = interchange.header.delimiters
        yield '{"isa": ' + _segment_json(interchange.isa)
        yield ', "delimiters": ' + json.dumps(
            {
                "element": delimiters.element,
                "repetition": delimiters.repetition,
                "component": delimiters.component,
                "segment": delimiters.segment,
            }
        )
        yield ', "groups": ['
        for group_index, group in enumerate(interchange.groups):
            yield ",\n" if group_index else "\n"
            yield '{"gs": ' + _segment_json(group.header) + ', "transactions": ['
            for set_index, transaction in enumerate(group.transactions):
                yield ",\n" if set_index else "\n"
                yield '{"segments": [' + ",\n".join(map(_segment_json, transaction.segments))
                yield "]}"
            yield '], "ge": ' + _segment_json(group.trailer) + "}"
        yield '], "iea": ' + _segment_json(interchange.trailer) + "}"
    yield "\n]}\n"


main.add_command(db)
main.add_command(reference)
main.add_command(inquire)
main.add_command(review)
main.add_command(deliveries)
main.add_command(user)
main.add_command(serve)
main.add_command(partner)
main.add_command(sftp)
main.add_command(watch)
main.add_command(worker)

if __name__ == "__main__":
    main()
