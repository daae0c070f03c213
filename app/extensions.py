"""Extensions created once, bound in create_app."""
from flask_socketio import SocketIO
from flask_wtf.csrf import CSRFProtect

socketio = SocketIO()
# one CSRF token per browser session: every form carries it, and the JSON API's session calls send
# it in the X-CSRF-Token header (web.access checks it there; bearer-token calls need none). The API
# and the SMS gateways' callbacks (authenticated by their secret or signature) are exempt from the
# forms' check (create_app)
csrf = CSRFProtect()
