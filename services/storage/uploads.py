"""Each user's uploaded CSV files: received in a stream, validated whole, kept privately.

Files live under DATA_DIR/uploads/<user id>/<upload id>.csv with a small JSON record beside them.
An upload is written to a `.part` file in chunks (never held in memory), checked against the size
limit while it arrives, then parsed completely; only a file that parses is renamed into place, so a
bad or aborted upload leaves nothing behind. Ids are random hex and every lookup is by (user, id),
so one user can never name another user's file. Parsed files are kept in a small per-process LRU
because filters re-run the analysis many times on the same data.
"""
from __future__ import annotations

import json
import logging
import re
import threading
import uuid
from collections import OrderedDict
from datetime import datetime, timezone
from pathlib import Path

from services.analysis import AnalysisError, Limits, Mapping, load_csv

log = logging.getLogger(__name__)
CHUNK = 1 << 20
ID_PATTERN = re.compile(r"^[0-9a-f]{32}$")
CACHE_SIZE = 4


class UploadNotFound(LookupError):
    pass


def _safe_name(name: str) -> str:
    name = Path(str(name or "upload.csv")).name.strip() or "upload.csv"
    return re.sub(r"[^\w.\- ()]+", "_", name)[:120]


class UploadStore:
    def __init__(self, root: Path, limits: Limits):
        self.root = Path(root)
        self.limits = limits
        self._cache: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def _folder(self, user_id) -> Path:
        return self.root / str(int(user_id))

    def _paths(self, user_id, upload_id: str) -> tuple[Path, Path]:
        if not ID_PATTERN.match(upload_id or ""):
            raise UploadNotFound(upload_id)
        folder = self._folder(user_id)
        return folder / f"{upload_id}.csv", folder / f"{upload_id}.json"

    def receive(self, user_id, filename: str, stream) -> dict:
        """Store a streamed upload if it is a CSV we can analyse; raise AnalysisError otherwise."""
        folder = self._folder(user_id)
        folder.mkdir(parents=True, exist_ok=True)
        upload_id = uuid.uuid4().hex
        part = folder / f"{upload_id}.part"
        size = 0
        try:
            with open(part, "wb") as out:
                while chunk := stream.read(CHUNK):
                    size += len(chunk)
                    if size > self.limits.max_bytes:
                        raise AnalysisError("file_too_large", f"The file is larger than the limit of "
                                            f"{self.limits.max_mb:g} MB (MAX_UPLOAD_MB).", 413)
                    out.write(chunk)
            parsed = load_csv(part, self.limits)
            record = {"id": upload_id, "name": _safe_name(filename), "size": size, "rows": parsed.rows,
                      "profile": parsed.profile, "mapping": parsed.mapping.to_dict(), "encoding": parsed.encoding,
                      "warnings": parsed.warnings, "uploaded_at": datetime.now(timezone.utc).isoformat()}
            csv_path, meta_path = self._paths(user_id, upload_id)
            meta_path.write_text(json.dumps(record))
            part.rename(csv_path)
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        self._remember((user_id, upload_id, None), parsed)
        return record

    def list(self, user_id) -> list[dict]:
        """The user's uploads, newest first; a record that cannot be read is left out (with a warning)."""
        folder = self._folder(user_id)
        paths = sorted(folder.glob("*.json")) if folder.exists() else []
        records = [r for r in map(_read_record, paths) if r is not None]
        return sorted(records, key=lambda r: r["uploaded_at"], reverse=True)

    def get(self, user_id, upload_id: str) -> dict:
        csv_path, meta_path = self._paths(user_id, upload_id)
        record = _read_record(meta_path) if csv_path.exists() and meta_path.exists() else None
        if record is None:
            raise UploadNotFound(upload_id)
        return record

    def delete(self, user_id, upload_id: str) -> None:
        csv_path, meta_path = self._paths(user_id, upload_id)
        if not meta_path.exists():
            raise UploadNotFound(upload_id)
        meta_path.unlink()
        csv_path.unlink(missing_ok=True)
        with self._lock:
            for key in [k for k in self._cache if k[:2] == (user_id, upload_id)]:
                del self._cache[key]

    def parsed(self, user_id, upload_id: str, mapping: Mapping | None = None):
        """The parsed file (cached), with an explicit mapping when the user chose one."""
        self.get(user_id, upload_id)
        key = (user_id, upload_id, mapping)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        csv_path, _ = self._paths(user_id, upload_id)
        parsed = load_csv(csv_path, self.limits, mapping)
        self._remember(key, parsed)
        return parsed

    def _remember(self, key, parsed) -> None:
        with self._lock:
            self._cache[key] = parsed
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)


def _read_record(path: Path) -> dict | None:
    """An upload's JSON record, or None (logged) if it is corrupt: one bad file never hides the others."""
    try:
        record = json.loads(path.read_bytes())
        if isinstance(record, dict) and isinstance(record.get("uploaded_at"), str) and record.get("id") == path.stem:
            return record
        problem = "not an upload record"
    except (OSError, ValueError) as exc:
        problem = str(exc)
    log.warning("skipping the corrupt upload record %s (%s); move it aside or delete it with its .csv", path, problem)
    return None
