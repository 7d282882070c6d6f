"""Spool files hold pending addresses only while a request is processed, and no one can open
them by name: the temporary file is anonymous (unlinked as it is created), so nothing is left
behind, even by a run killed with SIGKILL (issue 13: no address anywhere before release)."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

import pytest

from tinmatch.ops import PendingDisclosure
from tinmatch.spool import Spool


def test_spooled_disclosures_are_in_no_file_anyone_can_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    spool: Spool[PendingDisclosure] = Spool(batch_items=2)
    for i in range(5):
        spool.append(
            PendingDisclosure(
                f"R{i}", "900000001", {"street": "12 SECRET ST"}, 2024, 0.999, "8 U.S.C. 1326",
                "C-1",
            )  # fmt: skip
        )
    assert spool._file is not None, "the batches were spilled to disk"
    assert list(tmp_path.iterdir()) == [], "the spool file has a name someone could open"
    mode = os.fstat(spool._file.fileno()).st_mode
    assert stat.S_IMODE(mode) & 0o077 == 0  # and it is the owner's only
    assert [d.record_id for d in spool] == [f"R{i}" for i in range(5)]
    spool.close()
