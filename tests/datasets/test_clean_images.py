"""Images served to experts carry no metadata: EXIF (description, Software), JPEG comments, XMP,
PNG text chunks are removed; pixels and the colour profile are kept."""

import functools
import io

import pytest
from PIL import Image as PILImage
from PIL import ImageCms

from audit.datasets.clean import NotClean, clean_image, clean_jpeg, clean_png, png_chunk

SECRET = "method=mllm_reformatted dataset=PubMedVision model=gpt-4v"


@functools.cache
def srgb_profile() -> bytes:
    """One profile per run: LittleCMS stamps each new one with the time to the second, so two
    made across a second's turn differ (a CI run failed on that)."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def jpeg_with_metadata() -> bytes:
    im = PILImage.new("RGB", (32, 24), (120, 40, 200))
    exif = PILImage.Exif()
    exif[0x010E] = SECRET  # ImageDescription
    exif[0x0131] = "PubMedVision pipeline 1.0"  # Software
    out = io.BytesIO()
    im.save(out, "JPEG", exif=exif.tobytes(), comment=SECRET.encode(), icc_profile=srgb_profile(),
            quality=95)  # fmt: skip
    data = out.getvalue()
    # An XMP packet too (APP1 with the XMP namespace).
    xmp = b"http://ns.adobe.com/xap/1.0/\x00" + f"<x:xmpmeta>{SECRET}</x:xmpmeta>".encode()
    segment = b"\xff\xe1" + (len(xmp) + 2).to_bytes(2, "big") + xmp
    return data[:2] + segment + data[2:]


def png_with_metadata() -> bytes:
    im = PILImage.new("RGBA", (16, 16), (10, 200, 30, 128))
    out = io.BytesIO()
    im.save(out, "PNG", icc_profile=srgb_profile())
    data = out.getvalue()
    extra = png_chunk(b"tEXt", b"Comment\x00" + SECRET.encode()) + png_chunk(
        b"iTXt", b"Description\x00\x00\x00\x00\x00" + SECRET.encode()
    )
    return data[:33] + extra + data[33:]  # after the signature and IHDR


def pixels(data: bytes):
    with PILImage.open(io.BytesIO(data)) as im:
        return im.convert("RGBA").tobytes(), im.info.get("icc_profile")


@pytest.mark.parametrize("make, fmt", [(jpeg_with_metadata, "JPEG"), (png_with_metadata, "PNG")])
def test_metadata_goes_pixels_and_profile_stay(make, fmt):
    original = make()
    assert SECRET.encode() in original
    cleaned, out_fmt = clean_image(original, fmt)
    assert out_fmt == fmt
    assert SECRET.encode() not in cleaned and b"PubMedVision" not in cleaned
    assert pixels(cleaned) == pixels(original)  # lossless: no re-encoding
    assert pixels(cleaned)[1] == srgb_profile()
    with PILImage.open(io.BytesIO(cleaned)) as im:
        assert not im.getexif() and "comment" not in im.info


@pytest.mark.parametrize("fmt", ["TIFF", "WEBP", "GIF"])
def test_other_formats_are_written_again_without_metadata(fmt):
    im = PILImage.new("RGB", (20, 20), (1, 2, 3))
    out = io.BytesIO()
    options = {"description": SECRET} if fmt == "TIFF" else {}
    if fmt == "GIF":
        options = {"comment": SECRET.encode()}
    if fmt == "WEBP":
        exif = PILImage.Exif()
        exif[0x010E] = SECRET
        options = {"exif": exif.tobytes(), "lossless": True}
    im.save(out, fmt, **options)
    original = out.getvalue()
    assert SECRET.encode() in original
    cleaned, out_fmt = clean_image(original, fmt)
    assert SECRET.encode() not in cleaned
    with PILImage.open(io.BytesIO(cleaned)) as back:
        assert back.format == out_fmt
        assert back.convert("RGB").getpixel((5, 5)) == (1, 2, 3)


def test_bmp_becomes_png():
    out = io.BytesIO()
    PILImage.new("RGB", (8, 8), (9, 8, 7)).save(out, "BMP")
    cleaned, fmt = clean_image(out.getvalue(), "BMP")
    assert fmt == "PNG" and pixels(cleaned)[0] == pixels(out.getvalue())[0]


def test_malformed_files_are_refused():
    with pytest.raises(NotClean):
        clean_jpeg(b"\xff\xd8\xff\xe1\x00")
    with pytest.raises(NotClean):
        clean_png(b"not a png")
