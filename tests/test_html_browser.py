"""The HTML export in a real browser: headless Chromium parses the page,
renders it in light and dark mode, and reports what the console says."""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from chit.api import Chit

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium (Debian package `chromium`)")


def _browser(tmp_path: Path, page: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    command = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--no-default-browser-check",
        f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0", *args, page.as_uri(),
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=tmp_path)


def _console(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in result.stderr.splitlines() if ":CONSOLE" in line]


def _pixel(png: bytes, x: int, y: int) -> tuple[int, int, int]:
    """The RGB colour at (x, y) of an 8-bit RGB/RGBA PNG (a tiny decoder)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    channels = 3
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos : pos + 8])
        data = png[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, _, depth, colour = struct.unpack(">IIBB", data[:10])
            assert depth == 8 and colour in (2, 6)
            channels = 4 if colour == 6 else 3
        elif kind == b"IDAT":
            idat += data
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    previous = bytearray(stride)
    for row in range(y + 1):
        start = row * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up, corner = previous[i], previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 255
            elif kind == 2:
                line[i] = (line[i] + up) & 255
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 255
        previous = line
    r, g, b = previous[x * channels : x * channels + 3]
    return r, g, b


@pytest.fixture
def page(api: Chit, tmp_path: Path) -> Path:
    s = api.create(title="Trip <planning>")
    api.append(s.id, "system", "You are a travel agent.")
    api.append(s.id, "user", "Which trains go from Paris to Lyon? <script>console.error('injected')</script>")
    api.append(s.id, "assistant", "The TGV, about two hours.\n\n```python\nprint('bon voyage')  # <img src=x onerror=console.error(1)>\n```")
    api.append(s.id, "tool", "timetable: 07:04, 08:04, 09:04", metadata={"tool_name": "trains"})
    api.append(s.id, "assistant", "Trains leave hourly.")
    return api.export_to_file(s.id, "html", tmp_path / "trip.html")


def test_chromium_renders_the_transcript_without_console_errors(page: Path, tmp_path: Path) -> None:
    shown = _browser(tmp_path, page, "--dump-dom")
    assert shown.returncode == 0, shown.stderr[-2000:]
    dom = shown.stdout
    for text in ("Trip &lt;planning&gt;", "You are a travel agent.", "Which trains go from Paris to Lyon?",
                 "The TGV, about two hours.", "timetable: 07:04", "Trains leave hourly."):
        assert text in dom, text
    assert "&lt;script&gt;console.error('injected')&lt;/script&gt;" in dom
    assert "<script" not in dom and "<img" not in dom  # the message stayed text
    assert dom.count('class="msg ') == 5 and "<details" in dom
    assert _console(shown) == []  # no errors, no blocked requests, nothing logged


def test_the_console_check_does_catch_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.html"
    bad.write_text("<!DOCTYPE html><title>x</title><p>x</p><script>console.error('boom')</script>")
    logged = _console(_browser(tmp_path, bad, "--dump-dom"))
    assert any("boom" in line for line in logged), logged


def test_screenshots_in_light_and_dark_mode(page: Path, tmp_path: Path) -> None:
    light, dark = tmp_path / "light.png", tmp_path / "dark.png"
    for target, extra in ((light, []), (dark, ["--force-dark-mode"])):
        result = _browser(tmp_path, page, f"--screenshot={target}", "--window-size=800,900", "--hide-scrollbars", *extra)
        assert result.returncode == 0, result.stderr[-2000:]
        assert _console(result) == []
        assert target.stat().st_size > 10_000  # a page with text on it, not a blank image
    background_light = _pixel(light.read_bytes(), 4, 4)
    background_dark = _pixel(dark.read_bytes(), 4, 4)
    assert min(background_light) > 230, background_light
    assert max(background_dark) < 40, background_dark
