"""The scheduler process (Procfile ``scheduler:``): periodic jobs outside the web process.

Jobs
    ``forecast_nightly``  every hour at :05; a hall whose local time is 02:xx, or that has no
                          plan for today (new hall, a missed night), is forecast (today and
                          tomorrow) and planned, in FORECAST_WORKERS processes (default: one
                          per core in the scheduler process, none in the web process)
    ``forecast_intraday`` every 15 minutes: the rest of today rescaled by the arrivals so far
    ``peak_check``        every minute: forecast and live peak warnings of every hall
    ``expire_past_days``  every 10 minutes: tickets left open from an earlier business day
    ``release_remote``    every minute: remote tickets not checked in by their deadline are
                          released (services.remote)
    ``appointments``      every minute: appointments past their grace time become no-shows, and
                          the day-before and hour-before reminders go out (services.appointments)
    ``turn_reminders``    every 15 seconds: the waiting customer's "your turn soon" SMS (at the
                          service's remind_ahead people ahead) and "you are called" SMS, each
                          once, through SMS_GATEWAY (services.turn_reminders)
    ``prune_footfall``    nightly: per-minute door counts older than FOOTFALL_KEEP_MINUTES_DAYS
    ``deliver_events``    every 15 seconds: the durable follow-ups of committed events (a finished
                          ticket's survey), from the transactional outbox, retried with a backoff
                          (app.event_handlers, services.outbox)
    ``dispatch_surveys``  every minute: due surveys sent through SMS_GATEWAY (claimed first: never
                          sent twice), failed sends retried with a backoff up to SURVEY_MAX_ATTEMPTS
    ``rebuild_satisfaction`` nightly: the report roll-ups of the last week's closed days rebuilt
                          from the surveys (exact; repairs a count written around the services)
    ``satisfaction_reports`` daily at 05:17 in China (after rebuild_satisfaction): yesterday's
                          (Shanghai) daily satisfaction reports, head office and each hall with
                          surveys, stored as Excel files (``report_files``); on the 1st also last
                          month's monthly reports; a rerun replaces them (services.report_files)
    ``rollup_service_levels`` every 15 minutes: the service-level roll-ups of yesterday and today
                          rebuilt from the tickets' histories (services.service_levels)
    ``rollup_today``      every minute: today's service-level roll-ups, so that today's reports
                          are at most a minute behind the counters
    ``service_level_reports`` daily at 05:27 in China: yesterday's service-level reports (head
                          office and each hall with tickets) stored as Excel files; on Mondays
                          also last week's, on the 1st last month's (services.report_files)
    ``mail_reports``      every 10 minutes, when REPORT_MAIL_SMTP_URL is set: stored report files
                          not yet mailed go to head office (REPORT_MAIL_HEAD_OFFICE) and to each
                          hall's managers (their e-mail address); a failed send is retried next run
    ``purge_sms_numbers`` nightly: protected mobile numbers older than SMS_RETENTION_DAYS deleted
                          (scores and masked numbers kept), tickets' plain numbers past their survey

Exactly one scheduler acts even if two are started: each holds the database lease
``scheduler`` (``services.leases``) while it runs the jobs, and a standby takes over when
the holder stops renewing it. Jobs live in a persistent store (``apscheduler_jobs``), so a
restart keeps them and their retries; a hall whose job fails is logged and retried later
(1, 4, 16 minutes), not lost. Events the jobs record reach the screens through
SOCKETIO_MESSAGE_QUEUE (Redis), as the web process's do.

With ``SCHEDULER_IN_WEB=1`` (``make run``: SQLite, one process) the same scheduler runs in a
thread of the web process instead.

Operations (README, "Operations"): each run of a job is timed and counted (``hallq_job_*``), the
lease shows as ``hallq_scheduler_lease_held`` and survey SMS as ``hallq_sms_sent_total``; the
process serves ``/healthz``, ``/readyz`` (the lease, each job's last success and failure) and
``/metrics`` on ``SCHEDULER_BIND``.
"""
from __future__ import annotations

import functools
import logging
import os
import signal
import socket
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

log = logging.getLogger("hallq.scheduler")

LEASE = "scheduler"
RETRY_MINUTES = (1, 4, 16)

_app = None  # the Flask app whose runtime the jobs use (jobs in the store are plain function references)
JOB_RUNS: dict[str, dict] = {}  # job -> its last success and failure (this process), for /readyz


def _rt():
    if _app is None:
        raise RuntimeError("the scheduler's app is not set: run it through app.scheduler.main or start_in_web")
    return _app.extensions["hallq"]


# --------------------------------------------------------------------------- jobs

def _job(fn):
    """A job whose runs are timed and counted (``hallq_job_*``), and whose last success and failure
    ``/readyz`` reports. The job store keeps the name, which still finds this wrapper."""
    from .ops import metrics

    @functools.wraps(fn)
    def run(*args, **kwargs):
        started = time.perf_counter()
        try:
            result = fn(*args, **kwargs)
        except Exception:
            _ran(fn.__name__, False, time.perf_counter() - started, metrics)
            raise
        _ran(fn.__name__, True, time.perf_counter() - started, metrics)
        return result

    return run


def _ran(name: str, ok: bool, seconds: float, metrics) -> None:
    now = _rt().now() if _app is not None else datetime.now(timezone.utc)
    metrics.JOB_DURATION.labels(name).observe(seconds)
    run = JOB_RUNS.setdefault(name, {"last_success": None, "last_failure": None, "failures": 0})
    run["last_duration_s"] = round(seconds, 3)
    if ok:
        metrics.JOB_LAST_SUCCESS.labels(name).set(now.timestamp())
        run["last_success"] = now.isoformat()
    else:
        metrics.JOB_FAILURES.labels(name).inc()
        run["last_failure"] = now.isoformat()
        run["failures"] += 1


def _each_hall(what: str, action, hall_ids=None) -> int:
    """Run ``action(rt, hall_id)`` for every active hall; a failing hall is logged and retried later."""
    from .services import planning

    rt = _rt()
    done = 0
    for hall_id in hall_ids if hall_ids is not None else planning.halls_to_forecast(rt):
        try:
            if action(rt, hall_id) is not False:
                done += 1
        except Exception:  # noqa: BLE001 - one hall must not stop the others
            log.exception("%s failed for hall %s; retrying in %d min", what, hall_id, RETRY_MINUTES[0])
            _hall_failed(what)
            schedule_retry(what, hall_id, 0)
    return done


def _hall_failed(what: str) -> None:
    from .ops import metrics

    metrics.JOB_FAILURES.labels(what).inc()


def _forecast_if_due(rt, hall_id: int, force: bool = False):
    from .services import peaks, planning

    if not (force or planning.forecast_due(rt, hall_id)):
        return False
    summary = planning.forecast_hall(rt, hall_id)
    log.info("forecast hall %s: %d slots from %d days of history (fit %.2f s)", hall_id, summary["slots"],
             summary["history_days"], summary["fit_s"])
    peaks.check_forecast(rt, hall_id)
    return True


@_job
def forecast_nightly() -> None:
    from .services import planning

    rt = _rt()
    due = [h for h in planning.halls_to_forecast(rt) if planning.forecast_due(rt, h)]
    workers = int(_app.config.get("FORECAST_WORKERS") or 1)
    if workers > 1 and len(due) > 1:
        # the workers open the database the runtime uses (which a test's app may hold in RUNTIME only)
        config = {**_app.config, "DATABASE_URL": rt.engine.url.render_as_string(hide_password=False)}
        done, failed = forecast_in_processes(due, workers, config, as_of=rt.now())
        for hall_id in failed:
            _hall_failed("forecast_nightly")
            schedule_retry("forecast_nightly", hall_id, 0)
    else:
        done = _each_hall("forecast_nightly", lambda rt, h: _forecast_if_due(rt, h, force=True), due)
    if done:
        log.info("forecast_nightly: %d hall(s) forecast and planned", done)


# The nightly forecast of hundreds of halls is CPU work (tree fits, Erlang sums) that holds the
# GIL: it runs in one process per core. Each worker is a full app on the same database and
# message queue, so the warnings it raises reach the screens as the scheduler's own do.
_worker_app = None


def _init_forecast_worker(settings: dict, as_of: datetime) -> None:
    global _worker_app
    from . import create_app
    from .bootstrap import clock_from

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    _worker_app = create_app(settings)
    _worker_app.extensions["hallq"].clock = clock_from(as_of)  # the job's time, not this process's own


def _forecast_in_worker(hall_id: int) -> tuple[int, str | None, float]:
    rt = _worker_app.extensions["hallq"]
    started = time.perf_counter()
    try:
        _forecast_if_due(rt, hall_id, force=True)
        return hall_id, None, time.perf_counter() - started
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which schedules the retry
        log.exception("forecast_nightly failed for hall %s", hall_id)
        return hall_id, f"{type(exc).__name__}: {exc}", time.perf_counter() - started
    finally:
        _worker_app.extensions["hallq_feed"].flush()  # a pool worker ends without running atexit


def forecast_in_processes(hall_ids: list[int], workers: int, config, seconds: list | None = None,
                          as_of: datetime | None = None) -> tuple[int, list[int]]:
    """Forecast and plan ``hall_ids`` in ``workers`` processes; returns (done, failed hall ids).
    The workers' clock starts at ``as_of`` (the job's own time; the wall clock when not given).
    Each hall's time is appended to ``seconds`` when given (the benchmark reads them)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # the parent's settings, as far as they travel to another process (not its runtime object)
    settings = {key: value for key, value in dict(config).items() if key.isupper() and key != "RUNTIME"
                and isinstance(value, (str, int, float, bool, type(None), list, tuple))}
    done, failed = 0, []
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_init_forecast_worker,
                             initargs=(settings, as_of or datetime.now(timezone.utc))) as pool:
        for n, (hall_id, error, took) in enumerate(pool.map(_forecast_in_worker, hall_ids, chunksize=4), 1):
            if seconds is not None:
                seconds.append(took)
            if error is None:
                done += 1
            else:
                log.error("forecast_nightly failed for hall %s (%s); retrying in %d min", hall_id, error,
                          RETRY_MINUTES[0])
                failed.append(hall_id)
            if n % 50 == 0 or n == len(hall_ids):
                log.info("forecast_nightly: %d/%d halls (%d workers)", n, len(hall_ids), workers)
    return done, failed


def _intraday(rt, hall_id: int):
    from .services import peaks, planning

    changed = planning.intraday_update(rt, hall_id)
    if changed:
        peaks.check_forecast(rt, hall_id)
    return changed > 0


@_job
def forecast_intraday() -> None:
    done = _each_hall("forecast_intraday", _intraday)
    if done:
        log.info("forecast_intraday: %d hall(s) updated from today's arrivals", done)


def _peaks(rt, hall_id: int):
    from .services import peaks

    a, b = peaks.check_forecast(rt, hall_id), peaks.check_live(rt, hall_id)
    changes = sum(a.values()) + sum(b.values())
    if changes:
        log.info("peak_check hall %s: forecast %s, live %s", hall_id, a, b)
    return changes > 0


@_job
def peak_check() -> None:
    _each_hall("peak_check", _peaks)


@_job
def expire_past_days() -> None:
    from .services import queue

    closed = queue.expire_past_days(_rt())
    if closed:
        log.info("closed %d ticket(s) left open from an earlier business day", closed)


@_job
def release_remote() -> None:
    from .services import remote

    released = remote.release_due(_rt())
    if released:
        log.info("released %d remote ticket(s) not checked in in time", released)


@_job
def appointments() -> None:
    from .services import appointments as booked

    missed = booked.mark_no_shows(_rt())
    reminded = booked.send_reminders(_rt())
    if missed or reminded["day_before"] or reminded["soon"]:
        log.info("appointments: %d no-show(s), reminders %s", missed, reminded)


@_job
def turn_reminders() -> None:
    from .services import turn_reminders as reminders

    done = reminders.send_turn_reminders(_rt())
    if any(done.values()):
        log.info("turn reminders: %s", done)


@_job
def prune_footfall() -> None:
    from .services import footfall

    keep_days = _app.config["FOOTFALL_KEEP_MINUTES_DAYS"]
    gone = footfall.prune_minutes(_rt(), keep_days)
    if gone:
        log.info("pruned %d per-minute door count(s) older than %d days (hourly roll-ups kept)", gone, keep_days)


@_job
def deliver_events() -> None:
    from . import event_handlers
    from .ops import metrics
    from .services import outbox

    done = event_handlers.deliver(_rt())
    if any(done.values()):
        log.info("deliver_events: %s", done)
    for state, count in outbox.pending(_rt()).items():
        metrics.OUTBOX_EVENTS.labels(state).set(count)


@_job
def dispatch_surveys() -> None:
    from .services import surveys

    from .ops import metrics

    rt = _rt()
    done = surveys.dispatch(rt)
    gateway = surveys.setup(rt).gateway.name
    for outcome in ("sent", "retrying", "failed", "not_sent", "lost"):
        if done.get(outcome):
            metrics.SMS_SENT.labels(gateway, outcome).inc(done[outcome])
    if any(done.values()):
        log.info("dispatch_surveys: %s", done)


@_job
def rebuild_satisfaction() -> None:
    from .services import satisfaction

    done = satisfaction.rebuild_closed_days(_rt())
    log.info("rebuild_satisfaction: %s", done)


@_job
def satisfaction_reports() -> None:
    from .domain.hours import parse_zone
    from .services import report_files, satisfaction

    rt = _rt()
    yesterday = rt.now().astimezone(parse_zone(satisfaction.HEAD_OFFICE_ZONE)).date() - timedelta(days=1)
    made = report_files.make_reports(rt, yesterday)
    log.info("satisfaction_reports: %s", made)


@_job
def rollup_today() -> None:
    from .services import service_levels

    done = service_levels.rebuild_today(_rt())
    log.debug("rollup_today: %s", done)


@_job
def rollup_service_levels() -> None:
    from .services import service_levels

    done = service_levels.rebuild_recent(_rt())
    log.info("rollup_service_levels: %s", done)


@_job
def service_level_reports() -> None:
    from .domain.hours import parse_zone
    from .services import report_files, satisfaction, service_levels

    rt = _rt()
    yesterday = rt.now().astimezone(parse_zone(satisfaction.HEAD_OFFICE_ZONE)).date() - timedelta(days=1)
    service_levels.rebuild(rt, yesterday - timedelta(days=1), yesterday + timedelta(days=1))  # complete first
    made = report_files.make_reports(rt, yesterday, report_files.SERVICE_LEVELS)
    log.info("service_level_reports: %s", made)


@_job
def mail_reports() -> None:
    from .services import report_mail

    settings = report_mail.MailSettings.from_config(_app.config)
    if settings is None:
        return
    done = report_mail.send_unsent(_rt(), settings)
    if any(done.values()):
        log.info("mail_reports: %s", done)


@_job
def purge_sms_numbers() -> None:
    from .services import surveys

    gone = surveys.purge_numbers(_rt())
    if any(gone.values()):
        log.info("purge_sms_numbers: mobile numbers deleted from %s", gone)


@_job
def expire_pairing_codes() -> None:
    from .services import pairing

    done = pairing.expire(_rt())
    if any(done.values()):
        log.info("expire_pairing_codes: %s", done)


_RETRYABLE = {"forecast_nightly": lambda rt, h: _forecast_if_due(rt, h, force=True),
              "forecast_intraday": _intraday, "peak_check": _peaks}


@_job
def retry_hall(what: str, hall_id: int, attempt: int) -> None:
    """A one-off retry of one hall's failed job (kept in the job store across restarts)."""
    try:
        _RETRYABLE[what](_rt(), hall_id)
        log.info("%s for hall %s succeeded on retry %d", what, hall_id, attempt + 1)
    except Exception:  # noqa: BLE001
        _hall_failed(what)
        if attempt + 1 < len(RETRY_MINUTES):
            log.exception("%s retry %d failed for hall %s; next in %d min", what, attempt + 1, hall_id,
                          RETRY_MINUTES[attempt + 1])
            schedule_retry(what, hall_id, attempt + 1)
        else:
            log.exception("%s failed for hall %s after %d retries; giving up until its next run",
                          what, hall_id, attempt + 1)


_scheduler: BackgroundScheduler | None = None


def schedule_retry(what: str, hall_id: int, attempt: int) -> None:
    if _scheduler is None or what not in _RETRYABLE:
        return
    at = datetime.now(timezone.utc) + timedelta(minutes=RETRY_MINUTES[attempt])
    _scheduler.add_job(retry_hall, "date", run_date=at, args=[what, hall_id, attempt],
                       id=f"retry:{what}:{hall_id}", replace_existing=True, misfire_grace_time=3600)


# --------------------------------------------------------------------------- the scheduler

def build_scheduler(app) -> BackgroundScheduler:
    """The jobs on a persistent store in the application's database."""
    rt = app.extensions["hallq"]
    scheduler = BackgroundScheduler(
        timezone="UTC",
        # "startup": the run-once jobs of this start, which a restart makes anew (not kept)
        jobstores={"default": SQLAlchemyJobStore(engine=rt.engine), "startup": MemoryJobStore()},
        executors={"default": ThreadPoolExecutor(2)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
    )
    every = {"replace_existing": True}
    # the nightly work at the head office's hours (the halls are closed then), whatever the server's zone
    from .services.satisfaction import HEAD_OFFICE_ZONE

    nightly = functools.partial(CronTrigger, timezone=HEAD_OFFICE_ZONE)
    scheduler.add_job(forecast_nightly, "cron", minute=5, id="forecast_nightly", **every)
    scheduler.add_job(forecast_nightly, "date", id="forecast_at_start", jobstore="startup")  # halls with no plan
    scheduler.add_job(forecast_intraday, "cron", minute="1,16,31,46", id="forecast_intraday", **every)
    scheduler.add_job(peak_check, "interval", minutes=1, id="peak_check", **every)
    scheduler.add_job(expire_past_days, "interval", minutes=10, id="expire_past_days", **every)
    scheduler.add_job(expire_past_days, "date", id="expire_at_start", jobstore="startup")
    scheduler.add_job(release_remote, "interval", minutes=1, id="release_remote", **every)
    scheduler.add_job(appointments, "interval", minutes=1, id="appointments", **every)
    scheduler.add_job(turn_reminders, "interval", seconds=15, id="turn_reminders", **every)
    scheduler.add_job(prune_footfall, nightly(hour=3, minute=17), id="prune_footfall", **every)
    scheduler.add_job(deliver_events, "interval", seconds=15, id="deliver_events", **every)
    scheduler.add_job(dispatch_surveys, "interval", minutes=1, id="dispatch_surveys", **every)
    scheduler.add_job(purge_sms_numbers, nightly(hour=3, minute=37), id="purge_sms_numbers", **every)
    scheduler.add_job(rebuild_satisfaction, nightly(hour=4, minute=7), id="rebuild_satisfaction", **every)
    scheduler.add_job(satisfaction_reports, nightly(hour=5, minute=17), id="satisfaction_reports", **every)
    scheduler.add_job(rollup_service_levels, "cron", minute="3,18,33,48", id="rollup_service_levels", **every)
    scheduler.add_job(rollup_today, "interval", minutes=1, id="rollup_today", **every)
    scheduler.add_job(service_level_reports, nightly(hour=5, minute=27), id="service_level_reports", **every)
    scheduler.add_job(mail_reports, "interval", minutes=10, id="mail_reports", **every)
    scheduler.add_job(expire_pairing_codes, "interval", minutes=5, id="expire_pairing_codes", **every)
    return scheduler


class Leader:
    """Holds the lease while this process runs the jobs; stands by while another does."""

    def __init__(self, app, holder: str | None = None) -> None:
        self.app = app
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.stop = threading.Event()
        self.scheduler: BackgroundScheduler | None = None
        self.ttl_s = float(app.config.get("SCHEDULER_LEASE_TTL_S", 60))
        self.holding = False

    def status(self) -> tuple[bool, dict]:
        """/readyz of the scheduler: the database, Redis and the schema as for the other roles (a
        standby is ready too: it takes over when the lease lapses), whether this one holds the lease,
        and each job's last success and failure in this process."""
        from .ops import health

        ready, checks = health.readiness(self.app.extensions["hallq"], self.app.config["SOCKETIO_MESSAGE_QUEUE"])
        return ready, {"ready": ready, "role": "scheduler", "checks": checks, "holder": self.holder,
                       "lease_held": self.holding, "jobs": {name: dict(run) for name, run in sorted(JOB_RUNS.items())}}

    def _held(self, holding: bool) -> None:
        from .ops import metrics

        self.holding = holding
        metrics.LEASE_HELD.set(1 if holding else 0)

    def run(self) -> None:
        global _app, _scheduler
        from .services import leases

        _app = self.app
        rt = self.app.extensions["hallq"]
        standby_said = False
        while not self.stop.is_set():
            try:
                holding = leases.acquire(rt, LEASE, self.holder, self.ttl_s)
            except Exception:  # noqa: BLE001 - the database may be restarting; try again
                log.exception("could not reach the database for the scheduler lease")
                holding = False
            self._held(holding)
            if holding and self.scheduler is None:
                log.info("scheduler %s holds the lease: running the jobs", self.holder)
                self.scheduler = _scheduler = build_scheduler(self.app)
                self.scheduler.start()
                standby_said = False
            elif not holding and self.scheduler is not None:
                log.warning("scheduler %s lost the lease: stopping its jobs", self.holder)
                self._stop_jobs()
            elif not holding and not standby_said:
                log.info("scheduler %s on standby: the lease is held by another scheduler", self.holder)
                standby_said = True
            self.stop.wait(self.ttl_s / 4)  # renew well inside the lease
        self._stop_jobs()
        self._held(False)
        try:
            leases.release(rt, LEASE, self.holder)
        except Exception:  # noqa: BLE001
            log.exception("could not release the scheduler lease")

    def _stop_jobs(self) -> None:
        global _scheduler
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=True)
            self.scheduler = _scheduler = None


def start_in_web(app) -> Leader:
    """Run the scheduler in a daemon thread of this (single) web process: the embedded default."""
    leader = Leader(app)
    threading.Thread(target=leader.run, name="hallq-scheduler", daemon=True).start()
    return leader


def main() -> None:
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)  # one process: its own metrics, not the web role's files
    from . import create_app
    from .ops import logs, server

    logs.configure("scheduler")
    app = create_app()
    if not app.config.get("FORECAST_WORKERS"):  # the scheduler's own process: one forecast worker per core
        app.config["FORECAST_WORKERS"] = os.cpu_count() or 1
    leader = Leader(app)
    bind = app.config.get("SCHEDULER_BIND")
    if bind:
        try:
            status = server.serve(bind, leader.status)
            log.info("scheduler: /healthz, /readyz and /metrics on port %d", status.server_port)
        except OSError as exc:  # a second scheduler on this host (a deploy overlapping): run the jobs anyway
            log.error("scheduler: cannot serve /metrics on %s (%s); SCHEDULER_BIND sets another", bind, exc)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: leader.stop.set())
    log.info("scheduler %s starting", leader.holder)
    leader.run()
    log.info("scheduler %s stopped", leader.holder)


if __name__ == "__main__":
    main()
