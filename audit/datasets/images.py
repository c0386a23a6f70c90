"""Image sources (folders and zips), header-only probing with Pillow, the content-addressed
store, and cached thumbnails."""

import hashlib
import io
import os
import stat
import tempfile
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
        rel = PurePosixPath(rel_path.replace("\\", "/"))
        candidates = [rel]
        if len(rel.parts) > 1:
            candidates.append(PurePosixPath(*rel.parts[1:]))  # --images pointed at images/ itself
        limit = settings.IMAGE_MAX_BYTES
        for candidate in candidates:
            found = self.members.get(str(candidate))
            if found:
                archive, info = found
                if info.file_size > limit:
                    raise ImageProblem(f"{info.file_size:,} bytes, more than the {limit:,} allowed")
                try:
                    with archive.open(info) as fh:
                        data = fh.read(limit + 1)
                except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as exc:
                    # e.g. a member whose declared size or CRC lies (a crafted zip bomb).
                    raise ImageProblem(f"damaged zip member ({exc})") from None
                if len(data) > limit:
                    raise ImageProblem(f"more than the {limit:,} bytes allowed")
                return data
            for root in self.dirs:
                path = (root / candidate).resolve()
                if not path.is_relative_to(root):
                    raise ImageProblem("resolves outside the image folder (symbolic link)")
                if path.is_file():
                    if path.stat().st_size > limit:
                        raise ImageProblem(f"more than the {limit:,} bytes allowed")
                    return path.read_bytes()
        return None

    def close(self) -> None:
        for archive in self._zips:
            archive.close()


def probe_image(data: bytes) -> ProbedImage:
    """Format and size from the header (no full decode); catches corrupt, truncated and
    decompression-bomb images."""
    max_pixels = settings.IMAGE_MAX_PIXELS
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


def store_path(sha256: str, fmt: str) -> Path:
    return settings.IMAGE_STORE_DIR / sha256[:2] / sha256[2:4] / f"{sha256}.{ALLOWED_FORMATS[fmt]}"


class ImageStoreWriter:
    """Writes images into the content-addressed store and can take back what it wrote, so a
    failed import leaves the store as it found it."""

    def __init__(self) -> None:
        self.created: list[Path] = []

    def put(self, probed: ProbedImage, data: bytes) -> Path:
        target = store_path(probed.sha256, probed.format)
        if target.exists():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self.created.append(target)
        return target

    def rollback(self) -> None:
        for path in self.created:
            path.unlink(missing_ok=True)
        self.created.clear()


def thumbnail_path(sha256: str, size: int) -> Path:
    return settings.IMAGE_STORE_DIR / "thumbs" / str(size) / sha256[:2] / f"{sha256}.jpg"


def ensure_thumbnail(sha256: str, fmt: str, size: int) -> Path:
    """Make (once) and return a JPEG thumbnail no larger than ``size`` on either side."""
    target = thumbnail_path(sha256, size)
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with PILImage.open(store_path(sha256, fmt)) as im:
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


def ensure_clean(sha256: str, fmt: str) -> tuple[Path, str]:
    """Make (once) and return the stored image's copy without metadata, and its format."""
    from audit.datasets.clean import clean_image

    target, out = clean_path(sha256, fmt)
    if target.exists():
        return target, out
    target.parent.mkdir(parents=True, exist_ok=True)
    data, _ = clean_image(store_path(sha256, fmt).read_bytes(), fmt)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, target)
    return target, out
