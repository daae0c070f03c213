"""Record the screens' voice clips (app/static/voice/<lang>/<name>.ogg) from domain.voice's vocabulary.

    apt-get install espeak-ng opus-tools
    .venv/bin/python scripts/make_voice_clips.py [--only zh|en]

eSpeak NG says each word or phrase (Mandarin: its ``cmn`` voice; English: ``en-gb``); the silence
around it is trimmed so joined clips flow, and opusenc stores it as Ogg Opus (a few KB a clip).
The clips are committed: screens need no internet and the server no synthesizer. A hall that wants
a human voice records its own files of the same names into the instance folder's voice/<lang>/.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import wave
from array import array
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.domain.voice import LANGS, SAY_AS, VOCABULARY  # noqa: E402

OUT = ROOT / "app" / "static" / "voice"
ESPEAK_VOICE = {"zh": ("cmn", "140"), "en": ("en-gb", "150")}
THRESHOLD = 400  # of 32767: below this at either end is silence
KEEP_S = 0.03  # of it kept at each end


def trimmed(path: Path) -> None:
    with wave.open(str(path), "rb") as w:
        params, frames = w.getparams(), w.readframes(w.getnframes())
    samples = array("h", frames)
    loud = [i for i, s in enumerate(samples) if abs(s) > THRESHOLD]
    if not loud:
        raise SystemExit(f"{path.name}: eSpeak said nothing")
    keep = int(params.framerate * KEEP_S)
    start, end = max(0, loud[0] - keep), min(len(samples), loud[-1] + keep)
    with wave.open(str(path), "wb") as w:
        w.setparams(params)
        w.writeframes(samples[start:end].tobytes())


def record(lang: str, name: str, words: str, work: Path) -> Path:
    voice, speed = ESPEAK_VOICE[lang]
    wav, out = work / f"{lang}-{name}.wav", OUT / lang / f"{name}.ogg"
    subprocess.run(["espeak-ng", "-v", voice, "-s", speed, "-w", str(wav), SAY_AS.get((lang, name), words)], check=True)
    trimmed(wav)
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["opusenc", "--quiet", "--bitrate", "24", "--comment", f"text={words}", str(wav), str(out)],
                   check=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=LANGS)
    args = parser.parse_args()
    langs = [args.only] if args.only else list(LANGS)
    total = sum(len(VOCABULARY[lang]) for lang in langs)
    done = 0
    with tempfile.TemporaryDirectory() as tmp:
        for lang in langs:
            wanted = {f"{name}.ogg" for name, _ in VOCABULARY[lang]}
            for stale in (OUT / lang).glob("*.ogg") if (OUT / lang).exists() else ():
                if stale.name not in wanted:
                    stale.unlink()
            for name, words in VOCABULARY[lang]:
                record(lang, name, words, Path(tmp))
                done += 1
                print(f"\r[{done}/{total}] {lang}/{name}".ljust(50), end="", flush=True)
    size = sum(p.stat().st_size for p in OUT.rglob("*.ogg"))
    print(f"\n{done} clips in {OUT.relative_to(ROOT)} ({size / 1024:.0f} KB)")


if __name__ == "__main__":
    main()
