"""Pages for joining course runs and for a run's roster. They translate requests into service
calls and results into pages; who may do what is decided in `courses.selectors`/`services`."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from courses import selectors, services
from courses.forms import JoinForm, RoleForm, RosterApplyForm, RosterUploadForm, SignupForm, form_add_errors
from courses.models import Membership


def _require_manage(request: HttpRequest, run: Any) -> None:
    """Importing a roster and mailing account links are the instructors' (docs/classroom.md);
    assistants see the roster but change nothing in it."""
    if not run.viewer_can_manage:
        raise PermissionDenied("Only an instructor of the run manages its roster.")


def _link_base(request: HttpRequest) -> str:
    return request.build_absolute_uri("/").rstrip("/")


@require_http_methods(["GET", "POST"])
def join(request: HttpRequest) -> HttpResponse:
    """One address for a code on a slide: a logged-in student joins with it, anyone else signs
    up with it (`?code=` fills it in, so the link itself can be shared)."""
    initial = {"code": request.GET.get("code", "")}
    if request.user.is_authenticated:
        form: JoinForm = JoinForm(request.POST or None, initial=initial)
        if request.method == "POST" and form.is_valid():
            try:
                membership = services.membership_join(user=request.user, code=form.cleaned_data["code"])
            except ValidationError as exc:
                form_add_errors(form, exc, unnamed_field="code")
            else:
                messages.success(
                    request,
                    _("You are a member of “%(run)s” (%(role)s).")
                    % {"run": membership.run.title, "role": membership.get_role_display()},
                )
                return redirect("runs:join")
        runs = selectors.runs_for_user(request.user)
        return render(request, "runs/join.html", {"form": form, "runs": runs})
    form = SignupForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.account_signup(
                username=form.cleaned_data["username"],
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password"],
                code=form.cleaned_data["code"],
                link_base=_link_base(request),
            )
        except ValidationError as exc:
            form_add_errors(form, exc, unnamed_field="code")
        else:
            return render(request, "runs/signup_sent.html", {"email": user.email})
    after_login = reverse("runs:join")
    if initial["code"]:
        after_login += "?" + urlencode({"code": services.invitation_code_normalise(initial["code"])})
    login_url = f"{reverse('login')}?{urlencode({'next': after_login})}"
    return render(request, "runs/signup.html", {"form": form, "login_url": login_url})


def signup_confirm(request: HttpRequest, token: str) -> HttpResponse:
    try:
        confirmed = services.account_signup_confirm(token=token)
    except ValidationError as exc:
        return render(request, "runs/signup_invalid.html", {"message": exc.messages[0]}, status=400)
    if not confirmed.activated:
        messages.info(request, _("Your email was confirmed before. Log in."))
        return redirect("login")
    login(request, confirmed.user, backend="django.contrib.auth.backends.ModelBackend")
    messages.success(
        request,
        _("Your email is confirmed and you are a member of “%(run)s”.") % {"run": confirmed.run.title},
    )
    return redirect("runs:join")


def _roster_page(request: HttpRequest, run: Any, status: int = 200, **context: Any) -> HttpResponse:
    context.setdefault("upload_form", RosterUploadForm())
    join_url = request.build_absolute_uri(f"{reverse('runs:join')}?code={run.invitation_code}")
    members = list(selectors.membership_list(run))
    return render(
        request,
        "runs/roster.html",
        {
            "run": run,
            "members": members,
            "join_url": join_url,
            "roles": Membership.Role.choices,
            "counts": {r: sum(1 for m in members if m.role == r) for r in Membership.Role.values},
            **context,
        },
        status=status,
    )


@login_required
def roster(request: HttpRequest, run_slug: str) -> HttpResponse:
    run = selectors.run_get_for_staff(request.user, run_slug)
    return _roster_page(request, run)


@login_required
@require_POST
def roster_import(request: HttpRequest, run_slug: str) -> HttpResponse:
    """Upload → a preview (the dry run) with a confirm button that carries the same rows and the
    preview's digest; confirm → the import, only if it still comes out as previewed."""
    run = selectors.run_get_for_staff(request.user, run_slug)
    _require_manage(request, run)
    if "digest" in request.POST:
        apply_form = RosterApplyForm(request.POST)
        if not apply_form.is_valid():
            messages.error(request, _("The confirmation was incomplete; upload the file again."))
            return redirect("runs:roster", run_slug=run.slug)
        try:
            plan = services.roster_import(
                run=run,
                csv_text=apply_form.cleaned_data["csv_text"],
                dry_run=False,
                expected_digest=apply_form.cleaned_data["digest"],
                link_base=_link_base(request),
            )
        except services.RosterPlanChanged as changed:
            messages.warning(request, _("Accounts changed since the preview. Check the new preview."))
            return _preview(request, run, apply_form.cleaned_data["csv_text"], changed.plan)
        if plan.problem:
            messages.error(request, plan.problem)
        else:
            _say_applied(request, plan)
        return redirect("runs:roster", run_slug=run.slug)
    upload_form = RosterUploadForm(request.POST, request.FILES)
    if not upload_form.is_valid():
        return _roster_page(request, run, status=400, upload_form=upload_form)
    data = upload_form.csv_data()
    plan = services.roster_import(run=run, csv_text=data, dry_run=True)
    text = "" if plan.problem else services.roster_text(data)
    return _preview(request, run, text, plan, upload_form=upload_form)


def _preview(request: HttpRequest, run: Any, text: str, plan: Any, **context: Any) -> HttpResponse:
    apply_form = RosterApplyForm(initial={"csv_text": text, "digest": plan.digest})
    return _roster_page(request, run, plan=plan, apply_form=apply_form, **context)


def _say_applied(request: HttpRequest, plan: Any) -> None:
    created, added = len(plan.created), len(plan.added)
    if created:
        messages.success(
            request,
            ngettext(
                "%(n)d account created; a link to set its password was emailed.",
                "%(n)d accounts created; each was emailed a link to set its password.",
                created,
            )
            % {"n": created},
        )
    if added:
        messages.success(
            request,
            ngettext("%(n)d existing account added.", "%(n)d existing accounts added.", added) % {"n": added},
        )
    if not created and not added:
        messages.info(request, _("Nothing to import: everyone in the file is a member already."))


@login_required
@require_POST
def member_role(request: HttpRequest, run_slug: str, membership_id: int) -> HttpResponse:
    run = selectors.run_get_for_staff(request.user, run_slug)
    membership = selectors.membership_get_in_run(run, membership_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a role."))
        return redirect("runs:roster", run_slug=run.slug)
    try:
        updated = services.membership_role_set(
            actor=request.user, membership=membership, role=form.cleaned_data["role"]
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            _("%(user)s is now: %(role)s.")
            % {"user": updated.user.get_username(), "role": updated.get_role_display()},
        )
    return redirect("runs:roster", run_slug=run.slug)


@login_required
@require_POST
def member_password_link(request: HttpRequest, run_slug: str, membership_id: int) -> HttpResponse:
    run = selectors.run_get_for_staff(request.user, run_slug)
    _require_manage(request, run)
    membership = selectors.membership_get_in_run(run, membership_id)
    try:
        services.account_password_link_send(user=membership.user, run=run, link_base=_link_base(request))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            _("A link to set a password was emailed to %(email)s.") % {"email": membership.user.email},
        )
    return redirect("runs:roster", run_slug=run.slug)


@login_required
@require_POST
def invitation(request: HttpRequest, run_slug: str) -> HttpResponse:
    run = selectors.run_get_for_staff(request.user, run_slug)
    action = request.POST.get("action", "")
    if action == "regenerate":
        services.run_invitation_regenerate(actor=request.user, run=run)
        messages.success(
            request,
            _("New invitation code: %(code)s. The old one no longer works.") % {"code": run.invitation_code},
        )
    elif action in ("close", "open"):
        services.run_joining_set(actor=request.user, run=run, joining_open=action == "open")
        messages.success(
            request,
            _("Joining is open: the code works.")
            if run.joining_open
            else _("Joining is closed: the code no longer works."),
        )
    else:
        messages.error(request, _("Unknown action."))
    return redirect("runs:roster", run_slug=run.slug)
