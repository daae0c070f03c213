"""The production entry point (see Procfile): ``gunicorn app.wsgi:app``."""
from . import create_app
from .ops import logs

logs.configure("web")
app = create_app()

if app.config["SCHEDULER_IN_WEB"]:  # make run: one process, no separate scheduler
    from .scheduler import start_in_web

    start_in_web(app)
