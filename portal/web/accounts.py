"""Signing in to the web pages (Flask-Login). The pages themselves come with the
workspace; the API uses tokens, never this session."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask
from flask_login import LoginManager

from ..models import User
from ..services import database


@dataclass(frozen=True)
class SignedIn:
    """The signed-in user as the session knows it (views load the `User` row they need)."""

    id: int
    email: str
    display_name: str
    role: str
    is_active: bool = True
    is_authenticated: bool = True
    is_anonymous: bool = False

    def get_id(self) -> str:
        return str(self.id)


def init_accounts(app: Flask) -> None:
    manager = LoginManager(app)
    manager.session_protection = "strong"

    @manager.user_loader
    def load(user_id: str) -> SignedIn | None:
        if not user_id.isdigit():
            return None
        with database(app).sessions() as session:
            user = session.get(User, int(user_id))
            if user is None or not user.active:
                return None
            return SignedIn(user.id, user.email, user.display_name, user.role)
