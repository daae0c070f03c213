"""The production entry point (see Procfile): ``gunicorn app.wsgi:app``."""
import logging

from . import create_app

app = create_app()

if app.config["SCHEDULER_IN_WEB"]:  # make run: one process, no separate scheduler
    from .scheduler import start_in_web

    logging.getLogger("hallq").setLevel(logging.INFO)
    start_in_web(app)
