"""`POST /api/v1/analyze`: analyse a CSV sent by a script, answer JSON.

The upload is streamed to a private work file under DATA_DIR/upload-work/ (werkzeug spools the
multipart body to disk, never into memory), analysed, and removed whatever happens: this endpoint
keeps nothing. Errors are the same AnalysisError messages the page shows, with their status codes.
"""
from __future__ import annotations

import logging

from flask import Blueprint, jsonify, request

from services.analysis import AnalysisError, Limits, Mapping, compute_kpis, find_anomalies, load_csv
from services.web.runtime_access import get_runtime

log = logging.getLogger(__name__)
bp = Blueprint("analysis_api", __name__, url_prefix="/api/v1")


def mapping_from_form(form) -> Mapping | None:
    """An explicit column mapping from form fields time, values, groups (comma-separated) and flag."""
    if not form.get("time"):
        return None
    split = lambda name: tuple(v.strip() for v in form.get(name, "").split(",") if v.strip())  # noqa: E731
    return Mapping(form["time"].strip(), split("values"), split("groups"), (form.get("flag") or "").strip() or None)


@bp.post("/analyze")
def analyze():
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return jsonify(error="Send the CSV file as the multipart form field 'file'.", code="no_file"), 400
    runtime = get_runtime()
    path = runtime.uploads.work_file()
    try:
        upload.save(path)
        parsed = load_csv(path, Limits.from_config(runtime.config), mapping_from_form(request.form))
        result = {"profile": parsed.profile, "mapping": parsed.mapping.to_dict(), "rows": parsed.rows,
                  "encoding": parsed.encoding, "delimiter": parsed.delimiter, "warnings": parsed.warnings,
                  "kpis": compute_kpis(parsed.df, parsed.mapping),
                  "anomalies": find_anomalies(parsed.df, parsed.mapping, parsed.line_of_row)}
        return jsonify(result)
    except AnalysisError as exc:
        return jsonify(exc.to_dict()), exc.status
    except Exception:   # a file we did not foresee: say so, keep the server and the details in the log
        log.exception("analysis of an uploaded file failed")
        return jsonify(error="The file could not be analysed; it may be malformed in a way we do not recognise.",
                       code="unreadable"), 422
    finally:
        path.unlink(missing_ok=True)
