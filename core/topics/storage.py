"""Storing what residents and units submit: validated form data and uploaded files.

Files are stored once by SHA-256 under DATA_DIR/uploads/<first two hex>/<sha256> (written to a
temporary name and renamed, so a crash never leaves half a file under the real name) and
recorded in ``StoredFile``; a submission records the form's id and version with the clean values,
so old submissions stay readable after a form changes.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from core.lowcode.forms import Result, Upload
from core.topics.tables import StoredFile, Submission


def upload_path(data_dir: Path, sha256: str) -> Path:
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError("not a sha256 hex digest")
    return data_dir / "uploads" / sha256[:2] / sha256


def write_upload(data_dir: Path, upload: Upload) -> str:
    """Put the file's bytes on disk (once); return its sha256. Call before the DB transaction."""
    path = upload_path(data_dir, upload.sha256)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(upload.data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return upload.sha256


async def save_submission(data_dir: Path, result: Result, actor: str, nonce: str | None = None) -> int:
    """Store a valid form result and its files; must run inside ``core.db.atomic()``.

    ``nonce`` is the form's one-time key (unique): look it up first with :func:`submission_by_nonce`
    so a retried POST finds the first submission instead of storing a second.

    File bytes are written first (content-addressed, so a rolled-back transaction leaves only an
    unreferenced file, never a reference to a missing one).
    """
    if not result.ok:
        raise ValueError("only a valid result can be stored")
    for sha, upload in result.files.items():
        write_upload(data_dir, upload)
        if not await StoredFile.exists().where(StoredFile.sha256 == sha):
            await StoredFile.insert(StoredFile(sha256=sha, filename=upload.filename[:200],
                                               kind=_kind_of(result, sha), size=upload.size))
    row = (await Submission.insert(Submission(
        form_id=result.form_id, form_version=result.form_version,
        data=json.dumps(result.values, ensure_ascii=False, sort_keys=True), actor=actor, nonce=nonce,
    )).returning(Submission.id))[0]
    return row["id"]


async def submission_by_nonce(nonce: str) -> int | None:
    """The id of the submission stored under this one-time key, if any."""
    row = await Submission.select(Submission.id).where(Submission.nonce == nonce).first()
    return row["id"] if row else None


def _kind_of(result: Result, sha: str) -> str:
    for value in result.values.values():
        if isinstance(value, list):
            for item in value:
                if isinstance(item, dict) and item.get("sha256") == sha:
                    return str(item.get("kind", "file"))
    return "file"


async def load_submission(submission_id: int) -> dict[str, Any] | None:
    """``{"form", "version", "values", "created_at"}`` of a stored submission."""
    row = await Submission.select().where(Submission.id == submission_id).first()
    if row is None:
        return None
    return {"form": row["form_id"], "version": row["form_version"], "values": json.loads(row["data"]),
            "created_at": row["created_at"]}
