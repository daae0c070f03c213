"""Extensions created once, bound in create_app."""
from flask_socketio import SocketIO

socketio = SocketIO()
