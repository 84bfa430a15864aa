"""The audit log: an append-only, hash-chained record of every change (see docs/operations.md).

    async with core.db.atomic():
        await Meeting.update({Meeting.state: "in_session"}).where(Meeting.id == 5)
        await audit.record(actor="user:3", action="meeting.open", entity="meeting:5",
                           before={"state": "draft"}, after={"state": "in_session"})
"""

from core.audit.log import VerifyResult, record, verify

__all__ = ["VerifyResult", "record", "verify"]
