"""What a hall may show in its displays' media area (waiting-area images and short videos).

The press reports describe waiting-area screens with light video "to ease waiting anxiety"; a call
always takes precedence over it (the display's script). A file is judged by its own bytes, never
by the name or type the browser gave it: JPEG, PNG or WebP images, MP4 or WebM videos, within the
limits below. Decoding it (an image's size, a video's frames and length) is the service's part.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import Invalid

MB = 1024 * 1024
IMAGE_MAX_BYTES = 5 * MB
VIDEO_MAX_BYTES = 50 * MB
HALL_MAX_ITEMS = 20
HALL_MAX_BYTES = 200 * MB
IMAGE_MAX_SIDE = 8000
VIDEO_MAX_S = 120.0  # short videos: a waiting customer glances, then watches for their number
IMAGE_SECONDS = (3, 60)  # how long an image stays on screen
IMAGE_DEFAULT_S = 10
TITLE_MAX = 100


@dataclass(frozen=True)
class MediaType:
    kind: str  # image | video
    content_type: str
    extension: str

    @property
    def max_bytes(self) -> int:
        return IMAGE_MAX_BYTES if self.kind == "image" else VIDEO_MAX_BYTES


JPEG = MediaType("image", "image/jpeg", "jpg")
PNG = MediaType("image", "image/png", "png")
WEBP = MediaType("image", "image/webp", "webp")
MP4 = MediaType("video", "video/mp4", "mp4")
WEBM = MediaType("video", "video/webm", "webm")
ALLOWED = (JPEG, PNG, WEBP, MP4, WEBM)


# the codecs a display's browser plays (Chromium: H.264 in MP4, VP8/VP9/AV1 in WebM), as OpenCV names them
PLAYABLE = {"video/mp4": {"avc1", "h264", "hev1", "hvc1", "av01"}, "video/webm": {"vp80", "vp90", "av01"}}


def refused(code: str, message: str, **details) -> Invalid:
    """Why a file cannot be shown: ``code`` for the page's language, the field is the upload."""
    return Invalid(message, field="file", code=code, **details)


def sniff(head: bytes) -> MediaType | None:
    """The type the first bytes of a file say it is, among the allowed ones."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head[4:8] == b"ftyp":
        return MP4
    if head.startswith(b"\x1a\x45\xdf\xa3") and b"webm" in head[:64]:
        return WEBM
    return None


def check_upload(head: bytes, size: int, hall_items: int, hall_bytes: int) -> MediaType:
    """The file's type, if the hall may add it; Invalid (field ``file``) naming the rule it breaks by its code."""
    if size == 0:
        raise refused("media_empty", "the file is empty")
    media = sniff(head)
    if media is None:
        raise refused("media_type", "only JPEG, PNG or WebP images and MP4 or WebM videos can be shown")
    if size > media.max_bytes:
        raise refused(
            "media_too_large",
            f"a {media.kind} may be at most {media.max_bytes // MB} MB",
            kind=media.kind,
            max_mb=media.max_bytes // MB,
        )
    if hall_items >= HALL_MAX_ITEMS:
        raise refused(
            "media_too_many",
            f"a hall keeps at most {HALL_MAX_ITEMS} media files: remove one first",
            max_items=HALL_MAX_ITEMS,
        )
    if hall_bytes + size > HALL_MAX_BYTES:
        raise refused(
            "media_hall_full",
            f"a hall's media may take at most {HALL_MAX_BYTES // MB} MB in all",
            max_mb=HALL_MAX_BYTES // MB,
        )
    return media


def check_decoded(media: MediaType, width: int, height: int, seconds: float | None, codec: str = "") -> None:
    """What decoding found: a picture of a sensible size; a video that plays in a display's browser,
    and is short."""
    if width <= 0 or height <= 0:
        raise refused("media_unreadable", f"the file is not a {media.kind} that can be shown")
    if media.kind == "image" and max(width, height) > IMAGE_MAX_SIDE:
        raise refused(
            "media_too_big_picture", f"an image may be at most {IMAGE_MAX_SIDE} pixels a side", max_side=IMAGE_MAX_SIDE
        )
    if media.kind == "video" and codec.lower() not in PLAYABLE[media.content_type]:
        raise refused(
            "media_codec",
            f"a {media.extension.upper()} video must be "
            + ", ".join(sorted(PLAYABLE[media.content_type]))
            + f" for the displays to play it, not {codec}",
            codec=codec,
        )
    if media.kind == "video" and (seconds is None or seconds <= 0):
        raise refused("media_unreadable", "the video's length cannot be read")
    if media.kind == "video" and seconds is not None and seconds > VIDEO_MAX_S:
        raise refused(
            "media_too_long", f"a video may be at most {VIDEO_MAX_S:.0f} seconds long", max_s=int(VIDEO_MAX_S)
        )


def image_seconds_problem(seconds: float) -> str | None:
    low, high = IMAGE_SECONDS
    return None if low <= seconds <= high else f"must be {low} to {high} seconds"
