"""Before an install starts: can it write everything it will need to write?

An install that finds out at its last step that the report cannot be written, or at its first that the
journal folder is read-only, has already spent minutes or left files behind. These checks run first and
create nothing that stays: a writability probe is a temporary file, removed at once.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from installer.core import journal, paths
from installer.core.inputs import check_path
from installer.core.plan import ChoiceError


def check_install_io(env: str, report: str | None = None) -> None:
    """Raise ChoiceError (one sentence) unless the journal and log folders, the environment's parent
    folder and the --report file can all be written. Call after planning, before the runner."""
    for folder, what in ((journal.runs_dir(), "its run journal"), (paths.log_dir(), "its logs")):
        problem = folder_problem(folder)
        if problem:
            raise ChoiceError(f"Torch Setup cannot write {what} in {folder} ({problem}): make that folder "
                              "writable, or set TORCH_SETUP_HOME to a writable folder.")
    target = Path(os.path.abspath(Path(env).expanduser()))
    problem = folder_problem(target.parent)
    if problem:
        raise ChoiceError(f"The environment {target} cannot be created: its folder {target.parent} {problem}.")
    if report:
        check_report_path(report)


def check_report_path(report: str) -> None:
    """The --report file's folder exists and is writable, and the path is not a folder."""
    check_path(report, "--report")
    path = Path(os.path.abspath(Path(report).expanduser()))
    if path.is_dir():
        raise ChoiceError(f"--report {path} is a folder: give the path of a file to write.")
    if not path.parent.is_dir():
        raise ChoiceError(f"The folder of --report, {path.parent}, does not exist: create it or choose another.")
    problem = folder_problem(path.parent, create=False)
    if problem:
        raise ChoiceError(f"--report {path} cannot be written: its folder {problem}.")
    if path.exists() and not os.access(path, os.W_OK):
        raise ChoiceError(f"--report {path} exists and cannot be overwritten (it is read-only).")


def folder_problem(folder: Path, create: bool = True) -> str | None:
    """Why files cannot be written into `folder`, or None. With `create`, a folder that does not exist
    yet is judged by its nearest existing ancestor (where it would be created)."""
    probe = folder
    if create:
        while not probe.exists() and not probe.is_symlink() and probe != probe.parent:
            probe = probe.parent
    if probe.is_symlink() and not probe.exists():
        return f"is a broken link ({probe})" if probe == folder else f"would be made under a broken link, {probe}"
    if not probe.is_dir():
        return "is a file, not a folder" if probe == folder else f"would be made under {probe}, which is a file"
    try:
        fd, name = tempfile.mkstemp(prefix=".torch-setup-write-test-", dir=probe)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        return f"is not writable: {reason}" if probe == folder else f"would be made in {probe}, which is not writable: {reason}"
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(name)
    return None


def made_by_torch_setup(folder: Path) -> bool:
    """An environment an earlier run made (its marker says so): the only kind offered for replacing."""
    try:
        return folder.is_dir() and journal.read_marker(folder) is not None
    except OSError:
        return False


def env_location_problem(folder: Path, need_mib: int, replacing: bool = False) -> str | None:
    """Why the environment cannot be created at `folder`, in one sentence, or None when it can (the wizard
    asks this as the user types). replacing: `folder` is Torch Setup's own environment being replaced."""
    if folder.exists():
        if not folder.is_dir():
            return f"{folder} is a file; choose another name."
        try:
            if not replacing and any(folder.iterdir()):
                return f"{folder} already exists and is not empty; choose another name or location."
        except OSError as exc:
            return f"{folder} cannot be read: {exc.strerror or exc}."
    anchor = next((c for c in (folder, *folder.parents) if c.exists()), None)
    if anchor is None:
        return f"{folder} is on a drive that does not exist."
    if not anchor.is_dir():
        return f"{anchor} is a file, so no folder can be created inside it."
    if not os.access(anchor, os.W_OK | os.X_OK):
        return f"You cannot create folders in {anchor} (no permission); choose a folder in your home."
    try:
        free_mib = shutil.disk_usage(anchor).free // (1024 * 1024)
    except OSError:
        return None
    if free_mib < need_mib:
        return (f"Only {_mib_text(free_mib)} free on the drive of {anchor}; this install needs about "
                f"{_mib_text(need_mib)}. Free some space or choose another drive.")
    return None


def _mib_text(mib: int) -> str:
    return f"{mib / 1024:.1f} GB" if mib >= 1000 else f"{int(mib)} MB"
