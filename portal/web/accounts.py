"""Accounts on the web pages (Flask-Login): enterprise registration, sign-in and sign-out,
password reset by a one-time link sent by mail. The API uses tokens, never this session.

Field errors are bilingual messages (`{"zh", "en"}`) whether they come from the forms
here or from the account services, and are shown next to their field.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, flash, redirect, render_template, request, url_for
from flask import session as web_session
from flask.typing import ResponseReturnValue
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy.exc import IntegrityError
from wtforms import BooleanField, EmailField, Field, HiddenField, PasswordField, StringField
from wtforms.validators import StopValidation, ValidationError

from schemas import Message, message

from .. import guard
from ..catalog.errors import Conflict, Forbidden, Invalid, Unauthenticated
from ..mail import send_mail
from ..models import User
from ..services import access, database, settings
from .site import blueprint

Errors = dict[str, list[Message]]

ROLE_LABELS: dict[str, Message] = {
    "enterprise": message("企业用户", "Enterprise"),
    "officer": message("部门数据官", "Data officer"),
    "authority": message("数据主管部门", "Data authority"),
    "operator": message("平台运营方", "Operator"),
    "admin": message("管理员", "Administrator"),
}
LOGIN_MESSAGE = message("请先登录", "Please sign in to see this page.")  # shown by bi()
BAD_LINK = message("重置链接无效或已过期", "The reset link is invalid or expired.")
TAKEN = message("该邮箱已注册", "This e-mail is registered.")
RESET_SUBJECT = "重置密码 Reset your password · 青岛市公共数据开放平台"
RESET_BODY = """\
{name}，您好：

我们收到了重置您在青岛市公共数据开放平台的账户密码的请求。
请在 1 小时内打开下面的链接设置新密码，链接只能使用一次：

{link}

如果这不是您本人的操作，请忽略本邮件，您的密码不会改变。

Hello {name},

Someone asked to reset the password of your account on the Qingdao Public Data portal.
Open the link below within 1 hour to choose a new password; the link works only once:

{link}

If it was not you, ignore this mail: your password stays as it is.

青岛市公共数据开放平台 · Qingdao Public Data
"""

EXPIRED_FORM = message("表单已过期，请刷新页面后重试", "The form expired; reload the page.")


@dataclass(frozen=True)
class SignedIn:
    """The signed-in user as the session knows it (views load the `User` row they need)."""

    id: int
    email: str
    display_name: str
    role: str
    stamp: str  # of the password the session was opened with, see `password_stamp`
    is_active: bool = True
    is_authenticated: bool = True
    is_anonymous: bool = False

    def get_id(self) -> str:
        return f"{self.id}:{self.stamp}"

    @classmethod
    def of(cls, user: User) -> SignedIn:
        return cls(user.id, user.email, user.display_name, user.role, password_stamp(user))


def password_stamp(user: User) -> str:
    """A digest of the stored password hash: kept in the session cookie, it ends every
    session opened before the password changed (a reset after a stolen password)."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def init_accounts(app: Flask) -> None:
    manager = LoginManager(app)
    manager.session_protection = "strong"
    manager.login_view = "web.login"
    manager.login_message = LOGIN_MESSAGE
    manager.login_message_category = "info"

    @manager.user_loader
    def load(session_id: str) -> SignedIn | None:
        user_id, _, stamp = session_id.partition(":")
        if not user_id.isdigit() or len(user_id) > 10:
            return None
        with database(app).sessions() as session:
            user = access(session, app).accounts.find(int(user_id))
            if user is None or not user.active or stamp != password_stamp(user):
                return None  # gone, disabled, or the password changed since sign-in
            return SignedIn.of(user)

    # Per-IP limit shared with the API's token endpoint: guessing passwords, and mailing
    # reset links to someone over and over.
    limit = app.extensions["portal.login_limit"]
    for endpoint in ("web.login", "web.forgot_password"):
        app.view_functions[endpoint] = limit(app.view_functions[endpoint])


# Forms. WTForms keeps whatever object a validator raises with, so the messages stay
# {"zh", "en"} dicts like the services' and render the same way.


class Required:
    # Also the HTML `required` attribute (the forms are `novalidate`: our messages show).
    field_flags: ClassVar[dict[str, bool]] = {"required": True}

    def __init__(self, zh: str, en: str) -> None:
        self.message = message(zh, en)

    def __call__(self, form: FlaskForm, field: Field) -> None:
        data = field.data
        if not data or (isinstance(data, str) and not data.strip()):
            field.errors[:] = []
            raise StopValidation(self.message)


class MaxLength:
    def __init__(self, limit: int) -> None:
        self.limit = limit

    def __call__(self, form: FlaskForm, field: Field) -> None:
        if field.data and len(field.data) > self.limit:
            raise ValidationError(
                message(f"最多 {self.limit} 个字符", f"Use at most {self.limit} characters.")
            )


class SameAs:
    def __init__(self, other: str) -> None:
        self.other = other

    def __call__(self, form: FlaskForm, field: Field) -> None:
        if field.data != form[self.other].data:
            raise ValidationError(message("两次输入的密码不一致", "The passwords do not match."))


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


_EMAIL = [Required("请填写邮箱", "Enter your e-mail address."), MaxLength(254)]
_PASSWORD_MAX = MaxLength(1000)  # hashing costs the same, but no megabyte "passwords"


class RegisterForm(FlaskForm):
    email = EmailField(validators=_EMAIL, filters=[_strip])
    display_name = StringField(validators=[MaxLength(200)], filters=[_strip])
    enterprise_name = StringField(
        validators=[Required("请填写企业名称", "Enter the enterprise's name."), MaxLength(200)],
        filters=[_strip],
    )
    enterprise_uscc = StringField(
        validators=[Required("请填写统一社会信用代码", "Enter the unified social credit code.")],
        filters=[_strip, _upper],
    )
    password = PasswordField(
        validators=[Required("请设置密码", "Choose a password."), _PASSWORD_MAX]
    )
    password_confirm = PasswordField(
        validators=[Required("请再次输入密码", "Enter the password again."), SameAs("password")]
    )
    accept_terms = BooleanField(
        validators=[Required("请阅读并同意用户协议", "Accept the terms of use to register.")]
    )


class LoginForm(FlaskForm):
    email = EmailField(validators=_EMAIL, filters=[_strip])
    password = PasswordField(validators=[Required("请填写密码", "Enter your password.")])
    next = HiddenField()


class ForgotForm(FlaskForm):
    email = EmailField(validators=_EMAIL, filters=[_strip])


class ResetForm(FlaskForm):
    password = PasswordField(
        validators=[Required("请设置新密码", "Choose a new password."), _PASSWORD_MAX]
    )
    password_confirm = PasswordField(
        validators=[
            Required("请再次输入新密码", "Enter the new password again."),
            SameAs("password"),
        ]
    )


def form_errors(form: FlaskForm) -> Errors:
    """The form's errors by field; anything not about a shown field goes under "_"."""
    errors: Errors = {}
    for name, items in form.errors.items():
        if name == "csrf_token":  # only if CSRFProtect let it through; Flask-WTF's are English
            errors.setdefault("_", []).append(EXPIRED_FORM)
            continue
        key = name if isinstance(name, str) and name in form else "_"
        errors.setdefault(key, []).extend(
            m if isinstance(m, Mapping) else message(str(m), str(m)) for m in items
        )
    return errors


def service_errors(errors: Mapping[str, Any], form: FlaskForm) -> Errors:
    """A service's field errors placed on the form's fields ("_" for the others)."""
    out: Errors = {}
    for name, items in errors.items():
        key = name if name in form and name != "next" else "_"
        out.setdefault(key, []).extend(items if isinstance(items, list) else [items])
    return out


def safe_next(target: str | None) -> str | None:
    """`target` if it is a path on this site, else None: never `//host`, `/\\host` or a
    URL with a scheme, which would send the user (and a fresh session) elsewhere."""
    if not target or len(target) > 2000:
        return None
    if "\\" in target or any(ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return None  # browsers read "\" as "/" and drop tabs and newlines
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _ip() -> str | None:
    return request.remote_addr


def _page(template: str, status: int = 200, **context: Any) -> ResponseReturnValue:
    return render_template(template, **context), status


def _private(response: ResponseReturnValue) -> Response:
    """No caching, and no Referer to other sites (a reset URL carries its token). Not
    `no-referrer`: Flask-WTF wants the Referer on posts over https (WTF_CSRF_SSL_STRICT)."""
    made = current_app.make_response(response)
    made.headers["Cache-Control"] = "no-store"
    made.headers["Referrer-Policy"] = "same-origin"
    return made


# Pages.


@blueprint.route("/register", methods=["GET", "POST"])
@guard.public
def register() -> ResponseReturnValue:
    form = RegisterForm()
    if not form.is_submitted():
        return _page("accounts/register.html", form=form, errors={})
    if not form.validate():
        return _page("accounts/register.html", 422, form=form, errors=form_errors(form))
    data = {
        "email": form.email.data,
        "password": form.password.data,
        "display_name": form.display_name.data or None,
        "enterprise_name": form.enterprise_name.data,
        "enterprise_uscc": form.enterprise_uscc.data,
    }
    try:
        with database().transaction() as session:
            access(session).accounts.register_enterprise(data, ip=_ip())
    except (Invalid, Conflict) as error:  # rolled back: no account
        errors = service_errors(error.errors, form)
        return _page("accounts/register.html", error.status, form=form, errors=errors)
    except IntegrityError:  # the same e-mail registered at the same moment
        return _page("accounts/register.html", 409, form=form, errors={"email": [TAKEN]})
    flash(message("注册成功，请登录", "You are registered; sign in now."), "success")
    return redirect(url_for("web.login"))


@blueprint.route("/login", methods=["GET", "POST"])
@guard.public
def login() -> ResponseReturnValue:
    form = LoginForm(next=safe_next(request.args.get("next")) or "")
    if not form.is_submitted():
        if current_user.is_authenticated:
            return redirect(safe_next(form.next.data) or url_for("web.account"))
        return _page("accounts/login.html", form=form, errors={})
    if not form.validate():
        return _page("accounts/login.html", 422, form=form, errors=form_errors(form))
    outcome: SignedIn | Unauthenticated | Forbidden
    # Failed attempts count towards the lock and are audited: commit them too.
    with database().transaction() as session:
        try:
            user = access(session).accounts.authenticate(
                form.email.data or "", form.password.data or "", ip=_ip()
            )
        except (Unauthenticated, Forbidden) as error:
            outcome = error
        else:
            outcome = SignedIn.of(user)
    if not isinstance(outcome, SignedIn):
        errors = service_errors(outcome.errors, form)
        return _page("accounts/login.html", outcome.status, form=form, errors=errors)
    web_session.clear()  # a new session on sign-in: no fixation of one planted earlier
    login_user(outcome)
    return redirect(safe_next(form.next.data) or url_for("web.account"))


@blueprint.post("/logout")
@guard.public  # signed in or not, the session ends
def logout() -> ResponseReturnValue:
    # POST only, with the CSRF token: a link or an <img> elsewhere cannot sign anyone out.
    if current_user.is_authenticated:
        with database().transaction() as session:
            access(session).accounts.sign_out(int(current_user.id), ip=request.remote_addr)
    logout_user()
    web_session.clear()
    flash(message("您已退出登录", "You have signed out."), "success")
    return redirect(url_for("web.login"))


@blueprint.get("/account")
@guard.signed_in()
def account() -> ResponseReturnValue:
    with database().sessions() as session:
        user = access(session).accounts.find(current_user.id)
        if user is None:  # deleted since the page before; the user loader saw it
            logout_user()
            return redirect(url_for("web.login"))
        organization = user.organization.title if user.organization else None
        page = render_template(
            "accounts/account.html",
            user=user,
            organization=organization,
            role=ROLE_LABELS.get(user.role, message(user.role, user.role)),
        )
    return _private(page)


@blueprint.route("/password/forgot", methods=["GET", "POST"])
@guard.public
def forgot_password() -> ResponseReturnValue:
    form = ForgotForm()
    if not form.is_submitted():
        return _page("accounts/forgot.html", form=form, errors={})
    if not form.validate():
        return _page("accounts/forgot.html", 422, form=form, errors=form_errors(form))
    recipient: tuple[str, str] | None = None
    with database().transaction() as session:
        accounts = access(session).accounts
        token = accounts.request_reset(form.email.data or "", ip=_ip())
        user = accounts.by_email(form.email.data or "") if token else None
        if token and user is not None:
            recipient = (user.email, user.display_name)
    if token and recipient:  # after the commit, so that the link works when it arrives
        _mail_reset_link(*recipient, token=token)
    # The same page whether or not the address has an account.
    return _page("accounts/forgot_sent.html")


def _mail_reset_link(email: str, name: str, *, token: str) -> None:
    # Never from the request's Host header when the public address is configured: a forged
    # Host would mail the victim a link to someone else's server, carrying the real token.
    public = settings().public_url.rstrip("/")
    path = url_for("web.reset_password", token=token)
    link = public + path if public else url_for("web.reset_password", token=token, _external=True)
    try:
        send_mail(email, RESET_SUBJECT, RESET_BODY.format(name=name, link=link))
    except Exception:
        # Logged, not shown: an error page here would tell who has an account.
        current_app.logger.exception("could not send the password-reset mail")


def _reset_usable(token: str) -> bool:
    """Whether the link can still be used, to say so before the form is filled in; the
    service checks again when it is sent."""
    with database().sessions() as session:
        return access(session).accounts.reset_usable(token)


@blueprint.route("/password/reset/<token>", methods=["GET", "POST"])
@guard.public  # the link's one-time token stands for the account
def reset_password(token: str) -> ResponseReturnValue:
    form = ResetForm()
    if not form.is_submitted():
        if not _reset_usable(token):
            return _private(_page("accounts/reset.html", 404, form=None, errors={"_": [BAD_LINK]}))
        return _private(_page("accounts/reset.html", form=form, errors={}))
    if not form.validate():
        return _private(_page("accounts/reset.html", 422, form=form, errors=form_errors(form)))
    try:
        with database().transaction() as session:
            access(session).accounts.reset_password(token, form.password.data or "", ip=_ip())
    except Invalid as error:
        errors = service_errors(error.errors, form)
        shown = form if "token" not in error.errors else None  # a dead link: no form
        return _private(_page("accounts/reset.html", error.status, form=shown, errors=errors))
    web_session.clear()  # whoever was signed in in this browser signs in afresh
    flash(message("密码已重置，请用新密码登录", "Password reset; sign in with it."), "success")
    return redirect(url_for("web.login"))
