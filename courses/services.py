"""Writes for course runs: who is in a run and with what role, and the accounts that come with it.

Every function here is keyword-only and raises `ValidationError` (with a `code`) for what the
person asking did wrong, `PermissionDenied` for what they may not do. Emails leave only after the
transaction that made their reason commits, so a rolled-back import never mails a dead link.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMessage, get_connection
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _

from courses.models import CourseRun, Membership, Profile, new_invitation_code
from courses.selectors import run_can_manage

logger = logging.getLogger(__name__)

Role = Membership.Role

SIGNUP_SALT = "layerlab.signup-confirm"
ROSTER_MAX_BYTES = 1024 * 1024
EMAIL_MAX_LENGTH = 254  # the User model's email column

ROSTER_MAX_ROWS = 5000
NAME_MAX = 150


def invitation_code_normalise(code: str) -> str:
    """What a student types from a slide: any case, maybe with spaces or a dash between halves."""
    return re.sub(r"[\s\-]", "", code).upper()


def _run_for_code(code: str, *, member: AbstractBaseUser | None = None) -> CourseRun:
    """The run a code opens. A closed run still answers its own members (joining again is a
    no-op for them, not a refusal)."""
    normalised = invitation_code_normalise(code)
    run = None
    if normalised:
        run = CourseRun.objects.filter(invitation_code__iexact=normalised).first()
    if run is None:
        raise ValidationError(_("No course run has this invitation code."), code="wrong_code")
    if not run.joining_open and not (member is not None and run.memberships.filter(user=member).exists()):
        raise ValidationError(
            _("Joining “%(run)s” is closed. Ask your instructor.") % {"run": run.title}, code="joining_closed"
        )
    return run


def membership_join(*, user: AbstractBaseUser, code: str) -> Membership:
    """A student joins a run with its invitation code. Joining twice is harmless, and a member
    who already has a role (an assistant trying the code) keeps it: a code never demotes."""
    run = _run_for_code(code, member=user)
    membership, _created = Membership.objects.get_or_create(run=run, user=user)
    return membership


def membership_add(*, run: CourseRun, user: AbstractBaseUser, role: str) -> Membership:
    """Staff put someone in a run with a role on purpose, so an existing member gets that role
    (unlike joining by code, which never changes one)."""
    if role not in Role.values:
        raise ValidationError(_("“%(role)s” is not a role.") % {"role": role}, code="bad_role")
    membership, created = Membership.objects.get_or_create(run=run, user=user, defaults={"role": role})
    if not created and membership.role != role:
        membership.role = role
        membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def membership_role_set(*, actor: AbstractBaseUser, membership: Membership, role: str) -> Membership:
    """Only an instructor of the run (or a superuser) gives or takes staff roles, and a run never
    loses its last instructor: nobody would be left to manage it."""
    if not run_can_manage(actor, membership.run):
        raise PermissionDenied("Only an instructor of the run changes roles.")
    if role not in Role.values:
        raise ValidationError(_("“%(role)s” is not a role.") % {"role": role}, code="bad_role")
    locked = Membership.objects.select_for_update().get(pk=membership.pk)
    if locked.role == Role.INSTRUCTOR and role != Role.INSTRUCTOR:
        instructors = Membership.objects.select_for_update().filter(run=locked.run_id, role=Role.INSTRUCTOR)
        if len(list(instructors)) <= 1:
            raise ValidationError(
                _("%(user)s is the run's only instructor; make someone else an instructor first.")
                % {"user": locked.user.get_username()},
                code="last_instructor",
            )
    locked.role = role
    locked.save(update_fields=["role"])
    return locked


def run_invitation_regenerate(*, actor: AbstractBaseUser, run: CourseRun) -> CourseRun:
    """A leaked code is replaced; the old one stops working at once. Members stay members."""
    if not run_can_manage(actor, run):
        raise PermissionDenied("Only an instructor of the run changes its invitation code.")
    for _attempt in range(5):
        run.invitation_code = new_invitation_code()
        try:
            with transaction.atomic():
                run.save(update_fields=["invitation_code"])
        except IntegrityError:  # another run drew the same code: draw again
            continue
        return run
    raise RuntimeError("could not draw an unused invitation code")


def run_joining_set(*, actor: AbstractBaseUser, run: CourseRun, joining_open: bool) -> CourseRun:
    if not run_can_manage(actor, run):
        raise PermissionDenied("Only an instructor of the run opens or closes joining.")
    run.joining_open = joining_open
    run.save(update_fields=["joining_open"])
    return run


# Accounts -------------------------------------------------------------------------------------


def _send_after_commit(messages: list[EmailMessage]) -> None:
    """Sent once the accounts they are about exist for everyone; a mail server that is down is
    logged (the accounts stay, and staff can send the link again from the roster)."""

    def send() -> None:
        try:
            get_connection().send_messages(messages)
        except Exception:
            logger.exception("could not send %d account email(s)", len(messages))

    if messages:
        transaction.on_commit(send)


def _render_message(template: str, context: dict[str, Any], to: str, language: str) -> EmailMessage:
    with translation.override(language):
        subject = "".join(render_to_string(f"registration/{template}_subject.txt", context).splitlines())
        body = render_to_string(f"registration/{template}_email.txt", context)
    return EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [to])


def password_link(*, user: AbstractBaseUser, link_base: str) -> str:
    """Django's own reset link: one use (the token dies with the password it was made from) and
    PASSWORD_RESET_TIMEOUT long."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return link_base.rstrip("/") + reverse("password_reset_confirm", kwargs={"uidb64": uid, "token": token})


def _password_link_message(user: Any, run: CourseRun, link_base: str, language: str) -> EmailMessage:
    context = {
        "user": user,
        "run": run,
        "link": password_link(user=user, link_base=link_base),
        "login_url": link_base.rstrip("/") + reverse("login"),
        "days": max(1, settings.PASSWORD_RESET_TIMEOUT // 86400),
    }
    return _render_message("account_created", context, user.email, language)


def account_password_link_send(*, user: Any, run: CourseRun, link_base: str) -> None:
    """Again, for an account made from a roster whose owner never set a password (the first
    mail was lost, or its link expired)."""
    if user.has_usable_password() or not user.email:
        raise ValidationError(_("This account already has a password."), code="has_password")
    _send_after_commit([_password_link_message(user, run, link_base, translation.get_language() or "ko")])


def _username_taken(username: str) -> bool:
    return get_user_model()._default_manager.filter(username__iexact=username).exists()


def _stale_signup_purge(*, username: str) -> None:
    """A sign-up whose link expired unused must not hold its username forever. Only an account
    that looks exactly like one goes: inactive, never logged in, a password of its own, no run."""
    cutoff = timezone.now() - timezone.timedelta(seconds=settings.LAYERLAB_SIGNUP_CONFIRM_SECONDS)
    stale = get_user_model()._default_manager.filter(
        username__iexact=username, is_active=False, last_login__isnull=True, date_joined__lt=cutoff
    )
    for user in stale:
        if user.has_usable_password() and not user.memberships.exists():
            user.delete()


@transaction.atomic
def account_signup(*, username: str, email: str, password: str, code: str, link_base: str) -> Any:
    """A student without an account signs up with a run's code. The account stays inactive (no
    login) until the emailed link proves the address; only then is it a member."""
    run = _run_for_code(code)
    User = get_user_model()
    email = User._default_manager.normalize_email(email.strip())
    username = username.strip()
    errors: dict[str, list[str]] = {}
    _stale_signup_purge(username=username)
    if _username_taken(username):
        errors.setdefault("username", []).append(_("This username is taken. Choose another."))
    if User._default_manager.filter(email__iexact=email, is_active=True).exists():
        errors.setdefault("email", []).append(
            _("An account with this email exists. Log in, or reset its password.")
        )
    user = User(username=username, email=email, is_active=False)
    try:
        validate_password(password, user)
    except ValidationError as exc:
        errors.setdefault("password", []).extend(exc.messages)
    if errors:
        raise ValidationError(errors)
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:  # the same username signed up a moment ago
        raise ValidationError({"username": [_("This username is taken. Choose another.")]}) from exc
    token = signing.TimestampSigner(salt=SIGNUP_SALT).sign_object({"u": user.pk, "r": run.pk, "e": email})
    context = {
        "user": user,
        "run": run,
        "link": link_base.rstrip("/") + reverse("runs:signup_confirm", kwargs={"token": token}),
        "hours": max(1, settings.LAYERLAB_SIGNUP_CONFIRM_SECONDS // 3600),
    }
    _send_after_commit(
        [_render_message("signup_confirm", context, email, translation.get_language() or "ko")]
    )
    return user


@dataclass(frozen=True)
class SignupConfirmed:
    user: Any
    run: CourseRun
    activated: bool
    """False when the account was confirmed before (the link followed twice)."""


@transaction.atomic
def account_signup_confirm(*, token: str) -> SignupConfirmed:
    """The emailed link proves the address: the account can log in and is a member of the run it
    signed up for, even if joining has closed since (the code was right when it was used)."""
    invalid = ValidationError(
        _("This confirmation link is invalid or has expired. Sign up again."), code="bad_token"
    )
    try:
        data = signing.TimestampSigner(salt=SIGNUP_SALT).unsign_object(
            token, max_age=settings.LAYERLAB_SIGNUP_CONFIRM_SECONDS
        )
    except signing.BadSignature as exc:
        raise invalid from exc
    User = get_user_model()
    user = User._default_manager.select_for_update().filter(pk=data.get("u"), email=data.get("e")).first()
    run = CourseRun.objects.filter(pk=data.get("r")).first()
    if user is None or run is None:
        raise invalid
    if user.is_active:
        return SignupConfirmed(user=user, run=run, activated=False)
    if user.last_login is not None:  # deactivated by an administrator after it was confirmed
        raise invalid
    user.is_active = True
    user.save(update_fields=["is_active"])
    Membership.objects.get_or_create(run=run, user=user)
    return SignupConfirmed(user=user, run=run, activated=True)


# Roster import --------------------------------------------------------------------------------

Action = Literal["create", "add", "member", "error"]


@dataclass(frozen=True)
class RosterRow:
    """One data row of the file and what importing it does. `row` is the spreadsheet's row
    number (the header is row 1), which is what the instructor sees when fixing the file."""

    row: int
    action: Action
    email: str = ""
    username: str = ""
    name: str = ""
    reason: str = ""
    role: str = ""
    user_id: int | None = None


@dataclass
class RosterPlan:
    rows: list[RosterRow] = field(default_factory=list)
    problem: str = ""
    """Wrong with the whole file (not UTF-8, no header, too big): nothing in it is imported."""
    applied: bool = False

    def _of(self, action: Action) -> list[RosterRow]:
        return [r for r in self.rows if r.action == action]

    @property
    def created(self) -> list[RosterRow]:
        return self._of("create")

    @property
    def added(self) -> list[RosterRow]:
        return self._of("add")

    @property
    def members(self) -> list[RosterRow]:
        return self._of("member")

    @property
    def errors(self) -> list[RosterRow]:
        return self._of("error")

    @property
    def writes(self) -> int:
        return len(self.created) + len(self.added)

    @property
    def digest(self) -> str:
        """Names this plan, so the confirm button applies exactly what the preview showed and
        nothing else if the accounts changed in between."""
        text = repr([(r.row, r.action, r.email, r.username, r.user_id) for r in self.rows] + [self.problem])
        return hashlib.sha256(text.encode()).hexdigest()[:32]


class RosterPlanChanged(Exception):
    """The accounts changed between the preview and the confirmation: here is the new plan."""

    def __init__(self, plan: RosterPlan) -> None:
        super().__init__("the roster plan changed since it was previewed")
        self.plan = plan


HEADER_ALIASES = {
    "email": "email",
    "e-mail": "email",
    "이메일": "email",
    "username": "username",
    "user": "username",
    "login": "username",
    "아이디": "username",
    "사용자명": "username",
    "name": "name",
    "full name": "name",
    "이름": "name",
}


def roster_text(data: bytes | str) -> str:
    """The file's text: UTF-8 with or without a BOM (what spreadsheet programs save as "CSV
    UTF-8"). Anything else is refused rather than guessed, so no Korean name arrives garbled."""
    if isinstance(data, bytes):
        if len(data) > ROSTER_MAX_BYTES:
            raise ValidationError(_("The file is larger than 1 MiB."), code="too_big")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ValidationError(
                _("The file is not UTF-8 (byte %(at)d). Save it as “CSV UTF-8” and upload it again.")
                % {"at": exc.start + 1},
                code="not_utf8",
            ) from exc
    else:
        text = data.removeprefix("\ufeff")
        if len(text.encode()) > ROSTER_MAX_BYTES:
            raise ValidationError(_("The file is larger than 1 MiB."), code="too_big")
    return text


def _delimiter(text: str) -> str:
    """Comma, or the semicolon or tab some spreadsheet locales save with: whichever splits the
    header row into the most known column names (decided by the header, never guessed from the
    data, where a name may hold any of them)."""
    first = text.split("\n", 1)[0]

    def known(delimiter: str) -> int:
        cells = next(csv.reader([first], delimiter=delimiter), [])
        return sum(1 for cell in cells if cell.strip().lower() in HEADER_ALIASES)

    return max([",", ";", "\t"], key=known)


def _read_rows(text: str) -> list[tuple[int, dict[str, str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    try:
        records = list(reader)
    except csv.Error as exc:
        raise ValidationError(
            _("The file is not valid CSV (line %(line)d): %(error)s")
            % {"line": reader.line_num, "error": exc},
            code="bad_csv",
        ) from exc
    if not records or not any(cell.strip() for cell in records[0]):
        raise ValidationError(_("The file is empty: it needs a header row (email, username, name)."))
    columns = [HEADER_ALIASES.get(cell.strip().lower(), "") for cell in records[0]]
    if "email" not in columns and "username" not in columns:
        raise ValidationError(
            _("The first row must name the columns: email, username (optional), name (optional)."),
            code="no_header",
        )
    if len(records) - 1 > ROSTER_MAX_ROWS:
        raise ValidationError(
            _("The file has more than %(n)d rows; split it.") % {"n": ROSTER_MAX_ROWS}, code="too_many"
        )
    rows = []
    for number, record in enumerate(records[1:], start=2):
        if not any(cell.strip() for cell in record):
            continue  # a blank line between groups is no mistake
        values = {"email": "", "username": "", "name": ""}
        for column, cell in zip(columns, record, strict=False):
            if column and not values[column]:
                values[column] = cell.strip()
        rows.append((number, values))
    return rows


def _username_from_email(email: str, taken: set[str]) -> str:
    """A new account without a username in the file gets its email's local part, made valid and
    unique (kim.minjun, kim.minjun2, ...) against accounts and the file's other rows."""
    local = re.sub(r"[^\w.@+-]", "", email.split("@", 1)[0])[:140] or "student"
    candidate, n = local, 1
    while candidate.lower() in taken or _username_taken(candidate):
        n += 1
        candidate = f"{local}{n}"
    return candidate


def _plan(run: CourseRun, text: str) -> RosterPlan:
    User = get_user_model()
    parsed = _read_rows(text)
    validator = User.username_validator
    emails_seen: dict[str, int] = {}
    usernames_seen: dict[str, int] = {}
    users_seen: dict[int, int] = {}
    explicit = {v["username"].lower() for _n, v in parsed if v["username"]}
    taken_new: set[str] = set(explicit)
    members = dict(Membership.objects.filter(run=run).values_list("user_id", "role"))
    plan = RosterPlan()

    def wrong(number: int, values: dict[str, str], reason: str) -> None:
        plan.rows.append(RosterRow(row=number, action="error", reason=reason, **values))

    for number, values in parsed:
        email, username, name = values["email"], values["username"], values["name"]
        if not email and not username:
            wrong(number, values, _("No email and no username."))
            continue
        if email:
            try:
                validate_email(email)
                if len(email) > EMAIL_MAX_LENGTH:
                    raise ValidationError("too long")
            except ValidationError:
                wrong(number, values, _("“%(email)s” is not a valid email address.") % {"email": email})
                continue
            email = User._default_manager.normalize_email(email)
            values["email"] = email
        if username:
            try:
                validator(username)
                if len(username) > 150:
                    raise ValidationError("too long")
            except ValidationError:
                wrong(
                    number,
                    values,
                    _("“%(username)s” is not a valid username (letters, digits and @ . + - _, at most 150).")
                    % {"username": username},
                )
                continue
        if len(name) > NAME_MAX:
            wrong(number, values, _("The name is longer than %(n)d characters.") % {"n": NAME_MAX})
            continue
        if email and email.lower() in emails_seen:
            wrong(number, values, _("Same email as row %(row)d.") % {"row": emails_seen[email.lower()]})
            continue
        if username and username.lower() in usernames_seen:
            wrong(
                number, values, _("Same username as row %(row)d.") % {"row": usernames_seen[username.lower()]}
            )
            continue
        if email:
            emails_seen[email.lower()] = number
        if username:
            usernames_seen[username.lower()] = number

        by_email = list(User._default_manager.filter(email__iexact=email)) if email else []
        by_username = None
        if username:
            candidates = list(User._default_manager.filter(username__iexact=username))
            by_username = next((u for u in candidates if u.username == username), None) or (
                candidates[0] if candidates else None
            )
        user = None
        if by_username is not None:
            if email and by_username.email and by_username.email.lower() != email.lower():
                wrong(
                    number,
                    values,
                    _("The username “%(username)s” is taken by an account with a different email.")
                    % {"username": username},
                )
                continue
            user = by_username
        elif by_email:
            if len(by_email) > 1:
                wrong(
                    number,
                    values,
                    _("%(n)d accounts have this email; give the username of the right one.")
                    % {"n": len(by_email)},
                )
                continue
            if username:
                wrong(
                    number,
                    values,
                    _("This email belongs to the account “%(username)s”, not “%(given)s”.")
                    % {"username": by_email[0].get_username(), "given": username},
                )
                continue
            user = by_email[0]
        elif not email:
            wrong(
                number,
                values,
                _("No account has the username “%(username)s”, and there is no email to create one.")
                % {"username": username},
            )
            continue

        if user is not None:
            if user.pk in users_seen:
                wrong(number, values, _("Same account as row %(row)d.") % {"row": users_seen[user.pk]})
                continue
            users_seen[user.pk] = number
            shown = {"email": user.email or email, "username": user.get_username(), "name": name}
            if user.pk in members:
                plan.rows.append(
                    RosterRow(row=number, action="member", role=members[user.pk], user_id=user.pk, **shown)
                )
            else:
                plan.rows.append(RosterRow(row=number, action="add", user_id=user.pk, **shown))
            continue
        if not username:
            username = _username_from_email(email, taken_new)
        taken_new.add(username.lower())
        plan.rows.append(RosterRow(row=number, action="create", email=email, username=username, name=name))
    return plan


def roster_import(
    *,
    run: CourseRun,
    csv_text: bytes | str,
    dry_run: bool,
    expected_digest: str | None = None,
    link_base: str = "",
) -> RosterPlan:
    """Students from a CSV (email, username, name; a header row). A dry run only reads and says
    per row who would be created, added or is a member already, and which rows are wrong and
    why. Applying writes the good rows in one transaction (wrong rows are skipped, never half
    applied), as students; each new account gets an emailed one-time link to set its password.
    With `expected_digest` (the preview's), a plan that came out different is not applied."""
    try:
        text = roster_text(csv_text)
        plan = _plan(run, text) if dry_run else None
    except ValidationError as exc:
        return RosterPlan(problem=" ".join(exc.messages))
    if dry_run:
        assert plan is not None
        return plan
    language = translation.get_language() or settings.LANGUAGE_CODE
    try:
        with transaction.atomic():
            CourseRun.objects.select_for_update().get(pk=run.pk)  # one import of a run at a time
            plan = _plan(run, text)
            if expected_digest is not None and plan.digest != expected_digest:
                raise RosterPlanChanged(plan)
            _apply(run, plan, link_base, language)
    except ValidationError as exc:
        return RosterPlan(problem=" ".join(exc.messages))
    except IntegrityError as exc:  # an account made elsewhere meanwhile: show the plan as it is now
        raise RosterPlanChanged(_plan(run, text)) from exc
    plan.applied = True
    return plan


def _apply(run: CourseRun, plan: RosterPlan, link_base: str, language: str) -> None:
    User = get_user_model()
    messages = []
    for row in plan.rows:
        if row.action == "add":
            Membership.objects.get_or_create(run=run, user_id=row.user_id)
        elif row.action == "create":
            user = User(username=row.username, email=row.email, first_name=row.name)
            user.set_unusable_password()
            user.save()
            Membership.objects.create(run=run, user=user, role=Role.STUDENT)
            messages.append(_password_link_message(user, run, link_base, language))
    _send_after_commit(messages)


def profile_language_set(*, user: AbstractBaseUser, language: str) -> None:
    """Keeps the interface language a person chose on their account."""
    if language not in dict(settings.LANGUAGES):
        raise ValidationError(_("“%(language)s” is not a language of this site.") % {"language": language})
    Profile.objects.update_or_create(user_id=user.pk, defaults={"language": language})
