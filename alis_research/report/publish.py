"""Publish a report folder atomically, and repair what a killed run left beside it.

Shared by ``alis-research report`` (:func:`alis_research.report.build_report`)
and ``alis-research regenerate``. Light on purpose (standard library only): the
no-op path of ``regenerate`` imports it.

Names beside a published folder ``<out>/<name>/``:

``.<name>.tmp-<token>/``
    the staging folder a build writes into;
``.<name>.tmp-<token>.owner``
    its owner file: the building process holds an OS lock on it for as long as
    the staging folder is in use (the text inside — pid, host, start time — is
    for people). The lock is freed by the operating system when the owner ends,
    however it ends (kill -9, out-of-memory killer), so "the lock can be taken"
    means "the owner is gone" without trusting pids, which are reused;
``.<name>.old-<token>/``
    the previous version, renamed aside for the moment between the two renames
    of :func:`publish_dir`;
the output folder's publish lock
    (an OS lock on the folder itself; ``.publish.lock`` on Windows) held by
    :func:`publish_dir` around those two renames, and by
    :func:`recover_interrupted` while it repairs asides, so a repair never
    races a live publish.

What :func:`recover_interrupted` does at the start of every run:

* an aside whose report folder is missing (killed between the two renames) is
  put back; an aside beside a complete report folder (killed after the second
  rename, before the clean-up) is removed;
* a staging folder whose owner lock can be taken (its owner is gone) is
  removed; one whose owner is alive is never touched; one without an owner
  file (made by an older version, or by :func:`alis_research.data.io.atomic_output_dir`)
  is removed only once older than :data:`STALE_TEMP_SECONDS`.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import os
import re
import shutil
import socket
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

#: Staging folders without an owner file are removed once this old (seconds).
STALE_TEMP_SECONDS = 3600.0
#: Lock file, in the output folder, held around the renames that publish a folder.
PUBLISH_LOCK_NAME = ".publish.lock"
#: Longest wait for the publish lock (the renames it guards take milliseconds).
PUBLISH_LOCK_TIMEOUT = 120.0
#: A published report folder holding this file is complete (it is written last).
COMPLETE_MARKER = "manifest.json"
OWNER_SUFFIX = ".owner"

TEMP_PATTERN = re.compile(r"^\.(?P<name>.+)\.tmp-(?P<token>[0-9a-f]+)$")
ASIDE_PATTERN = re.compile(r"^\.(?P<name>.+)\.old-(?P<token>[0-9a-f]+)$")
OWNER_PATTERN = re.compile(r"^\.(?P<name>.+)\.tmp-(?P<token>[0-9a-f]+)\.owner$")


# --------------------------------------------------------------------------- small files
def write_bytes_atomically(path: Path, data: bytes) -> None:
    """Write a small file through a temporary name and a rename (no reader sees half of it).

    Like :func:`alis_research.data.io.atomic_write_bytes`, without importing pandas
    (this module is on the no-op path of ``regenerate``).
    """
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.part")
    try:
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        raise


# --------------------------------------------------------------------------- OS locks
def try_lock(descriptor: int) -> bool:
    """Take an exclusive lock on an open file without waiting; ``False`` when another holds it.

    ``flock`` locks belong to the open file, not to the process, so two
    threads of one process that open the file separately exclude each other too.
    """
    if os.name == "nt":  # pragma: no cover - exercised on Windows only
        import msvcrt

        try:
            msvcrt.locking(descriptor, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _open_lock_file(path: Path) -> int:
    return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)  # not inherited by child processes (PEP 446)


@contextlib.contextmanager
def publish_lock(out_dir: Path, *, timeout: float = PUBLISH_LOCK_TIMEOUT) -> Iterator[None]:
    """Hold the output folder's publish lock, waiting at most ``timeout`` seconds.

    On POSIX systems the lock is taken on the folder itself (nothing is left
    beside the reports); elsewhere on ``<out_dir>/.publish.lock``.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    if os.name == "nt":  # pragma: no cover - exercised on Windows only
        descriptor = _open_lock_file(out_dir / PUBLISH_LOCK_NAME)
    else:
        descriptor = os.open(out_dir, os.O_RDONLY)
    try:
        deadline = time.monotonic() + timeout
        while not try_lock(descriptor):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the publish lock of {out_dir} is held by another process for more than "
                                   f"{timeout:.0f} s")
            time.sleep(0.01)
        yield
    finally:
        os.close(descriptor)  # closing frees the lock


# --------------------------------------------------------------------------- staging and publishing
class StagingOwner:
    """The lock a build holds on its staging folder's owner file while it uses the folder."""

    def __init__(self, final_dir: Path):
        final_dir.parent.mkdir(parents=True, exist_ok=True)
        while True:  # a repair may delete an owner file between our open and lock: then try a new name
            token = uuid.uuid4().hex[:12]
            staging = final_dir.with_name(f".{final_dir.name}.tmp-{token}")
            owner = staging.with_name(staging.name + OWNER_SUFFIX)
            descriptor = _open_lock_file(owner)
            if try_lock(descriptor) and _same_file(descriptor, owner):
                break
            os.close(descriptor)
        started = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        os.write(descriptor, f"pid {os.getpid()} on {socket.gethostname()}, started {started}\n".encode())
        self.token, self.staging, self.owner, self._descriptor = token, staging, owner, descriptor

    def release(self) -> None:
        if self._descriptor is None:
            return
        with contextlib.suppress(FileNotFoundError):
            self.owner.unlink()  # unlink while still locked, so no repair sees an unowned folder
        os.close(self._descriptor)
        self._descriptor = None


def _same_file(descriptor: int, path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(descriptor), os.stat(path))
    except FileNotFoundError:
        return False


def publish_dir(staging: Path, final_dir: Path, *, token: str | None = None) -> None:
    """Move the complete folder ``staging`` to ``final_dir``, replacing any previous one.

    Under the publish lock the previous folder is renamed aside, then the new
    one into place; the aside is deleted after the lock is freed. At every
    moment one complete version exists on disk: the old one (possibly under its
    aside name, which :func:`recover_interrupted` puts back) or the new one.
    """
    staging, final_dir = Path(staging), Path(final_dir)
    aside = final_dir.with_name(f".{final_dir.name}.old-{token or uuid.uuid4().hex[:12]}")
    moved_aside = False
    with publish_lock(final_dir.parent):
        if final_dir.exists():
            os.replace(final_dir, aside)
            moved_aside = True
        try:
            os.replace(staging, final_dir)
        except BaseException:
            if moved_aside:
                os.replace(aside, final_dir)
            raise
    if moved_aside:
        shutil.rmtree(aside, ignore_errors=True)


@contextlib.contextmanager
def staged_output(final_dir) -> Iterator[Path]:
    """Yield an owned staging folder beside ``final_dir``; publish it when the block ends cleanly.

    On an exception (or Ctrl-C, or SIGTERM turned into an exception) the
    staging folder is removed and ``final_dir`` is left as it was. If the
    process is killed outright the folder stays behind, its owner lock freed,
    and the next run's :func:`recover_interrupted` removes it.
    """
    final_dir = Path(final_dir)
    owner = StagingOwner(final_dir)
    try:
        owner.staging.mkdir()
        try:
            yield owner.staging
        except BaseException:
            shutil.rmtree(owner.staging, ignore_errors=True)
            raise
        publish_dir(owner.staging, final_dir, token=owner.token)
    finally:
        owner.release()


# --------------------------------------------------------------------------- repair
def owner_alive(owner: Path) -> bool:
    """Whether the owner file's lock is held (by a live build). A missing file counts as not held."""
    try:
        descriptor = os.open(owner, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        return not try_lock(descriptor)
    finally:
        os.close(descriptor)


def _is_complete(folder: Path) -> bool:
    return (folder / COMPLETE_MARKER).is_file()


def recover_interrupted(out_dir, names: Iterable[str] | None, log: Callable[[str], None], *,
                        now: float | None = None) -> None:
    """Repair what killed builds and publishes left in ``out_dir`` (see the module docstring).

    ``names`` limits the repair to those report folders (and their ``.failed``
    folders); ``None`` repairs every report folder in ``out_dir``. Each action
    is reported through ``log`` as one line starting ``RESTORED`` or ``CLEANED``.
    """
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        return
    now = time.time() if now is None else now
    wanted = None if names is None else {n for name in names for n in (name, f"{name}.failed")}

    def concerned(match) -> bool:
        return match is not None and (wanted is None or match["name"] in wanted)

    entries = sorted(out_dir.iterdir())
    asides = [entry for entry in entries if concerned(ASIDE_PATTERN.match(entry.name)) and entry.is_dir()]
    if asides:
        with publish_lock(out_dir):  # no publish is between its two renames while we look
            for aside in asides:
                name = ASIDE_PATTERN.match(aside.name)["name"]
                final = out_dir / name
                if not final.exists():
                    os.replace(aside, final)
                    log(f"RESTORED {name}: the previous report was left aside by an interrupted run")
                elif _is_complete(final) or not _is_complete(aside):
                    shutil.rmtree(aside, ignore_errors=True)
                    log(f"CLEANED {aside.name}: previous version left aside by an interrupted run")
    for entry in entries:
        temp = TEMP_PATTERN.match(entry.name)
        if concerned(temp) and entry.is_dir():
            owner = entry.with_name(entry.name + OWNER_SUFFIX)
            if owner.exists():
                if owner_alive(owner):
                    continue  # a live build's folder: never touched
                shutil.rmtree(entry, ignore_errors=True)
                with contextlib.suppress(FileNotFoundError):
                    owner.unlink()
                log(f"CLEANED {entry.name}: temporary folder of an interrupted build (its process is gone)")
            elif now - entry.stat().st_mtime > STALE_TEMP_SECONDS:
                shutil.rmtree(entry, ignore_errors=True)
                log(f"CLEANED {entry.name}: temporary folder of an interrupted build")
        orphan = OWNER_PATTERN.match(entry.name)
        if concerned(orphan) and not entry.with_name(entry.name[: -len(OWNER_SUFFIX)]).exists():
            descriptor = os.open(entry, os.O_RDWR) if entry.exists() else None
            if descriptor is not None:
                try:
                    if try_lock(descriptor):
                        entry.unlink(missing_ok=True)
                finally:
                    os.close(descriptor)
