"""Access: accounts, API tokens, applications for conditional data, grants and the
data they serve, usage reports, openness downgrades, and the audit log.

Every right is checked here (`rights.py`), per action, so the web pages and the API
cannot disagree; every security-relevant event is appended to the audit log in the
same transaction as the event itself.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.orm import Session

from schemas import GradePolicy

from ..outbound import Outbound
from . import rights
from .accounts import Accounts
from .applications import Applications
from .audit import AuditLog
from .checkpoints import CheckpointLog
from .files import FileStore
from .grants import Download, Grants, metered
from .stewardship import Stewardship
from .tokens import Caller, Tokens


@dataclass
class Access:
    session: Session
    policy: GradePolicy
    files: FileStore
    anchor: CheckpointLog | None = None
    holidays: Collection[date] = field(default_factory=tuple)
    outbound: Outbound = field(default_factory=Outbound)
    secret: str = ""  # signs the known-device marks of sign-in

    @property
    def audit(self) -> AuditLog:
        return AuditLog(self.session, self.anchor)

    @property
    def accounts(self) -> Accounts:
        return Accounts(self.session, self.audit, self.secret)

    @property
    def tokens(self) -> Tokens:
        return Tokens(self.session, self.audit)

    @property
    def applications(self) -> Applications:
        return Applications(self.session, self.audit, self.holidays)

    @property
    def grants(self) -> Grants:
        return Grants(self.session, self.audit, self.files, self.outbound)

    @property
    def stewardship(self) -> Stewardship:
        return Stewardship(self.session, self.audit, self.policy, self.files)


__all__ = ["Access", "AuditLog", "Caller", "Download", "FileStore", "metered", "rights"]
