"""Read a data set's files by relative path from an extracted folder or straight from its .tar/.zip archive."""
import os
import tarfile
import zipfile
from typing import Callable, Optional


class BuildError(Exception):
    """A missing or unreadable source file; the message names it."""


class SourceFiles:
    """``read("a/b.jpg")`` from the folder ``path``, or from the archive ``path`` whose member names ``key`` maps to
    such relative paths (``None`` skips a member)."""

    def __init__(self, path: str, key: Callable[[str], Optional[str]]):
        self.path = path
        self.archive = None
        if os.path.isfile(path) and tarfile.is_tarfile(path):
            self.archive = tarfile.open(path)
            members = {key(m.name): m for m in self.archive.getmembers() if m.isfile()}
            self.extract = lambda member: self.archive.extractfile(member).read()
        elif os.path.isfile(path) and zipfile.is_zipfile(path):
            self.archive = zipfile.ZipFile(path)
            members = {key(name): name for name in self.archive.namelist()}
            self.extract = self.archive.read
        elif not os.path.isdir(path):
            raise BuildError(f"{path}: neither an extracted folder nor a .tar/.zip archive")
        if self.archive is not None:
            self.members = {k: v for k, v in members.items() if k is not None}

    def read(self, relative: str) -> bytes:
        if self.archive is None:
            full = os.path.join(self.path, relative)
            if not os.path.isfile(full):
                raise BuildError(f"{full}: missing")
            with open(full, "rb") as file:
                return file.read()
        if relative not in self.members:
            raise BuildError(f"{self.path}: has no {relative}")
        return self.extract(self.members[relative])
