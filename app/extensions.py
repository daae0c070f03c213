"""Extensions created once, bound in create_app."""
from flask_socketio import SocketIO
from flask_wtf.csrf import CSRFProtect

socketio = SocketIO()
# every browser form carries a CSRF token; the JSON API checks its own X-CSRF-Token header for
# session calls (bearer-token calls need none) and the SMS gateways' callbacks are authenticated
# by their secret or signature, so those two blueprints are exempt (create_app)
csrf = CSRFProtect()
