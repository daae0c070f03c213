"""The scheduler process (Procfile ``scheduler:``): periodic jobs outside the web process.

Events its jobs record reach the screens through SOCKETIO_MESSAGE_QUEUE (Redis).
"""
from __future__ import annotations

import logging

from apscheduler.schedulers.blocking import BlockingScheduler

from . import create_app
from .services import footfall, queue

log = logging.getLogger("hallq.scheduler")


def build_scheduler(app) -> BlockingScheduler:
    rt = app.extensions["hallq"]
    scheduler = BlockingScheduler(timezone="UTC")

    def expire_job():
        closed = queue.expire_past_days(rt)
        if closed:
            log.info("closed %d ticket(s) left open from an earlier business day", closed)

    scheduler.add_job(expire_job, "interval", minutes=10, id="expire_past_days", next_run_time=None)
    scheduler.add_job(expire_job, id="expire_at_start")

    keep_days = app.config["FOOTFALL_KEEP_MINUTES_DAYS"]

    def prune_job():
        gone = footfall.prune_minutes(rt, keep_days)
        if gone:
            log.info("pruned %d per-minute door count(s) older than %d days (hourly roll-ups kept)", gone, keep_days)

    scheduler.add_job(prune_job, "cron", hour=3, minute=17, id="prune_footfall_minutes")
    return scheduler


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    app = create_app()
    log.info("scheduler starting")
    build_scheduler(app).start()


if __name__ == "__main__":
    main()
