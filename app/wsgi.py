"""The production entry point (see Procfile): ``gunicorn app.wsgi:app``."""
from . import create_app

app = create_app()
