"""Compile every .po catalogue of the project into its .mo, in Python: no GNU gettext needed.

    .venv/bin/python scripts/compile_messages.py          # writes the .mo files (they are committed)

The output is what ``msgfmt`` writes for these files: fuzzy and untranslated entries left out,
plural forms joined by NUL, keys sorted; ``check_messages.py`` verifies the committed .mo files.
"""

import struct
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pofile

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE_DIRS = ("billing/locale", "subscriptions/locale", "locale")


def catalogues() -> list[Path]:
    return sorted(path for base in CATALOGUE_DIRS for path in (ROOT / base).glob("*/LC_MESSAGES/django.po"))


def messages_of(entries: list[pofile.Entry]) -> dict[bytes, bytes]:
    """What a .mo holds: translated, non-fuzzy, non-obsolete entries (the header included)."""
    table: dict[bytes, bytes] = {}
    for entry in entries:
        if entry.obsolete or "fuzzy" in entry.flags or not (entry.translated or entry.msgid == ""):
            continue
        key = entry.msgid if entry.msgid_plural is None else entry.msgid + "\0" + entry.msgid_plural
        if entry.msgctxt is not None:
            key = entry.msgctxt + "\x04" + key
        table[key.encode()] = "\0".join(entry.msgstr).encode()
    return table


def mo_bytes(table: dict[bytes, bytes]) -> bytes:
    keys = sorted(table)
    header_size, entry_size = 7 * 4, 8
    ids_offset = header_size
    strs_offset = ids_offset + len(keys) * entry_size
    data_offset = strs_offset + len(keys) * entry_size
    ids, strs, data = [], [], b""
    for key in keys:
        ids.append((len(key), data_offset + len(data)))
        data += key + b"\0"
    for key in keys:
        value = table[key]
        strs.append((len(value), data_offset + len(data)))
        data += value + b"\0"
    out = struct.pack("<7I", 0x950412DE, 0, len(keys), ids_offset, strs_offset, 0, data_offset)
    out += b"".join(struct.pack("<2I", *pair) for pair in ids)
    out += b"".join(struct.pack("<2I", *pair) for pair in strs)
    return out + data


def main() -> int:
    for po in catalogues():
        po.with_suffix(".mo").write_bytes(mo_bytes(messages_of(pofile.read(po))))
        print(f"compiled {po.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
