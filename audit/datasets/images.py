"""Image sources (folders and zips), header-only probing with Pillow, the content-addressed
store, and cached thumbnails."""

import errno
import hashlib
import io
import os
import stat
import struct
import tempfile
import threading
import warnings
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from django.conf import settings
from PIL import Image as PILImage
from PIL import UnidentifiedImageError

from audit.datasets.importers.formats import unsafe_path_reason

ALLOWED_FORMATS = {
    "JPEG": "jpg",
    "PNG": "png",
    "GIF": "gif",
    "BMP": "bmp",
    "TIFF": "tif",
    "WEBP": "webp",
}


class ImageProblem(Exception):
    """An image that cannot be used (missing, corrupt, too large, unsupported)."""


class ImageUnavailable(Exception):
    """A recorded image whose file cannot be served now (missing, changed, outside its root)."""


@dataclass(frozen=True)
class ProbedImage:
    sha256: str
    format: str
    width: int
    height: int
    size_bytes: int


class ImageSources:
    """Looks up relative image paths in folders and zip files given with ``--images``.

    Zip members with hostile names (absolute, '..', links) are never used and are listed in
    ``problems``; nothing is ever extracted by a member's own name.
    """

    def __init__(self, sources: list[Path]):
        self.dirs: list[Path] = []
        self.members: dict[str, tuple[zipfile.ZipFile, zipfile.ZipInfo]] = {}
        self.problems: list[str] = []
        self._zips: list[zipfile.ZipFile] = []
        self._folders: dict[tuple[Path, str], Path] = {}  # (root, folder) -> resolved folder
        for source in sources:
            source = Path(source)
            if source.is_dir():
                self.dirs.append(source.resolve())
            elif source.is_file() and zipfile.is_zipfile(source):
                self._index_zip(source)
            elif source.exists():
                raise ImageProblem(f"{source.name}: not a folder or a zip file")
            else:
                raise ImageProblem(f"{source}: no such folder or zip file")

    def _index_zip(self, path: Path) -> None:
        try:
            archive = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise ImageProblem(f"{path.name}: not a readable zip file ({exc})") from None
        self._zips.append(archive)
        for info in archive.infolist():
            if info.is_dir():
                continue
            name = info.filename
            reason = unsafe_path_reason(name)
            if reason is None and stat.S_ISLNK(info.external_attr >> 16):
                reason = "is a symbolic link"
            if reason:
                self.problems.append(f"{path.name}: member {name[:200]!r} {reason}")
                continue
            self.members.setdefault(str(PurePosixPath(name.replace("\\", "/"))), (archive, info))

    @property
    def empty(self) -> bool:
        return not self.dirs and not self._zips

    def read(self, rel_path: str) -> bytes | None:
        """The file's bytes, or None when no source has it. The path was checked as safe."""
        return self.locate(rel_path)[0]

    def locate(self, rel_path: str) -> tuple[bytes | None, Path | None]:
        """The file's bytes and, when it came from a folder, its resolved path (inside the
        folder); (None, None) when no source has it. Safe to call from several threads."""
        limit = settings.IMAGE_MAX_BYTES
        for candidate in _candidates(rel_path):
            found = self.members.get(str(candidate))
            if found:
                archive, info = found
                if info.file_size > limit:
                    raise ImageProblem(f"{info.file_size:,} bytes, more than the {limit:,} allowed")
                try:
                    data = _read_member(archive, info, limit)
                except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
                    # e.g. a member whose declared size or CRC lies (a crafted zip bomb).
                    raise ImageProblem(f"damaged zip member ({exc})") from None
                if len(data) > limit:
                    raise ImageProblem(f"more than the {limit:,} bytes allowed")
                return data, None
            for root in self.dirs:
                path = self._inside(root, candidate)
                data = _read_regular(path, limit)
                if data is _SYMLINK:  # the file itself is a link: where does it lead?
                    path = path.resolve()
                    if not path.is_relative_to(root):
                        raise ImageProblem("resolves outside the image folder (symbolic link)")
                    data = _read_regular(path, limit)
                if data is None or data is _SYMLINK:
                    continue
                if len(data) > limit:
                    raise ImageProblem(f"more than the {limit:,} bytes allowed")
                return data, path
        return None, None

    def prefetch(self, rel_paths: list[str]) -> None:
        """Ask the kernel to start reading these files (a batch about to be loaded one by one):
        reads queued together are served in the disk's order, not one round trip at a time.
        Only a hint: a path not found, or a file that cannot be opened, is left to ``locate``."""
        advise = getattr(os, "posix_fadvise", None)
        if advise is None:
            return
        for rel_path in rel_paths:
            for candidate in _candidates(rel_path):
                if self._prefetch_one(candidate, advise):
                    break

    def _prefetch_one(self, rel: PurePosixPath, advise) -> bool:
        found = self.members.get(str(rel))
        if found:
            archive, info = found
            if archive.fp is not None:  # the header, name and extra field, then the data
                length = 30 + 2 * len(info.orig_filename) + 256 + info.compress_size
                advise(archive.fp.fileno(), info.header_offset, length, os.POSIX_FADV_WILLNEED)
            return True
        for root in self.dirs:
            try:
                flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK  # a FIFO must not block
                fd = os.open(self._inside(root, rel), flags)
            except (OSError, ImageProblem):
                continue
            try:
                advise(fd, 0, 0, os.POSIX_FADV_WILLNEED)
            except OSError:  # not a regular file (a FIFO, say): ``locate`` refuses it
                pass
            finally:
                os.close(fd)
            return True
        return False

    def _inside(self, root: Path, rel: PurePosixPath) -> Path:
        """``root / rel`` with its folder resolved (symbolic links followed, once per folder)
        and checked to be inside ``root``; the file name itself is opened without following
        a link (``_read_regular``)."""
        key = (root, str(rel.parent))
        folder = self._folders.get(key)
        if folder is None:
            folder = Path(os.path.realpath(root / rel.parent))
            if not folder.is_relative_to(root):
                raise ImageProblem("resolves outside the image folder (symbolic link)")
            self._folders[key] = folder
        return folder / rel.name

    def close(self) -> None:
        for archive in self._zips:
            archive.close()


def _candidates(rel_path: str) -> list[PurePosixPath]:
    """Where a record's image path may be in the sources: as given, and without its first
    folder (``--images`` pointed at ``images/`` itself)."""
    rel = PurePosixPath(rel_path.replace("\\", "/"))
    return [rel, PurePosixPath(*rel.parts[1:])] if len(rel.parts) > 1 else [rel]


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """A stored or deflated member's bytes, up to ``limit + 1``, read with ``os.pread`` (no
    shared file position: threads read members at once, without zipfile's lock and per-read
    Python work), its size and CRC checked. Anything else goes through zipfile."""
    plain = info.compress_type in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
    if info.flag_bits & 0x1 or not plain or archive.fp is None:
        with archive.open(info) as fh:
            return fh.read(limit + 1)
    fd = archive.fp.fileno()
    header = os.pread(fd, 30, info.header_offset)
    if len(header) < 30 or header[:4] != b"PK\x03\x04":
        raise zipfile.BadZipFile("bad local file header")
    name_length, extra_length = struct.unpack("<HH", header[26:30])
    raw = os.pread(fd, info.compress_size, info.header_offset + 30 + name_length + extra_length)
    if len(raw) != info.compress_size:
        raise zipfile.BadZipFile("truncated member")
    if info.compress_type == zipfile.ZIP_STORED:
        data = raw
    else:
        data = zlib.decompressobj(-15).decompress(raw, limit + 1)
    if len(data) > limit:
        return data
    if len(data) != info.file_size or zlib.crc32(data) != info.CRC:
        raise zipfile.BadZipFile(f"bad size or CRC-32 for file {info.filename[:200]!r}")
    return data


_SYMLINK = object()
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)


def _read_regular(path: Path, limit: int) -> bytes | object | None:
    """Up to ``limit + 1`` bytes of a regular file; None when there is none at ``path`` (or it
    is a folder, a device, a FIFO: never blocks on one); _SYMLINK when ``path`` is a link."""
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return _SYMLINK
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None
        if info.st_size > limit:
            raise ImageProblem(f"more than the {limit:,} bytes allowed")
        # The size read, and one byte more to see a file that grew: never a buffer of
        # ``limit`` bytes for every small file.
        with open(fd, "rb", buffering=0, closefd=False) as fh:
            data = fh.read(info.st_size + 1)
            if len(data) > info.st_size:  # it grew while being read
                data += fh.read(limit + 1 - len(data))
            return data
    finally:
        os.close(fd)


# Start-of-frame markers (baseline, extended, progressive, lossless; not DHT, JPG, DAC).
_JPEG_SOF = frozenset(
    {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
)


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a plainly well-formed JPEG: every marker segment up to the first
    scan walked and bounds-checked, one frame header with 1, 3 or 4 components. None for
    anything else, which Pillow then probes (the import's common case without Pillow's
    per-file cost, which was most of an image's CPU time)."""
    n = len(data)
    pos = 2
    size = None
    while pos + 4 <= n:
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD9:
            return None  # no length, unexpected before the scan
        length = (data[pos + 2] << 8) | data[pos + 3]
        if length < 2 or pos + 2 + length > n:
            return None
        if marker in _JPEG_SOF:
            components = data[pos + 9] if length >= 8 else 0
            if size is not None or components not in (1, 3, 4) or length != 8 + 3 * components:
                return None
            height = (data[pos + 5] << 8) | data[pos + 6]
            width = (data[pos + 7] << 8) | data[pos + 8]
            size = (width, height)
        elif marker == 0xDA:
            return size
        pos += 2 + length
    return None


def probe_image(data: bytes) -> ProbedImage:
    """Format and size from the header (no full decode); catches corrupt, truncated and
    decompression-bomb images."""
    max_pixels = settings.IMAGE_MAX_PIXELS
    if data[:3] == b"\xff\xd8\xff":
        size = _jpeg_size(data)
        # Within the limits and complete: done; anything else gets Pillow's checks and words.
        complete = b"\xff\xd9" in data[-64:]
        if size and size[0] and size[1] and size[0] * size[1] <= max_pixels and complete:
            return ProbedImage(
                sha256=hashlib.sha256(data).hexdigest(),
                format="JPEG",
                width=size[0],
                height=size[1],
                size_bytes=len(data),
            )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PILImage.DecompressionBombWarning)
            PILImage.MAX_IMAGE_PIXELS = max_pixels
            with PILImage.open(io.BytesIO(data)) as im:
                fmt, (width, height) = im.format, im.size
                if fmt not in ALLOWED_FORMATS:
                    raise ImageProblem(f"unsupported image format {fmt}")
                if width * height > max_pixels:
                    raise ImageProblem(
                        f"{width}x{height} pixels, more than the {max_pixels:,} allowed "
                        "(decompression bomb?)"
                    )
                if fmt == "JPEG":
                    # JPEG's verify() checks nothing; a complete file ends with the EOI marker.
                    if b"\xff\xd9" not in data[-64:]:
                        raise ImageProblem("truncated JPEG (no end-of-image marker)")
                else:
                    im.verify()  # chunk checksums and structure, no pixel decode
    except (PILImage.DecompressionBombError, PILImage.DecompressionBombWarning) as exc:
        raise ImageProblem(f"decompression bomb: {exc}") from None
    except UnidentifiedImageError:
        raise ImageProblem("not an image, or an unsupported image format") from None
    except ImageProblem:
        raise
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageProblem(f"corrupt or truncated image ({exc})") from None
    if width < 1 or height < 1:
        raise ImageProblem("image has no pixels")
    return ProbedImage(
        sha256=hashlib.sha256(data).hexdigest(),
        format=fmt,
        width=width,
        height=height,
        size_bytes=len(data),
    )


def store_target(sha256: str, fmt: str) -> Path:
    """Where the store puts an image: one level of 256 folders. (Two levels, 65,536 folders,
    made an import create a folder for almost every image until the store held a few hundred
    thousand: as many metadata writes as the files themselves.)"""
    return settings.IMAGE_STORE_DIR / sha256[:2] / f"{sha256}.{ALLOWED_FORMATS[fmt]}"


def _legacy_store_path(sha256: str, fmt: str) -> Path:
    return settings.IMAGE_STORE_DIR / sha256[:2] / sha256[2:4] / f"{sha256}.{ALLOWED_FORMATS[fmt]}"


LAYOUT_MARKER = ".one-level"


def _has_legacy_layout() -> bool:
    """Whether the store may hold two-level folders (made before 2026-12-04): unless it was
    started empty with the one-level layout, which leaves a marker file."""
    root = settings.IMAGE_STORE_DIR
    marker = root / LAYOUT_MARKER
    if marker.exists():
        return False
    root.mkdir(parents=True, exist_ok=True)
    with os.scandir(root) as entries:
        if next(entries, None) is None:
            marker.touch()
            return False
    return True


def store_path(sha256: str, fmt: str) -> Path:
    """The stored image's file: where the store puts it, or where stores made before
    2026-12-04 put it (two folder levels) when it is there."""
    target = store_target(sha256, fmt)
    if target.exists():
        return target
    legacy = _legacy_store_path(sha256, fmt)
    return legacy if legacy.exists() else target


# Why a hard link could not be made, and the file was copied instead.
LINK_FALLBACK = {
    errno.EXDEV: "the images are on another filesystem than the image store",
    errno.EPERM: "the filesystem or its settings refuse hard links to these files",
    errno.EMLINK: "a file has too many links",
    errno.ENOTSUP: "the filesystem has no hard links",
}


class ImageStoreWriter:
    """Writes images into the content-addressed store and can take back what it wrote, so a
    failed import leaves the store as it found it. Safe to use from several threads."""

    def __init__(self) -> None:
        self.created: list[Path] = []
        self.linked = 0
        self.link_fallback: str | None = None  # why --link copied instead, once
        self._dirs: set[Path] = set()
        self._lock = threading.Lock()
        self._legacy: bool | None = None  # does the store hold two-level folders?

    def _target(self, probed: ProbedImage) -> Path | None:
        """Where the image goes, its folder made; None when the store already has it."""
        target = store_target(probed.sha256, probed.format)
        if target.exists():
            return None
        if self._legacy is None:
            marked = (settings.IMAGE_STORE_DIR / LAYOUT_MARKER).exists()
            self._legacy = _has_legacy_layout()
            if not marked and not self._legacy:  # made now: taken back with the files
                self.created.append(settings.IMAGE_STORE_DIR / LAYOUT_MARKER)
        if self._legacy and _legacy_store_path(probed.sha256, probed.format).exists():
            return None
        parent = target.parent
        if parent not in self._dirs:
            parent.mkdir(parents=True, exist_ok=True)
            self._dirs.add(parent)
        return target

    def put(self, probed: ProbedImage, data: bytes) -> Path:
        """Write the image at its name directly (created exclusively: one file operation
        fewer than a temporary file renamed, which cost an import a third of its file-system
        time). A file left short by a crash is seen by its size and written again."""
        target = self._target(probed)
        if target is None:
            existing = store_path(probed.sha256, probed.format)
            if existing.stat().st_size == len(data):
                return existing
            target = existing  # cut short (a crash while it was written): write it again
            _write_replacing(target, data)
            self.created.append(target)
            return target
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return target  # another thread is writing the same content
        self.created.append(target)  # from now on: a failure takes it back
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        except BaseException:
            os.close(fd)
            target.unlink(missing_ok=True)
            raise
        os.close(fd)
        return target

    def link(self, probed: ProbedImage, source: Path, data: bytes) -> Path:
        """A hard link to ``source`` (the file ``data`` was read from) in the store; a copy
        when the filesystem refuses (another filesystem, say), the reason kept once in
        ``link_fallback``. The store and the source then share one file: changing the source
        in place would change the stored image (replace it instead)."""
        target = self._target(probed)
        if target is None:
            return store_path(probed.sha256, probed.format)
        try:
            os.link(source, target)
        except FileExistsError:
            return target  # another thread stored the same content
        except OSError as exc:
            reason = LINK_FALLBACK.get(exc.errno)
            if reason is None:
                raise
            with self._lock:
                if self.link_fallback is None:
                    self.link_fallback = f"{reason} ({exc.strerror}): images were copied"
            return self.put(probed, data)
        with self._lock:
            self.linked += 1
        self.created.append(target)
        return target

    def rollback(self) -> None:
        for path in self.created:
            path.unlink(missing_ok=True)
        self.created.clear()


def _write_replacing(target: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# --- Images in place, under read-only roots (import_dataset --in-place) ---------------------


def image_roots() -> dict[str, Path]:
    """The configured image roots, resolved (settings.IMAGE_ROOTS, AUDIT_IMAGE_ROOTS)."""
    return {name: Path(root).resolve() for name, root in settings.IMAGE_ROOTS.items()}


def root_of(folder: Path) -> tuple[str, Path] | None:
    """The image root (name, resolved path) that holds ``folder``, if any."""
    folder = Path(folder).resolve()
    for name, root in image_roots().items():
        if folder.is_relative_to(root):
            return name, root
    return None


def in_place_location(path: Path, root: tuple[str, Path]) -> str:
    """What an in-place image records: "<root name>/<path under the root>". ``path`` must be
    resolved (as ImageSources.locate gives it); one outside the root is refused."""
    name, root_path = root
    if not path.is_relative_to(root_path):
        raise ImageProblem(f"resolves outside the image root {name!r}")
    return f"{name}/{path.relative_to(root_path).as_posix()}"


def in_place_file(location: str) -> Path:
    """The file an in-place image is read from, checked to be inside its root."""
    name, _, rel = location.partition("/")
    root = image_roots().get(name)
    if root is None:
        raise ImageUnavailable(f"the image root {name!r} is not configured (AUDIT_IMAGE_ROOTS)")
    path = (root / rel).resolve()
    if not path.is_relative_to(root):
        raise ImageUnavailable(f"{location} resolves outside its image root")
    return path


def image_file(image) -> Path:
    """The file an Image's bytes are read from: the store's copy, else its in-place file,
    checked to exist with the size it was imported with (a full check of the content is
    ``check_images --hash``; the clean copy checks the hash when it is made)."""
    stored = store_path(image.sha256, image.format)
    if not image.location:
        if not stored.is_file():
            raise ImageUnavailable("the file is missing from the image store")
        return stored
    if stored.is_file():
        return stored
    path = in_place_file(image.location)
    try:
        size = path.stat().st_size
    except OSError:
        raise ImageUnavailable(f"{image.location} is missing from its image root") from None
    if not path.is_file():
        raise ImageUnavailable(f"{image.location} is not a file")
    if size != image.size_bytes:
        raise ImageUnavailable(
            f"{image.location} changed since the import ({size:,} bytes, "
            f"imported with {image.size_bytes:,})"
        )
    return path


def read_checked(image) -> bytes:
    """The image's bytes, checked against its sha256 (an in-place file may have changed)."""
    path = image_file(image)
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != image.sha256:
        where = image.location or "the stored file"
        raise ImageUnavailable(f"{where} changed since the import (different content)")
    return data


def image_problem(image, *, full_hash: bool = False) -> str | None:
    """Why ``image``'s file is missing or changed (size; with ``full_hash``, its sha256), or
    None when it is fine."""
    try:
        if full_hash:
            read_checked(image)
        else:
            image_file(image)
    except ImageUnavailable as exc:
        return str(exc)
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    return None


def thumbnail_path(sha256: str, size: int) -> Path:
    return settings.IMAGE_STORE_DIR / "thumbs" / str(size) / sha256[:2] / f"{sha256}.jpg"


def ensure_thumbnail(image, size: int) -> Path:
    """Make (once) and return a JPEG thumbnail no larger than ``size`` on either side."""
    target = thumbnail_path(image.sha256, size)
    if target.exists():
        return target
    data = read_checked(image)
    target.parent.mkdir(parents=True, exist_ok=True)
    with PILImage.open(io.BytesIO(data)) as im:
        icc = im.info.get("icc_profile")
        im.draft("RGB", (size, size))  # JPEG: decode at a reduced scale
        im.thumbnail((size, size))
        rgb = im.convert("RGB")
    rgb.info = {}  # no comment, EXIF or text carried into the thumbnail; the profile only
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
    with os.fdopen(fd, "wb") as fh:
        rgb.save(fh, "JPEG", quality=85, **({"icc_profile": icc} if icc else {}))
    os.replace(tmp, target)
    return target


# What the clean copy of each stored format is written as (see audit.datasets.clean).
CLEAN_FORMAT = {"TIFF": "PNG", "BMP": "PNG"}


def clean_path(sha256: str, fmt: str) -> tuple[Path, str]:
    out = CLEAN_FORMAT.get(fmt, fmt)
    return settings.IMAGE_STORE_DIR / "clean" / sha256[:2] / f"{sha256}.{ALLOWED_FORMATS[out]}", out


def ensure_clean(image) -> tuple[Path, str]:
    """Make (once) and return the image's copy without metadata, and its format. Stored,
    linked and in-place images alike: the original is kept as imported, the metadata is
    stripped here, before serving."""
    from audit.datasets.clean import clean_image

    target, out = clean_path(image.sha256, image.format)
    if target.exists():
        return target, out
    data, _ = clean_image(read_checked(image), image.format)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, target)
    return target, out
