"""Publish a folder of result files at once: stage them in a hidden folder, then ``os.replace``.

Files are written into a staging folder inside the output folder (``.tinmatch-partial-<pid>.*``,
the same file system, so a move is a rename). :meth:`Staging.publish` first removes the older
*seal* file, then moves the other files into place, then the seal last, and syncs the folder:
a run that fails or is killed half way leaves no partial file under a final name, and when the
seal (``result.xlsx``) exists, the files beside it are from the same run. Staging folders left
by a killed run are removed by the next :class:`Staging` in the same folder.

The crash tests kill the process at the named points below (``TINMATCH_TEST_CRASH_AT``).
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
from collections.abc import Sequence
from pathlib import Path

from tinmatch.settings import TEST_CRASH_AT

STAGING_PREFIX = ".tinmatch-partial-"
#: Test hook: when this environment variable names a crash point (see :func:`crash_point`), the
#: process kills itself there with SIGKILL, as ``kill -9`` would. Only the crash tests set it.
CRASH_ENV = TEST_CRASH_AT.name
CRASH_POINTS = (
    "first_chunk", "before_publish", "after_first_csv", "before_xlsx", "after_publish",
)


def crash_point(name: str) -> None:
    """Die here (SIGKILL) when the crash tests ask for this point."""
    if TEST_CRASH_AT.text() == name:
        os.kill(os.getpid(), signal.SIGKILL)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists, it is someone else's
        return True
    return True


def remove_stale_staging(out_dir: Path) -> list[Path]:
    """Remove staging folders of writers that are no longer running; return what was removed."""
    removed: list[Path] = []
    for entry in out_dir.glob(f"{STAGING_PREFIX}*"):
        pid_text = entry.name[len(STAGING_PREFIX):].split(".", 1)[0]
        if not pid_text.isdigit() or int(pid_text) == os.getpid() or _pid_alive(int(pid_text)):
            continue
        shutil.rmtree(entry, ignore_errors=True)
        removed.append(entry)
    return removed


def fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def fsync_file(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


class Staging:
    """A hidden folder inside `out_dir` (created now) where files wait until they are published."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        remove_stale_staging(self.out_dir)
        self.path = Path(
            tempfile.mkdtemp(dir=self.out_dir, prefix=f"{STAGING_PREFIX}{os.getpid()}.")
        )

    def publish(self, files: Sequence[tuple[Path, Path]], seal: tuple[Path, Path]) -> None:
        """Move each staged file of `files` (staged, final) into place, the `seal` last.

        The staged files must be complete and synced. The old seal is removed first: while the
        files are replaced, no seal claims them. The caller then calls :meth:`remove`.
        """
        staged_seal, final_seal = seal
        crash_point("before_publish")
        final_seal.unlink(missing_ok=True)
        for index, (staged, final) in enumerate(files):
            os.replace(staged, final)
            if index == 0:
                crash_point("after_first_csv")
        crash_point("before_xlsx")
        os.replace(staged_seal, final_seal)
        fsync_dir(self.out_dir)

    def remove(self) -> None:
        """Remove the staging folder and whatever is left in it."""
        shutil.rmtree(self.path, ignore_errors=True)
