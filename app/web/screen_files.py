"""Files the screens play: the voice clips (``/voice/…``) and each hall's waiting-area media (``/media/…``).

Both are public, as a screen's images and sounds are heard and seen by anyone in the hall: a clip is
one word of the vocabulary (``domain.voice``), a media file has an unguessable name given at upload
(``services.hall_media``). A clip recorded by the hall in the instance folder's ``voice/<lang>/``
is served before the one shipped with the app.
"""
from __future__ import annotations

import re
from pathlib import Path

from flask import Blueprint, abort, current_app, jsonify, send_from_directory

from ..domain import media, voice
from ..services import hall_media

bp = Blueprint("screen_files", __name__)

MEDIA_NAME = re.compile(r"^[0-9a-f]{32}\.(" + "|".join(m.extension for m in media.ALLOWED) + r")$")
MEDIA_TYPES = {m.extension: m.content_type for m in media.ALLOWED}
SHIPPED = Path(__file__).resolve().parent.parent / "static" / "voice"


def _hall_clips(lang: str) -> Path:
    return Path(current_app.instance_path) / "voice" / lang


def _clip_url(lang: str, name: str) -> str:
    """The clip's address; a hall's own recording's carries its time, so a new one is fetched anew."""
    own = _hall_clips(lang) / f"{name}.ogg"
    return f"/voice/{lang}/{name}.ogg" + (f"?own={own.stat().st_mtime_ns}" if own.is_file() else "")


@bp.get("/voice/manifest.json")
def voice_manifest():
    """Per language, the words the clips say and each clip's address (a hall's own recording first)."""
    clips = {lang: {w: _clip_url(lang, name) for w, name in by_words.items()}
             for lang, by_words in voice.manifest().items()}
    response = jsonify({"clips": clips})
    response.cache_control.max_age = 300
    return response


@bp.get("/voice/<lang>/<name>.ogg")
def voice_clip(lang: str, name: str):
    if lang not in voice.LANGS or name not in voice.clip_names(lang):
        abort(404)
    own = _hall_clips(lang)
    folder = own if (own / f"{name}.ogg").is_file() else SHIPPED / lang
    return send_from_directory(folder, f"{name}.ogg", mimetype="audio/ogg", max_age=86400)


@bp.get("/media/<int:hall_id>/<name>")
def media_file(hall_id: int, name: str):
    """One of a hall's media files, as uploaded (ranges answered, for videos); cached for a day: a
    changed file gets a new name."""
    if not MEDIA_NAME.match(name):
        abort(404)
    place = hall_media.folder(current_app.extensions["hallq"]) / str(hall_id)
    return send_from_directory(place, name, mimetype=MEDIA_TYPES[name.rsplit(".", 1)[1]], max_age=86400,
                               conditional=True)
