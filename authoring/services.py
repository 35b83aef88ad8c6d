"""Writes of authoring in the browser: a lesson's or an exercise's text saved as a new revision
(and restored as one), a check of an exercise started, a Dockerfile tried as a student would.
The session or exercise holds the current text; every save also keeps it as a revision."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from authoring import validation
from authoring.models import ExerciseCheck, ExerciseRevision, SessionRevision
from authoring.validation import Problem
from courses.models import Session
from labs.models import Exercise, Submission
from labs.services import exercise_problem_clear, submission_create

LESSON_MAX_BYTES = 256 * 1024
"""The seed lesson is 40 KiB; four times the longest lesson anyone wrote is still a lesson."""
INSTRUCTIONS_MAX_BYTES = 64 * 1024
NOTE_MAX = 200


class InvalidExercise(ValueError):
    """The exercise's fields do not pass the validators import_course runs; nothing was saved."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(p.as_dict()["text"] for p in problems))
        self.problems = problems


def _normalise(text: str) -> str:
    return text.replace("\r\n", "\n")


def _cap(text: str, limit: int, message: str) -> None:
    """`message` has %(size)s and %(limit)s, in KiB (the size rounded up, so it is never shown
    as the limit itself)."""
    size = len(text.encode("utf-8"))
    if size > limit:
        raise ValidationError(message % {"size": -(-size // 1024), "limit": limit // 1024}, code="too_large")


def lesson_check(text: str) -> None:
    """Raises ValidationError (code too_large) for a lesson too long to save or preview."""
    _cap(text, LESSON_MAX_BYTES, _("The lesson is %(size)s KiB; a lesson may be at most %(limit)s KiB."))


@transaction.atomic
def session_body_save(
    *,
    session: Session,
    field: str,
    text: str,
    author: AbstractBaseUser,
    note: str = "",
    restored_from: SessionRevision | None = None,
    based_on: int | None = None,
) -> SessionRevision:
    """Saves one language of the lesson and keeps it as a revision. The first save from the
    browser first keeps the text as it was (from the files), so that one can be restored too.
    `based_on`: the newest revision the author's editor started from (0: none yet); when
    someone saved since, nothing is written (ValidationError, code conflict)."""
    if field not in SessionRevision.Field.values:
        raise ValueError(f"not a lesson field: {field!r}")
    text = _normalise(text)
    lesson_check(text)
    session = Session.objects.select_for_update().get(pk=session.pk)
    newest = SessionRevision.objects.filter(session=session, field=field).select_related("author").first()
    _check_base(newest, based_on)
    if not SessionRevision.objects.filter(session=session, field=field).exists():
        SessionRevision.objects.create(session=session, field=field, text=getattr(session, field))
    setattr(session, field, text)
    session.save(update_fields=[field])
    return SessionRevision.objects.create(
        session=session,
        field=field,
        text=text,
        note=note[:NOTE_MAX],
        author=author,
        restored_from=restored_from,
    )


def _check_base(newest: SessionRevision | ExerciseRevision | None, based_on: int | None) -> None:
    if based_on is None or (newest.pk if newest else 0) == based_on:
        return
    assert newest is not None
    raise ValidationError(
        _(
            "%(user)s saved a newer version (revision %(id)s) after you opened the editor. Your text "
            "was not saved and is still in the field: compare it with the revisions below, then save "
            "again to replace theirs."
        )
        % {"user": newest.author.get_username() if newest.author else "?", "id": newest.pk},
        code="conflict",
    )


def session_revision_restore(*, revision: SessionRevision, author: AbstractBaseUser) -> SessionRevision:
    """Restoring is saving the old text again: a new revision, and the history stays whole."""
    note = _("restored revision %(id)s") % {"id": revision.pk}
    return session_body_save(
        session=revision.session,
        field=revision.field,
        text=revision.text,
        author=author,
        note=note,
        restored_from=revision,
    )


def exercise_fields_check(*, rubric_yaml: str, tests_yaml: str) -> tuple[dict, dict, list[Problem]]:
    """The rubric's and the tests' data, and every problem the validators find in them."""
    rubric = validation.rubric_check(rubric_yaml)
    tests = validation.tests_check(tests_yaml)
    problems = [c.problem for c in (rubric, tests) if c.problem is not None]
    return rubric.data, tests.data, problems


@transaction.atomic
def exercise_text_save(
    *,
    exercise: Exercise,
    instructions_md: str,
    instructions_en: str,
    rubric_yaml: str,
    tests_yaml: str,
    author: AbstractBaseUser,
    note: str = "",
    restored_from: ExerciseRevision | None = None,
    based_on: int | None = None,
) -> ExerciseRevision:
    """Saves the exercise's instructions, rubric and behaviour tests, only when the rubric and
    tests pass the validators import_course runs (InvalidExercise otherwise, nothing written).
    A broken exercise whose grading changed is released, as a re-import releases it."""
    instructions_md, instructions_en = _normalise(instructions_md), _normalise(instructions_en)
    rubric_yaml, tests_yaml = _normalise(rubric_yaml), _normalise(tests_yaml)
    for text in (instructions_md, instructions_en):
        _cap(
            text,
            INSTRUCTIONS_MAX_BYTES,
            _("The instructions are %(size)s KiB; they may be at most %(limit)s KiB."),
        )
    rubric, tests, problems = exercise_fields_check(rubric_yaml=rubric_yaml, tests_yaml=tests_yaml)
    if problems:
        raise InvalidExercise(problems)
    exercise = Exercise.objects.select_for_update().get(pk=exercise.pk)
    _check_base(ExerciseRevision.objects.filter(exercise=exercise).select_related("author").first(), based_on)
    if not ExerciseRevision.objects.filter(exercise=exercise).exists():
        ExerciseRevision.objects.create(
            exercise=exercise,
            instructions_md=exercise.instructions_md,
            instructions_en=exercise.instructions_en,
            rubric_yaml=validation.dump(exercise.rubric),
            tests_yaml=validation.dump(exercise.behaviour_tests),
        )
    grading_changed = exercise.rubric != rubric or exercise.behaviour_tests != tests
    exercise.instructions_md, exercise.instructions_en = instructions_md, instructions_en
    exercise.rubric, exercise.behaviour_tests = rubric, tests
    exercise.full_clean()
    exercise.save(update_fields=["instructions_md", "instructions_en", "rubric", "behaviour_tests"])
    revision = ExerciseRevision.objects.create(
        exercise=exercise,
        instructions_md=instructions_md,
        instructions_en=instructions_en,
        rubric_yaml=rubric_yaml,
        tests_yaml=tests_yaml,
        note=note[:NOTE_MAX],
        author=author,
        restored_from=restored_from,
    )
    if grading_changed and exercise.problem:
        transaction.on_commit(lambda: exercise_problem_clear(exercise=exercise))
    return revision


def exercise_revision_restore(*, revision: ExerciseRevision, author: AbstractBaseUser) -> ExerciseRevision:
    return exercise_text_save(
        exercise=revision.exercise,
        instructions_md=revision.instructions_md,
        instructions_en=revision.instructions_en,
        rubric_yaml=revision.rubric_yaml,
        tests_yaml=revision.tests_yaml,
        author=author,
        note=_("restored revision %(id)s") % {"id": revision.pk},
        restored_from=revision,
    )


@transaction.atomic
def exercise_check_start(*, exercise: Exercise, author: AbstractBaseUser) -> ExerciseCheck:
    """What check_course does for one exercise, graded by the normal pipeline: the reference
    solution (graded as the reference, it records the reference image size) and then the
    starter, as two trial submissions of the author's that count nowhere. Refusals (the
    author's own queue full, too many at once) are the ValidationErrors a student gets."""
    if not exercise.solution_dockerfile.strip():
        raise ValidationError(_("This exercise has no reference solution to check."), code="no_solution")
    solution = submission_create(
        owner=author,
        exercise=exercise,
        dockerfile=exercise.solution_dockerfile,
        dockerignore=exercise.solution_dockerignore,
        trial=Submission.Trial.SOLUTION,
    )
    starter = None
    if exercise.starter_dockerfile.strip():
        starter = submission_create(
            owner=author,
            exercise=exercise,
            dockerfile=exercise.starter_dockerfile,
            trial=Submission.Trial.STARTER,
        )
    return ExerciseCheck.objects.create(
        exercise=exercise, requested_by=author, solution=solution, starter=starter
    )


def exercise_try(
    *, exercise: Exercise, author: AbstractBaseUser, dockerfile: str, dockerignore: str = ""
) -> Submission:
    """Staff try a Dockerfile as a student would: graded the same way, counted nowhere."""
    return submission_create(
        owner=author,
        exercise=exercise,
        dockerfile=dockerfile,
        dockerignore=dockerignore,
        trial=Submission.Trial.TRY,
    )
