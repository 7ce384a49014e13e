"""The audit log: who did what to which object, when. Append-only (the database refuses
changes); `detail` carries codes and counts, never names, IDs or segments."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from edi278.store.tables import audit_log


def audit_many(connection: Connection, entries: list[dict[str, object]]) -> None:
    """Entries with the keys of `audit`'s arguments, in one statement."""
    if entries:
        connection.execute(
            audit_log.insert(),
            [{"interchange_id": None, "case_id": None, "detail": "", **entry} for entry in entries],
        )


def audit(
    connection: Connection,
    at: datetime,
    actor: str,
    action: str,
    object_type: str,
    object_id: object,
    detail: str = "",
    interchange_id: int | None = None,
    case_id: int | None = None,
) -> None:
    connection.execute(
        audit_log.insert(),
        {
            "at": at,
            "actor": actor,
            "action": action,
            "object_type": object_type,
            "object_id": str(object_id),
            "interchange_id": interchange_id,
            "case_id": case_id,
            "detail": detail[:500],
        },
    )
