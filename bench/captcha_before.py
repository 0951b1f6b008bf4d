"""The image captcha as it was before issue 11 (a frozen copy, for before/after benchmarks).

Only change: ``render_with_boxes`` also returns each glyph's horizontal ink extent, which is
what a white-box attacker gets by instrumenting the code. Original docstring follows.

Image captchas: short random texts drawn as small distorted PNGs with Pillow.

What defeats off-the-shelf OCR here, cheaply (each step is one C call in Pillow):
  - glyphs that touch and overlap, each rotated, sheared, scaled and jittered vertically,
    so a segmenter cannot cut the word into characters;
  - two wavy strokes in ink crossing the whole word, which a threshold or a median filter
    keeps and which merge with the letters they cross;
  - a sine warp of the whole picture (one MESH transform) so no baseline is straight;
  - all inks equally dark, so a grayscale pipeline sees one merged blob.
A person on a phone still reads it: large bold glyphs, an alphabet without look-alikes
(answers are case-insensitive), dark text on a light background, and overlapping neighbours
in clearly different hues (three inks a third of the colour wheel apart).

The picture is drawn as one byte a pixel (palette indices: low = background, high = ink) and
coloured by a per-image palette: every costly step runs on a single channel, and the result
is a small palette PNG that zlib level 1 encodes in a fraction of a millisecond. Glyph masks
are rendered once per character at construction, with the font loaded once.
"""

from __future__ import annotations

import colorsys
import io
import itertools
import math
import random
import secrets
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

DEFAULT_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"

# No 0/O/Q/D, 1/I/L/J/T, 2/Z, 5/S, 8/B, 6/G/b, 9/g/q, U/V: upper case only (answers are
# upper-cased before comparison, so a lower-case reply is fine).
ALPHABET = "ACEFHKMNPRWXY347"

# Palette indices: background in [0, _BG_MAX], ink in [_INK_MIN, 255], antialiasing between.
_BG_MAX = 70
_INK_MIN = 180

_FontType = ImageFont.FreeTypeFont | ImageFont.ImageFont


@dataclass(frozen=True)
class _Glyph:
    """A character's pre-rendered mask, centred in a square tile, and its ink width."""

    mask: Image.Image
    ink_width: int


class ImageCaptchaRenderer:
    """Renders captcha texts as PNG bytes; thread-safe (no mutable state after construction)."""

    def __init__(
        self,
        width: int = 200,
        height: int = 70,
        length: int = 5,
        font_path: str = DEFAULT_FONT,
        font_size: int | None = None,
        alphabet: str = ALPHABET,
    ) -> None:
        if length < 1:
            raise ValueError("length must be at least 1")
        if len(set(alphabet)) < 2 or len(set(alphabet)) != len(alphabet):
            raise ValueError("alphabet must hold at least two distinct characters, no repeats")
        self.width = width
        self.height = height
        self.length = length
        self.alphabet = alphabet
        self._font_size = font_size or round(height * 0.62)
        self._font = _load_font(font_path, self._font_size)
        self._tile = round(self._font_size * 1.5)
        self._glyphs = {char: self._render_glyph(char) for char in alphabet}

    def random_text(self, length: int | None = None) -> str:
        """A fresh answer: ``length`` (default: the renderer's) characters drawn with secrets."""
        count = self.length if length is None else length
        if count < 1:
            raise ValueError("length must be at least 1")
        return "".join(secrets.choice(self.alphabet) for _ in range(count))

    def render(self, text: str, seed: int | None = None) -> bytes:
        return self.render_with_boxes(text, seed)[0]

    def render_with_boxes(
        self, text: str, seed: int | None = None
    ) -> tuple[bytes, list[tuple[int, int]]]:
        """PNG bytes showing ``text`` (characters of the alphabet, any case).

        ``seed`` makes the distortions reproducible (tests, benchmarks); by default they are
        seeded from ``secrets`` so two renders of one text differ.
        """
        glyphs = self._glyphs_for(text)
        rng = random.Random(secrets.randbits(64) if seed is None else seed)
        # The picture is drawn as palette indices (one byte a pixel): low = background,
        # high = ink. A per-image palette turns indices into colours, so the costly steps run
        # on a single channel and the PNG is a small, fast-to-encode palette image.
        canvas = _background(self.width, self.height, rng)
        boxes = self._draw_glyphs(canvas, glyphs, rng)
        _cross_strokes(canvas, rng)
        image = _sine_warp(canvas, rng)
        image.putpalette(_palette(rng))
        out = io.BytesIO()
        image.save(out, format="PNG", compress_level=1)
        return out.getvalue(), boxes

    def _glyphs_for(self, text: str) -> list[_Glyph]:
        if not text:
            raise ValueError("captcha text must not be empty")
        try:
            return [self._glyphs[char] for char in text.upper()]
        except KeyError as exc:
            raise ValueError(f"character {exc.args[0]!r} is not in the captcha alphabet") from None

    def _render_glyph(self, char: str) -> _Glyph:
        tile = Image.new("L", (self._tile, self._tile), 0)
        centre = self._tile / 2
        ImageDraw.Draw(tile).text((centre, centre), char, fill=255, font=self._font, anchor="mm")
        box = tile.getbbox()
        ink_width = box[2] - box[0] if box else self._font_size // 2
        return _Glyph(mask=tile, ink_width=ink_width)

    def _draw_glyphs(
        self, canvas: Image.Image, glyphs: list[_Glyph], rng: random.Random
    ) -> list[tuple[int, int]]:
        """Glyphs transformed one by one and pasted so that neighbours touch or overlap."""
        # Advance a bit less than a glyph's ink width so that neighbours touch.
        advances = [g.ink_width * rng.uniform(0.72, 0.82) for g in glyphs]
        span = sum(advances[:-1]) + glyphs[-1].ink_width
        x = (self.width - span) / 2 + rng.uniform(-6, 6)
        half = self._tile / 2
        inks = _ink_levels(len(glyphs), rng)
        boxes = []
        for glyph, advance, ink in zip(glyphs, advances, inks, strict=True):
            tile = _distort_glyph(glyph.mask, rng)
            left = round(x + glyph.ink_width / 2 - half)
            top = round(self.height / 2 - half + rng.uniform(-0.08, 0.08) * self.height)
            canvas.paste(ink, (left, top), tile)
            bb = tile.getbbox() or (0, 0, tile.width, tile.height)
            boxes.append((left + bb[0], left + bb[2]))
            x += advance
        return boxes


def _load_font(path: str, size: int) -> _FontType:
    """The TrueType font at ``path``; Pillow's built-in font when it is missing (never crash)."""
    try:
        return ImageFont.truetype(path, size)
    except OSError:
        return ImageFont.load_default(size=size)


def _distort_glyph(tile: Image.Image, rng: random.Random) -> Image.Image:
    """One affine transform: rotation, shear and scale about the tile centre."""
    angle = math.radians(rng.uniform(-22, 22))
    shear = rng.uniform(-0.18, 0.18)
    scale = 1 / rng.uniform(0.9, 1.12)  # inverse map: output pixel -> source pixel
    cos, sin = math.cos(angle) * scale, math.sin(angle) * scale
    a, b = cos, sin + shear * cos
    d, e = -sin, cos - shear * sin
    cx = cy = tile.width / 2
    c = cx - a * cx - b * cy
    f = cy - d * cx - e * cy
    return tile.transform(tile.size, Image.Transform.AFFINE, (a, b, c, d, e, f),
                          resample=Image.Resampling.BILINEAR)  # fmt: skip


def _ink_levels(count: int, rng: random.Random) -> list[int]:
    """Distinct ink indices, neighbours far apart, so adjacent glyphs differ in colour."""
    step = (255 - _INK_MIN) / max(count - 1, 1)
    levels = [round(_INK_MIN + i * step) for i in range(count)]
    # Interleave low and high halves: neighbours then differ by about half the ink range.
    half = (count + 1) // 2
    order = [lv for pair in itertools.zip_longest(levels[:half], levels[half:])
             for lv in pair if lv is not None]  # fmt: skip
    return order if rng.random() < 0.5 else order[::-1]


def _cross_strokes(canvas: Image.Image, rng: random.Random) -> None:
    """Two long wavy strokes in ink through the word, one high and one low.

    Nearly as thick as the glyph stems, so a morphological opening that would erase them
    erodes the letters too.
    """
    draw = ImageDraw.Draw(canvas)
    w, h = canvas.size
    for low, high in ((0.32, 0.5), (0.5, 0.68)):
        y0 = rng.uniform(low, high) * h
        amp = rng.uniform(0.08, 0.18) * h
        period = rng.uniform(0.7, 1.4) * w
        phase = rng.uniform(0, math.tau)
        points = [
            (x, y0 + amp * math.sin(math.tau * x / period + phase)) for x in range(-8, w + 16, 12)
        ]
        draw.line(points, fill=rng.randint(_INK_MIN, 255), width=rng.randint(3, 4))
    # A thin cut in background colour through the letters: a person bridges it without
    # noticing, a thresholded glyph falls apart into pieces the recogniser has not seen.
    y0 = rng.uniform(0.42, 0.58) * h
    amp = rng.uniform(0.05, 0.12) * h
    period = rng.uniform(0.7, 1.4) * w
    phase = rng.uniform(0, math.tau)
    points = [
        (x, y0 + amp * math.sin(math.tau * x / period + phase)) for x in range(-8, w + 16, 12)
    ]
    draw.line(points, fill=rng.randint(0, _BG_MAX), width=2)


def _sine_warp(canvas: Image.Image, rng: random.Random) -> Image.Image:
    """Shift each vertical strip by a sine of its x (one MESH transform, no numpy)."""
    w, h = canvas.size
    amp = rng.uniform(0.06, 0.1) * h
    period = rng.uniform(0.55, 0.9) * w
    phase = rng.uniform(0, math.tau)
    step = 10
    mesh = []
    for x0 in range(0, w, step):
        x1 = min(x0 + step, w)
        dy0 = amp * math.sin(math.tau * x0 / period + phase)
        dy1 = amp * math.sin(math.tau * x1 / period + phase)
        quad = (x0, -dy0, x0, h - dy0, x1, h - dy1, x1, -dy1)
        mesh.append(((x0, 0, x1, h), quad))
    return canvas.transform(canvas.size, Image.Transform.MESH, mesh,
                            resample=Image.Resampling.BILINEAR, fillcolor=_BG_MAX // 2)  # fmt: skip


def _background(width: int, height: int, rng: random.Random) -> Image.Image:
    """Soft blotches of background indices: a few random values stretched bilinearly."""
    stops = bytes(rng.randint(0, _BG_MAX) for _ in range(8 * 3))
    return Image.frombytes("L", (8, 3), stops).resize((width, height), Image.Resampling.BILINEAR)


def _palette(rng: random.Random) -> list[int]:
    """Index -> colour: light tints for the background, dark hues for ink, a ramp between.

    The three ink hues are a third of the wheel apart, so that overlapping neighbours (which
    get distant ink indices) differ clearly in colour for a person, while all inks are equally
    dark for a grayscale OCR pipeline.
    """
    hue = rng.random()
    inks = [_dark(hue + k / 3, rng) for k in range(3)]
    rng.shuffle(inks)
    stops = [
        (0, _light(rng)),
        (_BG_MAX, _light(rng)),
        (_INK_MIN, inks[0]),
        ((_INK_MIN + 255) // 2, inks[1]),
        (255, inks[2]),
    ]
    palette: list[int] = []
    for (i0, c0), (i1, c1) in itertools.pairwise(stops):
        for i in range(i0, i1):
            t = (i - i0) / (i1 - i0)
            palette.extend(round(a + (b - a) * t) for a, b in zip(c0, c1, strict=True))
    palette.extend(stops[-1][1])
    return palette


def _dark(hue: float, rng: random.Random) -> tuple[int, int, int]:
    red, green, blue = colorsys.hsv_to_rgb(hue % 1, rng.uniform(0.7, 0.95), rng.uniform(0.4, 0.55))
    return (round(red * 255), round(green * 255), round(blue * 255))


def _light(rng: random.Random) -> tuple[int, int, int]:
    red, green, blue = colorsys.hsv_to_rgb(
        rng.random(), rng.uniform(0.05, 0.2), rng.uniform(0.9, 1)
    )
    return (round(red * 255), round(green * 255), round(blue * 255))
