"""Each user's uploaded CSV files: received in a stream, validated whole, kept privately in the database.

One code path for SQLite and PostgreSQL, so every web host reads every upload: a row in `uploads`
(the JSON record the API answers, with owner and tenant) and the file in `upload_chunks`, 1 MB per
row, zlib-compressed (level 1: ~150 MB/s, about a third of the size for CSV). An upload is streamed
to a private work file in chunks (never held in memory), checked against the size limit while it
arrives and parsed completely; only a file that parses is stored (the record row stays
invisible until every chunk is in), so a bad or aborted upload leaves nothing behind. To analyse an upload the chunks are
streamed back into a temporary work file that pandas reads and that is removed at once; parsed files
are kept in a small per-process LRU because filters re-run the analysis many times on the same data.
Ids are random hex and every lookup is by (user, id) (and the tenant when the caller gives it), so
one user can never name another user's file. Uploads that earlier releases kept as files in
DATA_DIR/uploads are imported at start by services/storage/upload_import.py.
"""
from __future__ import annotations

import json
import logging
import re
import threading
import time
import uuid
import zlib
from collections import OrderedDict
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from sqlalchemy import delete, select, update

from services.analysis import AnalysisError, Limits, Mapping, load_csv
from services.storage.schema import upload_chunks, uploads, users

log = logging.getLogger(__name__)
CHUNK = 1 << 20
ID_PATTERN = re.compile(r"^[0-9a-f]{32}$")
CACHE_SIZE = 4
LEVEL = 1                 # zlib level: fast enough that storing never costs much next to parsing
PENDING = -1              # uploads.chunks while the chunks are being written: not listed, not found


class UploadNotFound(LookupError):
    pass


def _safe_name(name: str) -> str:
    name = Path(str(name or "upload.csv")).name.strip() or "upload.csv"
    return re.sub(r"[^\w.\- ()]+", "_", name)[:120]


class UploadStore:
    def __init__(self, db, limits: Limits, work_dir: Path):
        """`work_dir`: where uploads arriving and files being analysed are written for a moment
        (DATA_DIR/upload-work; nothing stays there)."""
        self.db = db
        self.limits = limits
        self.work_dir = Path(work_dir)
        self._cache: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    # -- work files ------------------------------------------------------------------------------
    def work_file(self, suffix: str = ".csv") -> Path:
        """A new private path in the work folder (the caller removes it)."""
        self.work_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        return self.work_dir / f"{uuid.uuid4().hex}{suffix}"

    @contextmanager
    def _scratch(self, suffix: str) -> Iterator[Path]:
        path = self.work_file(suffix)
        try:
            yield path
        finally:
            path.unlink(missing_ok=True)

    # -- the API ---------------------------------------------------------------------------------
    def receive(self, user_id, filename: str, stream, tenant: str | None = None) -> dict:
        """Store a streamed upload if it is a CSV we can analyse; raise AnalysisError otherwise."""
        upload_id = uuid.uuid4().hex
        with self._scratch(".part") as part:
            size = 0
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
            self.store_file(user_id, tenant, record, part)
        self._remember((user_id, upload_id, None), parsed)
        return record

    def store_file(self, user_id, tenant: str | None, record: dict, path: Path) -> bool:
        """Keep `record` and the file at `path`; False if an upload with this id is kept already.

        The record row is written first as pending (chunks = -1, invisible), then one short
        transaction per compressed chunk (a 200 MB file never holds SQLite's write lock for long: the
        live pipeline's alert writes go in between), then the row is made visible. Anything failing
        removes what was written; a process killed meanwhile leaves a pending row that `sweep` removes.
        A pending row with this id (an import cut short) is replaced."""
        upload_id = record["id"]
        with self.db.connect(begin="BEGIN IMMEDIATE") as conn:
            found = conn.execute(select(uploads.c.chunks).where(uploads.c.id == upload_id)).first()
            if found and found[0] != PENDING:
                return False
            if found:
                _discard(conn, upload_id)
            if tenant is None:
                tenant = conn.execute(select(users.c.tenant).where(users.c.id == int(user_id))).scalar() or "default"
            conn.execute(uploads.insert(), {"id": upload_id, "user_id": int(user_id), "tenant": tenant,
                                            "uploaded_at": record["uploaded_at"], "size": int(record["size"]),
                                            "chunks": PENDING, "stored_at": time.time(), "record": json.dumps(record)})
        try:
            count = 0
            with open(path, "rb") as source:
                while chunk := source.read(CHUNK):
                    data = zlib.compress(chunk, LEVEL)
                    with self.db.connect(begin="BEGIN IMMEDIATE") as conn:
                        conn.execute(upload_chunks.insert(), {"upload_id": upload_id, "n": count, "data": data})
                    count += 1
            with self.db.connect(begin="BEGIN IMMEDIATE") as conn:
                done = conn.execute(update(uploads).where(uploads.c.id == upload_id, uploads.c.chunks == PENDING)
                                    .values(chunks=count, stored_at=time.time()))
                if done.rowcount != 1:
                    raise RuntimeError(f"upload {upload_id} was removed while it was being stored")
        except BaseException:
            with self.db.connect(begin="BEGIN IMMEDIATE") as conn:
                _discard(conn, upload_id)
            raise
        return True

    def sweep(self, older_than: float = 86400.0) -> int:
        """Remove what a process killed mid-upload left: pending rows (and their chunks) and work files
        older than `older_than` seconds; how many rows went."""
        cutoff = time.time() - older_than
        with self.db.connect(begin="BEGIN IMMEDIATE") as conn:
            stale = conn.execute(select(uploads.c.id).where(uploads.c.chunks == PENDING,
                                                            uploads.c.stored_at < cutoff)).scalars().all()
            for upload_id in stale:
                _discard(conn, upload_id)
        for path in self.work_dir.glob("*") if self.work_dir.is_dir() else ():
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
            except OSError:
                pass
        if stale:
            log.warning("removed %d upload(s) left unfinished by a stopped process: %s", len(stale), ", ".join(stale))
        return len(stale)

    def list(self, user_id, tenant: str | None = None) -> list[dict]:
        """The user's uploads, newest first; a record that cannot be read is left out (with a warning)."""
        rows = self.db.query(select(uploads.c.id, uploads.c.record)
                             .where(*self._owner(user_id, tenant)).order_by(uploads.c.uploaded_at.desc()))
        return [r for r in (_read_record(row["id"], row["record"]) for row in rows) if r is not None]

    def get(self, user_id, upload_id: str, tenant: str | None = None) -> dict:
        return self._row(user_id, upload_id, tenant)[0]

    def delete(self, user_id, upload_id: str, tenant: str | None = None) -> None:
        if not ID_PATTERN.match(upload_id or ""):
            raise UploadNotFound(upload_id)
        with self.db.connect(begin="BEGIN IMMEDIATE") as conn:
            gone = conn.execute(delete(uploads).where(uploads.c.id == upload_id, *self._owner(user_id, tenant)))
            if gone.rowcount == 0:
                raise UploadNotFound(upload_id)
            conn.execute(delete(upload_chunks).where(upload_chunks.c.upload_id == upload_id))
        with self._lock:
            for key in [k for k in self._cache if k[:2] == (user_id, upload_id)]:
                del self._cache[key]

    def parsed(self, user_id, upload_id: str, mapping: Mapping | None = None, tenant: str | None = None):
        """The parsed file (cached), with an explicit mapping when the user chose one."""
        _, chunks = self._row(user_id, upload_id, tenant)
        key = (user_id, upload_id, mapping)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        with self._scratch(".csv") as path:
            self.copy_to(upload_id, chunks, path)
            parsed = load_csv(path, self.limits, mapping)
        self._remember(key, parsed)
        return parsed

    def copy_to(self, upload_id: str, chunks: int, path: Path) -> None:
        """Write the upload's file to `path`, streamed one chunk at a time from the database."""
        written, problem = 0, None
        with self.db.connect() as conn, open(path, "wb") as out:
            result = conn.execution_options(yield_per=2).execute(
                select(upload_chunks.c.data).where(upload_chunks.c.upload_id == upload_id).order_by(upload_chunks.c.n))
            try:
                for (data,) in result:
                    out.write(zlib.decompress(data))
                    written += 1
            except zlib.error as exc:
                problem = f"chunk {written} does not decompress ({exc})"
        if problem or written != chunks:
            log.warning("upload %s is damaged in the database (%s); treated as missing", upload_id,
                        problem or f"{written} of its {chunks} chunks")
            raise UploadNotFound(upload_id)

    # -- helpers ---------------------------------------------------------------------------------
    @staticmethod
    def _owner(user_id, tenant: str | None) -> list:
        conditions = [uploads.c.user_id == int(user_id), uploads.c.chunks >= 0]
        if tenant is not None:
            conditions.append(uploads.c.tenant == tenant)
        return conditions

    def _row(self, user_id, upload_id: str, tenant: str | None) -> tuple[dict, int]:
        if not ID_PATTERN.match(upload_id or ""):
            raise UploadNotFound(upload_id)
        rows = self.db.query(select(uploads.c.record, uploads.c.chunks)
                             .where(uploads.c.id == upload_id, *self._owner(user_id, tenant)))
        record = _read_record(upload_id, rows[0]["record"]) if rows else None
        if record is None:
            raise UploadNotFound(upload_id)
        return record, rows[0]["chunks"]

    def _remember(self, key, parsed) -> None:
        with self._lock:
            self._cache[key] = parsed
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)


def _discard(conn, upload_id: str) -> None:
    conn.execute(delete(upload_chunks).where(upload_chunks.c.upload_id == upload_id))
    conn.execute(delete(uploads).where(uploads.c.id == upload_id))


def _read_record(upload_id: str, raw) -> dict | None:
    """An upload's record, or None (logged) if it is corrupt: one bad record never hides the others."""
    try:
        record = json.loads(raw)
        if isinstance(record, dict) and isinstance(record.get("uploaded_at"), str) and record.get("id") == upload_id:
            return record
        problem = "not an upload record"
    except (TypeError, ValueError) as exc:
        problem = str(exc)
    log.warning("skipping the corrupt upload record %s (%s); delete it (DELETE /api/v1/uploads/%s)",
                upload_id, problem, upload_id)
    return None
