"""A small reader and writer of gettext .po files: enough for our catalogues, no dependency.

Used by ``check_messages.py`` (CI) and ``compile_messages.py`` (a pure-Python msgfmt).
"""

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Entry:
    msgid: str
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: list[str] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)
    obsolete: bool = False

    @property
    def key(self) -> tuple[str | None, str]:
        return (self.msgctxt, self.msgid)

    @property
    def translated(self) -> bool:
        return bool(self.msgstr) and all(self.msgstr)


_KEYWORD = re.compile(r"^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?)\s+(\".*\")\s*$")


def read(path: Path) -> list[Entry]:
    """Every entry of the file, the header (msgid "") included, in file order."""
    entries: list[Entry] = []
    current: dict = {}
    flags: set[str] = set()
    obsolete = False
    last = None

    def flush() -> None:
        nonlocal current, flags, obsolete, last
        if "msgid" in current:
            strs = [current[k] for k in sorted(k for k in current if k.startswith("msgstr"))]
            entries.append(
                Entry(
                    msgid=current["msgid"],
                    msgid_plural=current.get("msgid_plural"),
                    msgctxt=current.get("msgctxt"),
                    msgstr=strs,
                    flags=flags,
                    obsolete=obsolete,
                )
            )
        current, flags, obsolete, last = {}, set(), False, None

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        is_obsolete = line.startswith("#~")
        if is_obsolete:
            line = line[2:].strip()
        if not line:
            flush()
            continue
        if line.startswith("#,"):
            if "msgid" in current:
                flush()
            flags |= {flag.strip() for flag in line[2:].split(",")}
            continue
        if line.startswith("#"):
            if "msgid" in current and "msgstr" in "".join(current):
                flush()
            continue
        match = _KEYWORD.match(line)
        if match:
            keyword, text = match.groups()
            if keyword in ("msgctxt", "msgid") and any(k.startswith("msgstr") for k in current):
                flush()
            obsolete = obsolete or is_obsolete
            current[keyword] = ast.literal_eval(text)
            last = keyword
        elif line.startswith('"') and last:
            current[last] += ast.literal_eval(line)
    flush()
    return entries


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t").replace("\n", "\\n")
    return f'"{escaped}"'


def write(path: Path, entries: list[Entry]) -> None:
    lines: list[str] = []
    for entry in entries:
        if entry.flags:
            lines.append("#, " + ", ".join(sorted(entry.flags)))
        if entry.msgctxt is not None:
            lines.append(f"msgctxt {_quote(entry.msgctxt)}")
        lines.append(f"msgid {_quote(entry.msgid)}")
        if entry.msgid_plural is not None:
            lines.append(f"msgid_plural {_quote(entry.msgid_plural)}")
            lines.extend(f"msgstr[{n}] {_quote(text)}" for n, text in enumerate(entry.msgstr))
        else:
            lines.append(f"msgstr {_quote(entry.msgstr[0] if entry.msgstr else '')}")
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
