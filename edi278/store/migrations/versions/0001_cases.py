"""Partners, interchanges and their answers, counters, cases, decisions, tracking
numbers and the audit log. Decisions and the audit log refuse UPDATE and DELETE.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

APPEND_ONLY = ("decisions", "audit_log")


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "trading_partners",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("isa_qualifier", sa.String(2), nullable=False),
        sa.Column("isa_id", sa.String(15), nullable=False),
        sa.Column("gs_code", sa.String(15), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("ta1_policy", sa.String(16), server_default="requested", nullable=False),
        sa.Column("send_999", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.UniqueConstraint("isa_qualifier", "isa_id"),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("partner_id", sa.Integer(), sa.ForeignKey("trading_partners.id"), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("label", sa.String(80), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("revoked_at", _utc()),
    )
    op.create_index(op.f("ix_api_keys_partner_id"), "api_keys", ["partner_id"])
    op.create_table(
        "interchanges",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("partner_id", sa.Integer(), sa.ForeignKey("trading_partners.id")),
        sa.Column("sender", sa.String(18)),
        sa.Column("control_number", sa.String(9)),
        sa.Column("group_control_numbers", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("received_at", _utc(), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("source", sa.String(255), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("claims_control_number", sa.Boolean(), nullable=False),
    )
    op.create_index(op.f("ix_interchanges_partner_id"), "interchanges", ["partner_id"])
    op.create_index(op.f("ix_interchanges_sha256"), "interchanges", ["sha256"])
    op.create_index(
        "uq_interchanges_sender_control_number",
        "interchanges",
        ["sender", "control_number"],
        unique=True,
        sqlite_where=sa.text("claims_control_number"),
        postgresql_where=sa.text("claims_control_number"),
    )
    op.create_table(
        "interchange_answers",
        sa.Column(
            "interchange_id", sa.Integer(), sa.ForeignKey("interchanges.id"), primary_key=True
        ),
        sa.Column("kind", sa.String(3), primary_key=True),
        sa.Column("content", sa.Text(), nullable=False),
    )
    op.create_table(
        "counters",
        sa.Column("name", sa.String(120), primary_key=True),
        sa.Column("value", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("interchange_id", sa.Integer(), sa.ForeignKey("interchanges.id"), nullable=False),
        sa.Column("sender", sa.String(18), nullable=False),
        sa.Column("transaction_control_number", sa.String(9), nullable=False),
        sa.Column("submitter_reference", sa.String(50), nullable=False),
        sa.Column("trace_number", sa.String(50)),
        sa.Column("trace_originator", sa.String(10)),
        sa.Column("requester_npi", sa.String(80)),
        sa.Column("requester_name", sa.String(120), nullable=False),
        sa.Column("member_id", sa.String(80)),
        sa.Column("member_last_name", sa.String(60), nullable=False),
        sa.Column("member_first_name", sa.String(35), nullable=False),
        sa.Column("member_birth_date", sa.Date()),
        sa.Column("patient_last_name", sa.String(60), nullable=False),
        sa.Column("patient_first_name", sa.String(35), nullable=False),
        sa.Column("patient_birth_date", sa.Date()),
        sa.Column("patient_is_dependent", sa.Boolean(), nullable=False),
        sa.Column("category", sa.String(2), nullable=False),
        sa.Column("certification_type", sa.String(1), nullable=False),
        sa.Column("service_type", sa.String(2)),
        sa.Column("level_of_service", sa.String(2)),
        sa.Column("urgency", sa.String(10), nullable=False),
        sa.Column("event_start", sa.Date()),
        sa.Column("event_end", sa.Date()),
        sa.Column("administrative_reference", sa.String(30), nullable=False, unique=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("received_at", _utc(), nullable=False),
        sa.Column("regulatory_due_at", _utc(), nullable=False),
        sa.Column("internal_pend_due_at", _utc()),
        sa.Column("core_info_request_due_at", _utc()),
        sa.Column("info_received_at", _utc()),
        sa.Column("core_final_due_at", _utc()),
        sa.Column("closeout_at", _utc()),
        sa.UniqueConstraint("sender", "submitter_reference", "trace_number", "trace_originator"),
    )
    op.create_index(op.f("ix_cases_interchange_id"), "cases", ["interchange_id"])
    op.create_index(op.f("ix_cases_member_id"), "cases", ["member_id"])
    op.create_index("ix_cases_member_name", "cases", ["member_last_name", "member_first_name"])
    op.create_index("ix_cases_patient_name", "cases", ["patient_last_name", "patient_first_name"])
    op.create_table(
        "case_providers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("loop_id", sa.String(6), nullable=False),
        sa.Column("role", sa.String(3), nullable=False),
        sa.Column("npi", sa.String(80)),
        sa.Column("name", sa.String(120), nullable=False),
    )
    op.create_index(op.f("ix_case_providers_case_id"), "case_providers", ["case_id"])
    op.create_index(op.f("ix_case_providers_npi"), "case_providers", ["npi"])
    op.create_table(
        "service_lines",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("line_number", sa.Integer(), nullable=False),
        sa.Column("trace_number", sa.String(50)),
        sa.Column("procedure", sa.String(60)),
        sa.Column("service_type", sa.String(2)),
        sa.Column("quantity", sa.String(15)),
        sa.Column("unit", sa.String(2)),
        sa.Column("start_date", sa.Date()),
        sa.Column("end_date", sa.Date()),
        sa.UniqueConstraint("case_id", "line_number"),
    )
    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("service_line_id", sa.Integer(), sa.ForeignKey("service_lines.id")),
        sa.Column("action", sa.String(2), nullable=False),
        sa.Column("reason", sa.String(2), nullable=False),
        sa.Column("certification_number", sa.String(30)),
        sa.Column("administrative_reference", sa.String(30)),
        sa.Column("message", sa.String(264), nullable=False),
        sa.Column("issued", sa.Date()),
        sa.Column("effective", sa.Date()),
        sa.Column("expires", sa.Date()),
        sa.Column("decided_at", _utc(), nullable=False),
        sa.Column("decided_by", sa.String(64), nullable=False),
    )
    op.create_index(op.f("ix_decisions_case_id"), "decisions", ["case_id"])
    op.create_table(
        "tracking_numbers",
        sa.Column("number", sa.String(30), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("issued_at", _utc(), nullable=False),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id")),
        sa.UniqueConstraint("kind", "sequence"),
    )
    op.create_index(op.f("ix_tracking_numbers_case_id"), "tracking_numbers", ["case_id"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("at", _utc(), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(48), nullable=False),
        sa.Column("object_type", sa.String(32), nullable=False),
        sa.Column("object_id", sa.String(64), nullable=False),
        sa.Column("interchange_id", sa.Integer()),
        sa.Column("case_id", sa.Integer()),
        sa.Column("detail", sa.String(500), nullable=False),
    )
    op.create_index(op.f("ix_audit_log_interchange_id"), "audit_log", ["interchange_id"])
    op.create_index(op.f("ix_audit_log_case_id"), "audit_log", ["case_id"])
    _forbid_changes(APPEND_ONLY)


def _forbid_changes(tables: tuple[str, ...]) -> None:
    """History is only ever added to: the database itself refuses UPDATE and DELETE."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION edi278_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$"
        )
        for table in tables:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION edi278_append_only()"
            )
        return
    for table in tables:
        for change in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{change.lower()} BEFORE {change} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )


def downgrade() -> None:
    for table in (
        "audit_log",
        "tracking_numbers",
        "decisions",
        "service_lines",
        "case_providers",
        "cases",
        "counters",
        "interchange_answers",
        "interchanges",
        "api_keys",
        "trading_partners",
    ):
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION edi278_append_only()")
