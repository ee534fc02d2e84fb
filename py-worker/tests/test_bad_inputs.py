"""Bad inputs on the worker's side (issue #12): the --roots guard against real symlinks, refusal
messages that name the flag users type, and load_image on odd image files, which must see the
image as the orchestrator's check and the report's thumbnails do (test/pipeline/bad-inputs.test.ts
checks the two sides against each other)."""
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from c3l_worker.inputs import ItemError, load_image
from c3l_worker.security import KEY_FLAG, PathGuard, RequestRefused, SecurityConfigError, check_endpoint, load_curve_keys


# ------------------------------------------------------------------------------------ roots and links

@pytest.fixture
def linked(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "imgs").mkdir(parents=True)
    (outside / "dir").mkdir(parents=True)
    for file in (root / "imgs" / "real.png", outside / "secret.png", outside / "dir" / "deep.png"):
        Image.new("RGB", (4, 4)).save(file)
    os.symlink(root / "imgs" / "real.png", root / "imgs" / "alias.png")
    os.symlink("real.png", root / "imgs" / "relative.png")
    os.symlink(outside / "secret.png", root / "imgs" / "escape.png")
    os.symlink(outside / "dir", root / "linked-dir")
    return root, outside


def _generate(path: str) -> dict:
    return {"model_id": "m", "items": [{"id": "a", "image_path": path, "prompt": "p"}], "generation": {}}


def test_roots_guard_follows_symlinks(linked):
    root, outside = linked
    guard = PathGuard([str(root)])
    for inside in ("imgs/real.png", "imgs/alias.png", "imgs/relative.png"):
        guard.check("generate", _generate(str(root / inside)))  # links that stay inside are fine
    for escape, target in (("imgs/escape.png", outside / "secret.png"), ("linked-dir/deep.png", outside / "dir" / "deep.png")):
        with pytest.raises(RequestRefused) as refused:
            guard.check("generate", _generate(str(root / escape)))
        message = str(refused.value)
        assert str(root / escape) in message and f"resolves to {target}" in message and "outside this worker's roots" in message


def test_a_root_that_is_a_link_is_its_target(linked, tmp_path):
    root, _ = linked
    os.symlink(root, tmp_path / "root-link")
    guard = PathGuard([str(tmp_path / "root-link")])
    guard.check("generate", _generate(str(root / "imgs" / "alias.png")))
    with pytest.raises(RequestRefused):
        guard.check("generate", _generate(str(root / "imgs" / "escape.png")))


# ----------------------------------------------------------------------------- the flags users type

def test_refusals_name_the_flag_c3l_worker_takes(tmp_path):
    assert KEY_FLAG == "c3l worker --key"
    with pytest.raises(PermissionError) as refused:
        check_endpoint("tcp://0.0.0.0:5555")
    assert "c3l worker --key" in str(refused.value) and "--curve-secret-key" not in str(refused.value)
    with pytest.raises(SecurityConfigError) as missing:
        load_curve_keys(str(tmp_path / "nope.key_secret"), str(tmp_path))
    assert str(missing.value).startswith(f"c3l worker --key {tmp_path / 'nope.key_secret'}: no such file")


# ---------------------------------------------------------------------------------------- load_image

def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_header(path: Path, width: int, height: int) -> Path:
    """A PNG that declares width x height 8-bit grey pixels but holds one row: a decompression bomb's header."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(b"\0" * (width + 1)))
                     + _chunk(b"IEND", b""))
    return path


@pytest.mark.parametrize("width,height", [(50_000, 50_000), (10_000, 9_000)])  # PIL's error, and its warning made one
def test_images_over_the_pixel_limit_are_refused(tmp_path, width, height):
    bomb = png_header(tmp_path / "bomb.png", width, height)
    with pytest.raises(ItemError) as refused:
        load_image(str(bomb), "bomb")
    assert refused.value.code == "image_too_large" and str(bomb) in str(refused.value)


def test_exif_orientation_is_applied(tmp_path):
    stored = Image.new("RGB", (64, 32), (255, 0, 0))
    stored.paste((0, 0, 255), (32, 0, 64, 32))  # left red, right blue as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # shown rotated 90° clockwise: red on top, blue below
    stored.save(tmp_path / "rotated.jpg", exif=exif.tobytes(), quality=95)
    image = load_image(str(tmp_path / "rotated.jpg"), "rotated")
    assert image.size == (32, 64)
    pixels = np.asarray(image, dtype=np.int64)
    assert pixels[8, 16, 0] > 200 and pixels[8, 16, 2] < 60  # top: red
    assert pixels[56, 16, 2] > 200 and pixels[56, 16, 0] < 60  # bottom: blue


def test_sixteen_bit_grey_is_scaled_not_clipped(tmp_path):
    ramp = np.linspace(0, 65535, 64 * 8, dtype=np.uint16).reshape(8, 64)
    Image.fromarray(ramp).save(tmp_path / "grey16.png")
    pixels = np.asarray(load_image(str(tmp_path / "grey16.png"), "grey16"))
    assert pixels.shape == (8, 64, 3) and pixels.dtype == np.uint8
    expected = np.round(ramp / 257).astype(np.int64)
    assert np.abs(pixels[:, :, 0].astype(np.int64) - expected).max() <= 1
    assert pixels[0, 0, 0] == 0 and pixels[-1, -1, 0] == 255


def test_animated_gif_is_its_first_frame_and_cmyk_is_rgb(tmp_path):
    frames = [Image.new("RGB", (16, 16), colour) for colour in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:], duration=50, loop=0)
    gif = np.asarray(load_image(str(tmp_path / "anim.gif"), "anim"))
    assert gif.shape == (16, 16, 3) and gif[8, 8, 0] > 200 and gif[8, 8, 1] < 60
    Image.new("CMYK", (12, 10), (0, 255, 255, 0)).save(tmp_path / "cmyk.jpg")  # red in CMYK
    cmyk = load_image(str(tmp_path / "cmyk.jpg"), "cmyk")
    assert cmyk.mode == "RGB" and cmyk.size == (12, 10)
    Image.new("RGB", (1, 1), (10, 20, 30)).save(tmp_path / "one.png")
    assert load_image(str(tmp_path / "one.png"), "one").size == (1, 1)


def test_unreadable_files_name_the_file(tmp_path):
    good = tmp_path / "good.png"
    Image.new("RGB", (32, 32), (1, 2, 3)).save(good)
    (tmp_path / "truncated.png").write_bytes(good.read_bytes()[:-30])
    (tmp_path / "text.png").write_text("this is not an image\n")
    (tmp_path / "empty.jpg").write_bytes(b"")
    for name in ("truncated.png", "text.png", "empty.jpg"):
        with pytest.raises(ItemError) as refused:
            load_image(str(tmp_path / name), name)
        assert refused.value.code == "image_unreadable" and str(tmp_path / name) in str(refused.value)
