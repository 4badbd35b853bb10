"""REST for a user's uploads: stream a file in, list, delete.

`POST /api/v1/uploads?name=<file name>` takes the raw file as the request body (what the page's
upload sends, so the browser streams the file and reports progress) or a multipart field `file`
(what curl -F sends). The body is read in 1 MB chunks to a work file, then kept in the database
(services/storage/uploads.py).
"""
from __future__ import annotations

import logging

from flask import Blueprint, jsonify, request
from flask_login import current_user

from services.analysis import AnalysisError
from services.web.auth import protect_form
from services.realtime.notifications import notify_user
from services.storage.uploads import UploadNotFound
from services.web.runtime_access import get_runtime

log = logging.getLogger(__name__)

bp = Blueprint("uploads_api", __name__, url_prefix="/api/v1/uploads")


def store():
    return get_runtime().uploads


@bp.post("")
def create():
    protect_form()               # an upload is a form post: it carries the CSRF token (header X-CSRFToken)
    if request.files.get("file"):
        upload = request.files["file"]
        name, stream = upload.filename, upload.stream
    else:
        name, stream = request.args.get("name", "upload.csv"), request.stream
    runtime = get_runtime()
    try:
        record = store().receive(current_user.id, name, stream, tenant=current_user.tenant)
    except AnalysisError as exc:
        notify_user(runtime.hub, current_user.tenant, current_user.id, "error", "Upload refused",
                    f"{name[:80]}: {exc.message}")
        return jsonify(exc.to_dict()), exc.status
    except Exception:   # a file we did not foresee: the store kept nothing; say so, details in the log
        log.exception("upload of %r failed", name[:80])
        return jsonify(error="The file could not be read; it may be malformed in a way we do not recognise.",
                       code="unreadable"), 422
    notify_user(runtime.hub, current_user.tenant, current_user.id, "success", "Upload ready",
                f"{record['name']}: {record['rows']:,} rows ({record['profile']}); open it on the Analysis page.")
    return jsonify(record), 201


@bp.get("")
def index():
    return jsonify(uploads=store().list(current_user.id, tenant=current_user.tenant))


@bp.delete("/<upload_id>")
def delete(upload_id):
    try:
        store().delete(current_user.id, upload_id, tenant=current_user.tenant)
    except UploadNotFound:
        return jsonify(error="No such upload.", code="not_found"), 404
    return "", 204
