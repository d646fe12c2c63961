"""Still images read with bounds (inference/images.py) and video files probed
(inference/video_probe.py): real encoded files, real truncations, crafted headers."""

from __future__ import annotations

import struct
from pathlib import Path

import cv2
import numpy as np
import pytest

from inference.images import ImageLimits, ImageRefused, decode_image, read_header, read_image
from inference.video_probe import probe_video_file, video_container
from tests.crafted_images import cut, png_declaring, real_jpeg, real_png

PICTURE = cv2.imdecode(np.frombuffer(real_png(), np.uint8), cv2.IMREAD_COLOR)


@pytest.mark.parametrize("ext", [".png", ".jpg", ".bmp", ".webp", ".tiff"])
def test_every_format_decodes_as_opencv_reads_it(tmp_path: Path, ext: str) -> None:
    path = tmp_path / f"picture{ext}"
    assert cv2.imwrite(str(path), PICTURE)
    image = read_image(path)
    np.testing.assert_array_equal(image, cv2.imread(str(path)))
    header = read_header(path.read_bytes())
    assert (header.width_px, header.height_px) == (320, 240)


def test_the_size_comes_from_the_header_alone() -> None:
    header = read_header(png_declaring(20000, 20000))  # pixels for 4 rows only
    assert (header.format, header.width_px, header.height_px) == ("PNG", 20000, 20000)
    jpeg = read_header(real_jpeg(640, 480))
    assert (jpeg.format, jpeg.width_px, jpeg.height_px) == ("JPEG", 640, 480)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (png_declaring(20000, 20000), "20000 x 20000 px, more than 16384 px a side"),
        (png_declaring(16000, 16000), "16000 x 16000 px (256 Mpx), more than 64 Mpx"),
        (png_declaring(100, 20000), "100 x 20000 px, more than 16384 px a side"),
    ],
)
def test_too_large_is_refused_before_decoding(data: bytes, reason: str) -> None:
    with pytest.raises(ImageRefused) as caught:
        decode_image(data)
    assert caught.value.reason == reason
    assert caught.value.too_large


def test_limits_can_be_tightened(tmp_path: Path) -> None:
    path = tmp_path / "p.png"
    path.write_bytes(real_png())
    with pytest.raises(ImageRefused, match=r"more than 100 px a side"):
        read_image(path, limits=ImageLimits(max_side_px=100))
    with pytest.raises(ImageRefused, match=r"on disk, more than the 0.0 MB") as caught:
        read_image(path, limits=ImageLimits(max_bytes=1000))
    assert caught.value.too_large


@pytest.mark.parametrize("fraction", [0.3, 0.6, 0.9, 0.999])
def test_a_truncated_jpeg_is_refused(fraction: float) -> None:
    data = cut(real_jpeg(), fraction)
    with pytest.raises(ImageRefused) as caught:
        decode_image(data)
    assert caught.value.reason.startswith("truncated JPEG")
    assert not caught.value.too_large


def test_opencv_alone_reads_a_truncated_jpeg_as_a_grey_half(tmp_path: Path) -> None:
    """Why the end is checked: cv2.imread gives an image, its lost rows grey."""
    path = tmp_path / "cut.jpg"
    path.write_bytes(cut(real_jpeg(), 0.5))
    half = cv2.imread(str(path))
    assert half is not None
    assert np.all(half[-10:] == 128)
    with pytest.raises(ImageRefused, match="truncated JPEG"):
        read_image(path)


@pytest.mark.parametrize("fraction", [0.2, 0.5, 0.99])
def test_a_truncated_png_is_refused(fraction: float) -> None:
    with pytest.raises(ImageRefused, match=r"^(truncated|damaged) PNG"):
        decode_image(cut(real_png(), fraction))


def test_a_jpeg_with_an_exif_thumbnail_needs_its_own_end() -> None:
    """A thumbnail inside the header has an end marker of its own: it must not count."""
    jpeg = real_jpeg()
    thumbnail = real_jpeg(16, 12)
    app1 = b"Exif\x00\x00" + thumbnail
    segment = b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1
    with_thumbnail = jpeg[:2] + segment + jpeg[2:]
    assert decode_image(with_thumbnail).shape == (240, 320, 3)
    with pytest.raises(ImageRefused, match="truncated JPEG"):
        decode_image(cut(with_thumbnail, 0.8))


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty file"),
        (b"hello, this is text", "no known image format"),
        (b"\x89PNG\r\n\x1a\n" + bytes(40), "damaged PNG: no IHDR header"),
        (b"\xff\xd8\xff\xd9", "damaged JPEG: it ends before any image data"),
    ],
)
def test_no_image_says_why(data: bytes, reason: str) -> None:
    with pytest.raises(ImageRefused) as caught:
        decode_image(data)
    assert caught.value.reason == reason


def test_a_missing_file_and_a_folder(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_image(tmp_path / "none.png")
    with pytest.raises(ImageRefused, match="not a file"):
        read_image(tmp_path)


# --------------------------------------------------------------------------- video files


def _video(path: Path, fourcc: str) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*fourcc), 10.0, (160, 120))
    assert writer.isOpened(), path
    for k in range(5):
        writer.write(np.full((120, 160, 3), 40 * k, np.uint8))
    writer.release()
    return path


@pytest.mark.parametrize(
    ("name", "fourcc", "container"),
    [
        ("a.mp4", "mp4v", "MP4/QuickTime"),
        ("b.avi", "MJPG", "AVI"),
        ("c.mkv", "mp4v", "Matroska/WebM"),
        ("d.ts", "mp4v", "MPEG transport stream"),
    ],
)
def test_real_videos_pass_the_probe(tmp_path: Path, name: str, fourcc: str, container) -> None:
    path = _video(tmp_path / name, fourcc)
    assert video_container(path.read_bytes()[:512]) == container
    assert probe_video_file(path) is None


def test_a_video_whose_frames_are_gone_is_refused(tmp_path: Path) -> None:
    path = _video(tmp_path / "a.mp4", "mp4v")
    head = path.read_bytes()[:48]  # the container's first box, nothing else
    path.write_bytes(head)
    reason = probe_video_file(path)
    assert reason is not None
    assert "MP4/QuickTime" in reason


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"root:x:0:0:root:/root:/bin/bash\n", "a text file, not a video"),
        (real_jpeg(), "a still image (JPEG), not a video"),
        (real_png(), "a still image (PNG), not a video"),
        (b"\x7fELF\x02\x01\x01\x00" + bytes(100), "not a known video container"),
        ("caf\u00e9 \u2014 notes\n".encode(), "a text file, not a video"),
    ],
)
def test_files_that_are_not_videos_say_what_they_are(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    path = tmp_path / "clip.mp4"
    path.write_bytes(content)
    assert probe_video_file(path).startswith(reason)
