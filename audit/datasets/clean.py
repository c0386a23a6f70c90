"""Images without their metadata, for experts.

EXIF descriptions, the Software tag, JPEG comments, XMP, IPTC and PNG text chunks can name the
method, the dataset or the model that made an item ("method=... dataset=..."). What experts are
served is a copy with all of that removed and the pixels and colour profile kept:

- JPEG: the marker segments are filtered without decoding (lossless): APP0 (JFIF), APP2 ICC
  profile chunks and APP14 (Adobe colour transform, needed to decode some files) stay; every
  other APPn and COM goes.
- PNG: the chunks are filtered without decoding: text (tEXt, zTXt, iTXt), eXIf, tIME and
  private chunks go; image, palette, transparency and colour chunks (iCCP, sRGB, gAMA, cHRM,
  sBIT, pHYs) stay.
- GIF, BMP, TIFF, WebP: decoded and written again (lossless PNG for TIFF and BMP, the same
  format otherwise) with only the ICC profile carried over.
"""

import io
import struct
import zlib

from PIL import Image as PILImage

JPEG_KEEP_APP = {0xE0, 0xEE}  # APP0 JFIF, APP14 Adobe; APP2 is kept only for ICC_PROFILE
PNG_KEEP = {
    b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"iCCP", b"sRGB", b"gAMA", b"cHRM", b"sBIT",
    b"pHYs", b"acTL", b"fcTL", b"fdAT",
}  # fmt: skip
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class NotClean(ValueError):
    """The bytes are not a well-formed file of the claimed format."""


def clean_jpeg(data: bytes) -> bytes:
    if data[:2] != b"\xff\xd8":
        raise NotClean("not a JPEG")
    out = [b"\xff\xd8"]
    pos = 2
    while pos < len(data):
        if data[pos] != 0xFF:
            raise NotClean(f"bad marker at byte {pos}")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xDA:  # start of scan: the rest is image data (and EOI)
            out.append(data[pos:])
            return b"".join(out)
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            out.append(data[pos : pos + 2])
            pos += 2
            continue
        if pos + 4 > len(data):
            raise NotClean("truncated segment")
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        segment = data[pos : pos + 2 + length]
        keep = not (0xE0 <= marker <= 0xEF or marker == 0xFE)  # not APPn, not COM
        if marker in JPEG_KEEP_APP:
            keep = True
        if marker == 0xE2 and segment[4:16] == b"ICC_PROFILE\x00":
            keep = True
        if keep:
            out.append(segment)
        pos += 2 + length
    raise NotClean("no image data")


def clean_png(data: bytes) -> bytes:
    if not data.startswith(PNG_SIGNATURE):
        raise NotClean("not a PNG")
    out = [PNG_SIGNATURE]
    pos = len(PNG_SIGNATURE)
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if end > len(data):
            raise NotClean("truncated chunk")
        if kind in PNG_KEEP:
            out.append(data[pos:end])
        pos = end
        if kind == b"IEND":
            return b"".join(out)
    raise NotClean("no IEND chunk")


def clean_other(data: bytes, fmt: str) -> tuple[bytes, str]:
    """Decode and write again with the colour profile only; returns (bytes, format)."""
    with PILImage.open(io.BytesIO(data)) as im:
        icc = im.info.get("icc_profile")
        target = "PNG" if fmt in ("TIFF", "BMP") else fmt
        frames = getattr(im, "n_frames", 1)
        options: dict = {}
        if icc:
            options["icc_profile"] = icc
        if target == "WEBP":
            options["lossless"] = True
        if target == "GIF" and frames > 1:
            options.update(save_all=True)
        im.info = {k: v for k, v in im.info.items() if k in ("transparency", "duration", "loop")}
        out = io.BytesIO()
        im.save(out, target, **options)
    return out.getvalue(), target


def clean_image(data: bytes, fmt: str) -> tuple[bytes, str]:
    """The image without metadata: (bytes, format). The format may change (TIFF, BMP -> PNG)."""
    if fmt == "JPEG":
        return clean_jpeg(data), fmt
    if fmt == "PNG":
        return clean_png(data), fmt
    return clean_other(data, fmt)


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    """A PNG chunk (for tests and tools that build files)."""
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)
