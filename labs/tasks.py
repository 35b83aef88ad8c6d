import threading

from celery import shared_task
from celery.signals import worker_ready, worker_shutdown
from django.conf import settings

from labs import hosts, services

_reporting = threading.Event()


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=(services.RetryLater,),
    retry_backoff=10,
    retry_backoff_max=120,
    max_retries=None,  # the submission's own attempt counter decides when to give up
)
def grade_submission_task(self, submission_id: int) -> None:  # type: ignore[no-untyped-def]
    try:
        services.submission_grade(submission_id=submission_id)
    except services.OwnerBusy as exc:
        raise self.retry(exc=exc, countdown=settings.LAYERLAB_OWNER_BUSY_RETRY_SECONDS) from exc
    except services.WrongHost as exc:
        if exc.queue:
            grade_submission_task.apply_async(args=[submission_id], queue=exc.queue)
            return
        raise self.retry(exc=exc, countdown=settings.LAYERLAB_NO_HOST_RETRY_SECONDS) from exc
    except services.Busy as exc:
        # A live worker has it; if that worker dies, this retry takes over once its signs of life are stale.
        raise self.retry(exc=exc, countdown=settings.LAYERLAB_HEARTBEAT_STALE_SECONDS) from exc


@shared_task(bind=True, acks_late=True)
def regrade_item_task(self, item_id: int) -> None:  # type: ignore[no-untyped-def]
    try:
        services.regrade_item_run(item_id=item_id)
    except services.RetryLater as exc:
        if self.request.retries >= settings.LAYERLAB_MAX_GRADE_ATTEMPTS - 1:
            services.regrade_item_give_up(item_id=item_id, message=f"could not regrade: {exc}")
            return
        raise self.retry(exc=exc, countdown=10 * (self.request.retries + 1)) from exc


@shared_task(ignore_result=True)
def submission_sweep_task() -> None:
    resend_all = services.broker_restarted()
    services.submission_sweep(resend_all=resend_all)
    services.regrade_sweep(resend_all=resend_all)


@worker_ready.connect
def reap_leftovers(**_: object) -> None:
    """Containers and images outlive a killed worker: remove what is older than any build."""
    services.leftovers_reap(older_than_seconds=settings.LAYERLAB_TASK_TIME_LIMIT + 120)


@worker_ready.connect
def report_build_host(**_: object) -> None:
    """This host tells the others (and the health endpoint) what its engine can build, now and
    every LAYERLAB_HOST_REPORT_SECONDS while the worker runs."""
    threading.Thread(
        target=hosts.report_forever, args=(_reporting,), name="build-host-report", daemon=True
    ).start()


@worker_shutdown.connect
def stop_reporting(**_: object) -> None:
    _reporting.set()
