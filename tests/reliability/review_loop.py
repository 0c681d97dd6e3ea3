"""A child process for the kill test: applications submitted and reviewed one step at a
time, each step its own transaction, through the access services, until it is killed.

    python tests/reliability/review_loop.py DATABASE_URL INSTANCE_PATH COUNT

Needs the users and datasets of `tests/access/conftest.py`'s `world`.
"""

from __future__ import annotations

import sys
from typing import Any

from sqlalchemy import select

from portal import create_app
from portal.models import Dataset, User
from portal.services import access, database

DATASET = "card-swipes"


def _user(session: Any, who: str) -> User:
    return session.scalars(select(User).where(User.email == f"{who}@example.cn")).one()


def steps(number: int, resources: list[str]) -> list[tuple[str, str, dict[str, Any]]]:
    """(who, action, body) for application `number`: every path through the review."""
    submit = {
        "dataset": DATASET,
        "resources": resources,
        "purpose": f"研究客流 #{number}",
        "scenario": "线路优化",
        "term_days": 30,
        "quota_calls": 10,
        "commitment_accepted": True,
    }
    ending = number % 4
    if ending == 3:  # the authority returns it at the formality check
        return [
            ("enterprise", "submit", submit),
            ("authority", "formality", {"decision": "return", "reason": "缺少盖章页"}),
        ]
    decision: dict[str, Any] = (
        {"decision": "approve", "quota_calls": 5}
        if ending in (0, 1)
        else {"decision": "reject", "reason": "用途不明确"}
    )
    return [
        ("enterprise", "submit", submit),
        ("authority", "formality", {"decision": "pass"}),
        ("officer", "decide", decision),
    ]


def main(url: str, instance: str, count: int) -> None:
    app = create_app({"instance_path": instance, "database_url": url})
    db = database(app)
    with db.sessions() as session:
        dataset = session.scalars(select(Dataset).where(Dataset.name == DATASET)).one()
        resources = sorted(r.id for r in dataset.resources)
    for number in range(count):
        application_id: int | None = None
        for who, action, body in steps(number, resources):
            with db.transaction() as session:
                services = access(session, app).applications
                user = _user(session, who)
                if action == "submit":
                    application_id = services.submit(user, body, ip="127.0.0.1").id
                else:
                    assert application_id is not None
                    getattr(services, action)(user, application_id, body, ip="127.0.0.1")
    print("done", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
