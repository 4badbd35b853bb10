"""Uploads kept by earlier releases as files (DATA_DIR/uploads/<user id>/<id>.csv with <id>.json beside
it) are imported into the database at start, then the folder is moved aside, nothing deleted.

`import_folder(store, DATA_DIR/uploads)` runs when a web process builds its Runtime. Each upload is
stored with its id, record and owner (the tenant read from the users table) by `UploadStore.store_file`;
an id already in the database is skipped (one left pending by an import cut short is stored again), so an import cut short is finished by the
next start and N processes importing together store each upload once (they also take a file lock
beside the folder). When the pass is done the folder is renamed to DATA_DIR/uploads.imported (or
uploads.imported-2, ...): it stays whole, including anything that could not be imported (a corrupt
record, a record without its file), which is named in a WARNING. Delete it once satisfied.
"""
from __future__ import annotations

import fcntl
import json
import logging
from pathlib import Path

from sqlalchemy.exc import IntegrityError

from services.storage.uploads import ID_PATTERN

log = logging.getLogger(__name__)


def _legacy_record(path: Path) -> dict | None:
    try:
        record = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    if isinstance(record, dict) and isinstance(record.get("uploaded_at"), str) and record.get("id") == path.stem:
        return record
    return None


def _aside(root: Path) -> Path:
    target, n = root.with_name(f"{root.name}.imported"), 1
    while target.exists():
        n += 1
        target = root.with_name(f"{root.name}.imported-{n}")
    return target


def _candidates(root: Path):
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        if folder.name.isdigit():
            yield from ((int(folder.name), meta) for meta in sorted(folder.glob("*.json")))


def import_folder(store, root: Path) -> tuple[int, list[Path]]:
    """Import the uploads under `root` and move it aside; (how many were stored, what was left out)."""
    root = Path(root)
    if not root.is_dir():
        return 0, []
    with open(root.with_name(f"{root.name}.import-lock"), "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not root.is_dir():                  # another process finished it while we waited
            return 0, []
        stored, left_out = 0, []
        for user_id, meta in _candidates(root):
            record, csv = _legacy_record(meta), meta.with_suffix(".csv")
            if record is None or not ID_PATTERN.match(meta.stem) or not csv.is_file():
                left_out.append(meta)
                continue
            try:
                stored += store.store_file(user_id, None, record, csv)
            except IntegrityError:             # another host stored the same id just now
                pass
        target = _aside(root)
        root.rename(target)
    log.warning("imported %d upload(s) from %s into the database; the folder was moved to %s (delete it once "
                "satisfied)%s", stored, root, target,
                f"; not imported (corrupt record or missing file), still in it: "
                f"{', '.join(str(target / p.relative_to(root)) for p in left_out)}" if left_out else "")
    return stored, left_out
