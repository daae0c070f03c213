"""``python -m app``: development server with Socket.IO (use the Procfile's gunicorn in production)."""
import os

from . import create_app
from .extensions import socketio

app = create_app()

if __name__ == "__main__":
    socketio.run(app, host=os.environ.get("HOST", "127.0.0.1"), port=int(os.environ.get("PORT", "5000")),
                 allow_unsafe_werkzeug=True)
