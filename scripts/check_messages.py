"""CI's check of the translation catalogues (``make check-messages``); needs GNU gettext (xgettext).

Fails when
- a catalogue is stale: ``makemessages``, run on a temporary copy of the project, finds msgids
  that the committed .po files do not have, or the .po files keep msgids the code no longer uses;
- an entry is fuzzy or has an empty msgstr (in every language, English included);
- a translation loses or adds a %(name)s placeholder;
- a committed .mo file is not what ``compile_messages.py`` makes of its .po.

``make messages`` updates the catalogues; translate what it added, then ``make check-messages``.
"""

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pofile
from compile_messages import CATALOGUE_DIRS, ROOT, catalogues, messages_of, mo_bytes

LANGUAGES = ("ko", "en")
# What makemessages reads: everything but the virtualenv, the tests, the tools and the i'mport sandbox
# (which speaks as i'mport does, in Korean, and is not shown to customers).
MAKEMESSAGES_ARGS = [
    *(f"--locale={lang}" for lang in LANGUAGES),
    "--no-location",
    "--no-obsolete",
    "--ignore=.venv",
    "--ignore=tests",
    "--ignore=benchmarks",
    "--ignore=scripts",
    "--ignore=node_modules",
    "--ignore=staticfiles",
    "--ignore=*/sandbox/*",
]
_COPIED = ("manage.py", "merchant_site", "billing", "subscriptions", "templates", "locale")
_PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def makemessages(project: Path) -> None:
    subprocess.run(  # noqa: S603 - our own interpreter and manage.py
        [sys.executable, "manage.py", "makemessages", *MAKEMESSAGES_ARGS],
        cwd=project,
        check=True,
        env={"DEBUG": "1", "PATH": "/usr/local/bin:/usr/bin:/bin"},
        stdout=subprocess.DEVNULL,
    )


def keys(path: Path) -> set[tuple]:
    return {(e.msgctxt, e.msgid, e.msgid_plural) for e in pofile.read(path) if e.msgid and not e.obsolete}


def problems() -> list[str]:
    found: list[str] = []
    if not shutil.which("xgettext"):
        return ["GNU gettext is not installed (apt-get install gettext): cannot check the catalogues"]
    expected = {po.relative_to(ROOT) for base in CATALOGUE_DIRS for po in _expected_po(base)}
    present = {po.relative_to(ROOT) for po in catalogues()}
    found += [f"{path}: missing" for path in sorted(expected - present)]

    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "project"
        copy.mkdir()
        for name in _COPIED:
            source = ROOT / name
            if source.is_dir():
                shutil.copytree(source, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
            elif source.exists():
                shutil.copy2(source, copy / name)
        makemessages(copy)
        for relative in sorted(present):
            fresh, committed = keys(copy / relative), keys(ROOT / relative)
            for key in sorted(fresh - committed, key=str):
                found.append(f"{relative}: stale, the code has {key[1]!r}: translate it")
            for key in sorted(committed - fresh, key=str):
                found.append(f"{relative}: stale, the code no longer has {key[1]!r}: run make messages")

    for po in catalogues():
        relative = po.relative_to(ROOT)
        entries = pofile.read(po)
        for entry in entries:
            if not entry.msgid or entry.obsolete:
                continue
            if "fuzzy" in entry.flags:
                found.append(f"{relative}: fuzzy: {entry.msgid!r}")
            if not entry.translated:
                found.append(f"{relative}: untranslated: {entry.msgid!r}")
                continue
            wanted = set(_PLACEHOLDER.findall(entry.msgid_plural or entry.msgid))
            for text in entry.msgstr:
                if set(_PLACEHOLDER.findall(text)) - wanted - {"counter"} or (
                    entry.msgid_plural is None and set(_PLACEHOLDER.findall(text)) != wanted
                ):
                    found.append(f"{relative}: placeholders differ: {entry.msgid!r}")
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.read_bytes() != mo_bytes(messages_of(entries)):
            found.append(f"{mo.relative_to(ROOT)}: does not match its .po: run scripts/compile_messages.py")
    return found


def _expected_po(base: str) -> list[Path]:
    return [ROOT / base / lang / "LC_MESSAGES" / "django.po" for lang in LANGUAGES]


def main() -> int:
    if sys.argv[1:] == ["--update"]:  # make messages: update the .po files in place, then compile them
        makemessages(ROOT)
        from compile_messages import main as compile_all

        return compile_all()
    found = problems()
    for problem in found:
        print(problem, file=sys.stderr)
    if found:
        print(f"{len(found)} problem(s) in the translation catalogues", file=sys.stderr)
        return 1
    print(f"catalogues complete and up to date: {', '.join(str(p.relative_to(ROOT)) for p in catalogues())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
