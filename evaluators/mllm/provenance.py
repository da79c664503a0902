"""What a summary records so a score can be traced to exact inputs and code."""
from __future__ import annotations

import hashlib
import subprocess
from importlib import metadata
from pathlib import Path

_REPO_ROOT = Path(__file__).resolve().parents[2]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def data_file_hashes(paths: list[Path], root: Path) -> dict[str, str]:
    return {str(p.relative_to(root) if p.is_relative_to(root) else p): sha256_of(p) for p in paths}


def code_version() -> dict[str, str | bool | None]:
    """Git commit of the checkout when there is one, else the installed package version."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=_REPO_ROOT, capture_output=True,
                                text=True, timeout=10, check=True).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                                    cwd=_REPO_ROOT, capture_output=True, text=True, timeout=10).stdout.strip())
        return {"git_commit": commit, "git_dirty": dirty}
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        return {"package_version": metadata.version("unitok-stack")}
    except metadata.PackageNotFoundError:
        return {"package_version": None}
