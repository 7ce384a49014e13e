"""The schema, in SQLAlchemy Core: what the service remembers.

Migrations in `migrations/versions/` create exactly this; a test compares the two.
Timestamps are UTC. Decisions and the audit log are append-only: a change is a new row.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)


class UtcDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime in, an aware UTC datetime out, on every database (SQLite
    keeps no zone, so it is stored naive in UTC and given its zone back on reading)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if getattr(dialect, "name", "") == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# --- trading partners and what they sent -------------------------------------------------

partners = Table(
    "trading_partners",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("isa_qualifier", String(2), nullable=False),  # ISA05
    Column("isa_id", String(15), nullable=False),  # ISA06, unpadded
    Column("gs_code", String(15), nullable=False),  # GS02 they send under
    Column("name", String(120), nullable=False),
    # When a TA1 goes back: "requested" (ISA14=1 or a fault), "always", "errors" (faults only)
    Column("ta1_policy", String(16), nullable=False, server_default="requested"),
    Column("send_999", Boolean, nullable=False, server_default=text("true")),
    # Since 0006: false leaves IK404 (the copy of bad data) out of this partner's 999s.
    Column("copy_bad_data", Boolean, nullable=False, server_default=text("true")),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("isa_qualifier", "isa_id"),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("partner_id", ForeignKey("trading_partners.id"), nullable=False, index=True),
    Column("key_hash", String(64), nullable=False, unique=True),  # SHA-256 hex, never the key
    Column("label", String(80), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime),
    Column("role", String(16), nullable=False, server_default="partner"),  # since 0004
    Column("expires_at", UtcDateTime),  # since 0009: answered 401 from then on
    Column("hint", String(4)),  # since 0009: the key's last four characters, never more
)

# Since 0004: what an HTTP request with an Idempotency-Key was answered, to answer again.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("partner_id", ForeignKey("trading_partners.id"), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("request_sha256", String(64), nullable=False),
    Column("status", Integer, nullable=False),
    Column("media_type", String(80), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

interchanges = Table(
    "interchanges",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("partner_id", ForeignKey("trading_partners.id"), index=True),
    Column("sender", String(18)),  # "ISA05:ISA06"; none for bytes outside an envelope
    Column("control_number", String(9)),  # ISA13
    Column("group_control_numbers", Text, nullable=False),  # GS06s, comma-separated
    Column("sha256", String(64), nullable=False, index=True),
    Column("size", BigInteger, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("channel", String(16), nullable=False),  # file, sftp, http
    Column("source", String(255), nullable=False),  # file name or request id, never content
    # accepted | partially accepted | rejected | envelope rejected | duplicate, or
    # answering while a large one is answered in chunks (intake._answer_in_chunks), or
    # abandoned: left so, and its ISA13 sent again with other bytes
    Column("status", String(20), nullable=False),
    # While answering: its requests whose cases are committed, in file order (0012).
    Column("requests_done", Integer),
    # An interchange whose envelope was taken owns its ISA13 for that sender, forever.
    Column("claims_control_number", Boolean, nullable=False),
    Index(
        "uq_interchanges_sender_control_number",
        "sender",
        "control_number",
        unique=True,
        sqlite_where=text("claims_control_number"),
        postgresql_where=text("claims_control_number"),
    ),
    # Since 0007: every interchange sent under an ISA13, claiming it or not (the index
    # above is partial, so a lookup of them all cannot use it).
    Index("ix_interchanges_sender_control", "sender", "control_number"),
    # Since 0012: the few being answered in chunks, counted for /metrics.
    Index(
        "ix_interchanges_answering",
        "requests_done",
        sqlite_where=text("requests_done IS NOT NULL"),
        postgresql_where=text("requests_done IS NOT NULL"),
    ),
)

answers = Table(
    "interchange_answers",
    metadata,
    Column("interchange_id", ForeignKey("interchanges.id"), primary_key=True),
    Column("kind", String(3), primary_key=True),  # ta1, 999, 278
    Column("content", Text, nullable=False),  # the interchange sent back, replayed as is
)

# Since 0011: an answer longer than one part (store/interchanges.py:PART_CHARS) keeps its
# first part in interchange_answers.content and the rest here, numbered from 1.
answer_parts = Table(
    "interchange_answer_parts",
    metadata,
    Column("interchange_id", ForeignKey("interchanges.id"), primary_key=True),
    Column("kind", String(3), primary_key=True),
    Column("part", Integer, primary_key=True),  # 1, 2, ...
    Column("content", Text, nullable=False),
)

# Since 0005: each file taken in for a worker (`--queue`), with its job (one per file).
received_files = Table(
    "received_files",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("channel", String(16), nullable=False),  # file, folder, sftp
    Column("original_name", String(255), nullable=False),  # answers are named after it
    Column("source", String(255), nullable=False),  # recorded with its interchanges
    Column("held_at", String(1024), nullable=False, unique=True),  # the durable copy
    Column("sha256", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("outbox", String(1024), nullable=False),
    Column("status", String(16), nullable=False),  # queued | answered | failed
    Column("job_id", BigInteger),  # procrastinate's job
    Column("received_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime),
    Column("worker", String(64)),  # host:pid of the worker that answered it, or gave up
    Column("error", String(500)),  # why it failed: a type and a first line, never content
    Index("ix_received_files_status", "status"),
)

counters = Table(
    "counters",
    metadata,
    Column("name", String(120), primary_key=True),  # e.g. "ZZ:EDI278>ZZ:CLEARCO:group"
    Column("value", BigInteger, nullable=False),
)

# --- cases, service lines, decisions, tracking numbers -----------------------------------

cases = Table(
    "cases",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("interchange_id", ForeignKey("interchanges.id"), nullable=False, index=True),
    Column("sender", String(18), nullable=False),
    Column("transaction_control_number", String(9), nullable=False),  # ST02
    Column("submitter_reference", String(50), nullable=False),  # BHT03
    Column("trace_number", String(50)),  # 2000E TRN02; none: no TRN, no dedupe key
    Column("trace_originator", String(10)),  # 2000E TRN03
    Column("requester_npi", String(80)),  # 2010B NM109 (an NPI, or whatever ID was sent)
    Column("requester_name", String(120), nullable=False),
    Column("member_id", String(80)),  # 2010C NM109
    Column("member_last_name", String(60), nullable=False),
    Column("member_first_name", String(35), nullable=False),
    Column("member_birth_date", Date),
    Column("patient_last_name", String(60), nullable=False),  # 2010D, else the member
    Column("patient_first_name", String(35), nullable=False),
    Column("patient_birth_date", Date),
    Column("patient_is_dependent", Boolean, nullable=False),
    Column("category", String(2), nullable=False),  # UM01
    Column("certification_type", String(1), nullable=False),  # UM02
    Column("service_type", String(2)),  # UM03
    Column("level_of_service", String(2)),  # UM06
    Column("urgency", String(10), nullable=False),  # expedited | standard
    Column("event_start", Date),
    Column("event_end", Date),
    Column("administrative_reference", String(30), nullable=False, unique=True),  # REF NT
    # The latest event decision, in words, kept with it; since 0007 indexed (the review queue).
    Column("status", String(20), nullable=False, index=True),
    Column("received_at", UtcDateTime, nullable=False),
    Column("regulatory_due_at", UtcDateTime, nullable=False),
    Column("internal_pend_due_at", UtcDateTime),
    Column("core_info_request_due_at", UtcDateTime),
    Column("info_received_at", UtcDateTime),
    Column("core_final_due_at", UtcDateTime),
    Column("closeout_at", UtcDateTime),
    # Since 0003: the request as an interchange of its own (its ISA and GS, this set), so
    # that a reviewer's decision can be answered later as if it were answered now.
    Column("request", Text),
    UniqueConstraint("sender", "submitter_reference", "trace_number", "trace_originator"),
    Index("ix_cases_member_name", "member_last_name", "member_first_name"),
    # Since 0007: a member's cases whose dates meet a request's, for the duplicate check.
    Index("ix_cases_member_dates", "member_id", "event_end", "event_start"),
    Index("ix_cases_patient_name", "patient_last_name", "patient_first_name"),
    # Since 0013: a case by the trace number of its request (an X215 inquiry asks so).
    Index("ix_cases_trace", "trace_number", "trace_originator"),
)

case_providers = Table(
    "case_providers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", ForeignKey("cases.id"), nullable=False, index=True),
    Column("loop_id", String(6), nullable=False),  # 2010B, 2010EA, 2010FA
    Column("role", String(3), nullable=False),  # NM101
    Column("npi", String(80), index=True),
    Column("name", String(120), nullable=False),
)

service_lines = Table(
    "service_lines",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", ForeignKey("cases.id"), nullable=False),
    Column("line_number", Integer, nullable=False),  # 1-based, in request order
    Column("trace_number", String(50)),
    Column("procedure", String(60)),  # "HC:73721", "NU:0120"
    Column("service_type", String(2)),
    Column("quantity", String(15)),
    Column("unit", String(2)),
    Column("start_date", Date),
    Column("end_date", Date),
    UniqueConstraint("case_id", "line_number"),
)

decisions = Table(
    "decisions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("case_id", ForeignKey("cases.id"), nullable=False, index=True),
    Column("service_line_id", ForeignKey("service_lines.id")),  # none: the event itself
    Column("action", String(2), nullable=False),  # HCR01
    Column("reason", String(2), nullable=False),  # HCR03, "" when none
    Column("certification_number", String(30), index=True),  # HCR02; since 0007 indexed
    Column("administrative_reference", String(30)),  # the REF NT sent with it
    Column("message", String(264), nullable=False),  # MSG01, "" when none
    Column("issued", Date),
    Column("effective", Date),
    Column("expires", Date),
    Column("decided_at", UtcDateTime, nullable=False),
    Column("decided_by", String(64), nullable=False),  # "engine:<rule>", "reviewer:<id>"
    # Since 0003: the rest of what was answered, and why.
    Column("validation_loop", String(6)),  # an AAA's loop, with its follow-up code
    Column("follow_up", String(1)),
    Column("quantity", String(20)),  # certified HSD, "DY:3"
    Column("documents", String(100)),  # LOINC codes asked for, comma-separated
    Column("due_at", UtcDateTime),  # a pend's review due time
    Column("trace", Text),  # JSON: the rules that fired and the facts they read
    # Since 0008: the criteria a reviewer's decision rests on (required for a denial).
    Column("criteria", Text),
)

tracking_numbers = Table(
    "tracking_numbers",
    metadata,
    Column("number", String(30), primary_key=True),
    Column("kind", String(16), nullable=False),  # certification | reference
    Column("sequence", BigInteger, nullable=False),
    Column("issued_at", UtcDateTime, nullable=False),
    # Set once the case is stored; a number whose case never was stays burnt, unused.
    Column("case_id", ForeignKey("cases.id"), index=True),
    UniqueConstraint("kind", "sequence"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("action", String(48), nullable=False),
    Column("object_type", String(32), nullable=False),
    Column("object_id", String(64), nullable=False),
    Column("interchange_id", Integer, index=True),
    Column("case_id", Integer, index=True),
    Column("detail", String(500), nullable=False),  # codes and counts only, never PHI
)

# Since 0008: the people who use the service: reviewers deciding cases (nurse, medical
# director), operations staff, providers; the web application signs them in with the same
# rows. Passwords are kept only as argon2 hashes (store/users.py).
users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("role", String(24), nullable=False),  # nurse medical-director operations provider
    Column("partner_id", ForeignKey("trading_partners.id")),  # whose cases a provider sees
    Column("npi", String(10)),  # a provider's own NPI
    Column("password_hash", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("disabled_at", UtcDateTime),  # set: the user can neither sign in nor decide
    Column("failed_sign_ins", Integer, nullable=False, server_default="0"),
    Column("locked_until", UtcDateTime),
)

# Since 0014: where a partner's later answers go (a reviewer's decision made after the
# request was answered): a folder for file and folder requests, an HTTPS callback, signed
# with the partner's secret, for HTTP ones. SFTP requests go back through their mailbox.
partner_deliveries = Table(
    "partner_deliveries",
    metadata,
    Column("partner_id", ForeignKey("trading_partners.id"), primary_key=True),
    Column("outbox", String(1024)),  # an absolute folder; none: the command's --outbox
    Column("callback_url", String(2048)),  # https:// only; none: held for an X215 inquiry
    # The HMAC-SHA256 key of X-EDI278-Signature: kept, not hashed, to sign with.
    Column("callback_secret", String(128)),
    Column("updated_at", UtcDateTime, nullable=False),
)

# Since 0014: each final 278 that must still reach its requester, one per decision it
# carries (a reviewer's, made after the request was answered), recorded in the decision's
# transaction and sent by channels/deliveries.py. status: pending (due at
# next_attempt_at; a claim moves that on by a lease while it is sent), delivered, failed
# (attempts used up; `deliveries retry` puts it back), held (nowhere to send it: the
# partner's next X215 inquiry shows the decision, store/deliveries.py:shown_in_inquiry).
deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("decision_id", ForeignKey("decisions.id"), nullable=False, unique=True),
    Column("case_id", ForeignKey("cases.id"), nullable=False, index=True),
    Column("partner_id", ForeignKey("trading_partners.id")),
    Column("channel", String(16), nullable=False),  # file, folder, sftp, http: as it came
    Column("destination", String(2048)),  # a folder or an https URL; none while held
    Column("name", String(255), nullable=False),  # the file name: CASE.278, CASE-2.278 ...
    Column("content", Text, nullable=False),  # the 278 response interchange
    Column("status", String(10), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UtcDateTime),
    Column("last_error", String(500)),  # a type and a first line, never content
    Column("created_at", UtcDateTime, nullable=False),
    Column("delivered_at", UtcDateTime),
    Index("ix_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
)

# --- reference data: what decisions read (loaded from CSV, see samples/reference) --------

plans = Table(
    "plans",
    metadata,
    Column("plan_id", String(20), primary_key=True),
    Column("name", String(120), nullable=False),
    Column("product_type", String(10), nullable=False),  # HMO EPO IFP OAP PPO MEDICARE
    Column("medical_management", String(24), nullable=False),  # inpatient | inpatient-outpatient
    Column("referral_required", Boolean, nullable=False),
    Column("out_of_network_benefit", Boolean, nullable=False),
)

providers = Table(
    "providers",
    metadata,
    Column("npi", String(10), primary_key=True),
    Column("name", String(120), nullable=False),
    Column("kind", String(10), nullable=False),  # individual | facility
    Column("taxonomy", String(10), nullable=False),
    Column("cost_tier", Integer, nullable=False),  # 1 lowest cost
    # Since 0010: the group practice (an organisation's NPI) the provider belongs to.
    Column("group_npi", String(10)),
)

network_spans = Table(
    "network_spans",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("npi", ForeignKey("providers.npi"), nullable=False, index=True),
    Column("status", String(16), nullable=False),  # in-network | out-of-network
    Column("start_date", Date, nullable=False),
    Column("end_date", Date),  # none: open-ended
)

members = Table(
    "members",
    metadata,
    Column("member_id", String(30), primary_key=True),
    Column("subscriber_id", String(30), nullable=False, index=True),
    Column("relationship", String(10), nullable=False),  # subscriber spouse child other
    Column("last_name", String(60), nullable=False),
    Column("first_name", String(35), nullable=False),
    Column("birth_date", Date, nullable=False),
    Column("gender", String(1), nullable=False),
    Column("plan_id", ForeignKey("plans.plan_id"), nullable=False),
    Column("pcp_npi", ForeignKey("providers.npi")),
    Column("medicare_primary", Boolean, nullable=False),
    Column("medicare_product", String(12), nullable=False),  # "", original, risk, supplement
    Column("coordination_notes", String(500), nullable=False),
    # Since 0008: where letters go. Null for rows loaded before the columns existed.
    Column("address_line1", String(55)),
    Column("address_line2", String(55)),
    Column("city", String(30)),
    Column("state", String(2)),
    Column("zip", String(10)),
    # Since 0010: from this day Medicare's coverage is exhausted and the plan pays first.
    Column("medicare_exhausted_from", Date),
    Index("ix_members_name", "last_name", "first_name"),
)

eligibility_spans = Table(
    "eligibility_spans",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("member_id", ForeignKey("members.member_id"), nullable=False, index=True),
    Column("plan_id", ForeignKey("plans.plan_id"), nullable=False),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date),
)

# Since 0010: certifications the plan's previous system issued, by their number as issued
# (any format), honoured like ours when a request quotes one in REF BB.
reference_authorizations = Table(
    "reference_authorizations",
    metadata,
    Column("number", String(50), primary_key=True),
    Column("member_id", ForeignKey("members.member_id"), nullable=False, index=True),
    Column("service_type", String(2), nullable=False),  # UM03
    Column("procedures", String(200), nullable=False),  # codes, space-separated; "" none
    Column("facility_npi", String(10)),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date, nullable=False),
    Column("quantity", Integer),  # days, units or visits certified
    Column("unit", String(6), nullable=False),  # days | units | visits
    Column("status", String(10), nullable=False),  # certified | modified | cancelled
)

REFERENCE_TABLES = (
    plans,
    providers,
    network_spans,
    members,
    eligibility_spans,
    reference_authorizations,
)  # load order


def ours(name: str | None, type_: str, _parents: object = None) -> bool:
    """For Alembic's comparisons: procrastinate's tables (installed by 0005 on
    PostgreSQL) are its schema, not ours."""
    return not (type_ == "table" and (name or "").startswith("procrastinate_"))
