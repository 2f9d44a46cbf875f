"""Partners as answers: from the aggregate, or from the directory's row."""

from __future__ import annotations

from typing import Any

from adapters.sql import Row


def partner_json(partner: Any) -> dict[str, Any]:
    """A partner from its aggregate, in the directory's shape."""
    return {
        "id": str(partner.id),
        "name": partner.name,
        "email": partner.email,
        "company": partner.company,
        "type": partner.type,
        "country": partner.country,
        "status": partner.status,
        "status_reason": partner.status_reason,
        "tier": partner.tier,
        "plan_id": str(partner.plan_id) if partner.plan_id else None,
        "applied_at": partner.applied_at.isoformat(),
        "updated_at": partner.updated_at.isoformat(),
        "version": partner.version,
    }


def partner_row_json(row: Row) -> dict[str, Any]:
    """A partner from its directory row."""
    return {
        "id": row["partner_id"],
        "name": row["name"],
        "email": row["email"],
        "company": row["company"],
        "type": row["type"],
        "country": row["country"],
        "status": row["status"],
        "status_reason": row["status_reason"],
        "tier": row["tier"],
        "plan_id": row["plan_id"],
        "applied_at": row["applied_at"],
        "updated_at": row["updated_at"],
        "version": int(row["version"]),
    }
