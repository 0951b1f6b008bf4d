"""Image captchas: short random texts drawn as small distorted PNGs with Pillow.

The design follows what the published breaks of text captchas exploited (Yan & El Ahmad, "A
low-cost attack on a Microsoft CAPTCHA", CCS 2008; Bursztein, Martin & Mitchell, "Text-based
CAPTCHA strengths and weaknesses", CCS 2011): recognising one clean, isolated glyph is easy for a
machine, so what matters is that the picture does not hand out the segmentation, and that
nothing about it is deterministic. Measured against an attacker who has this code (see
``bench/captcha_whitebox.py`` and ``docs/benchmarks-captcha.md``):

  - one ink for everything: glyphs, crossing strokes and clutter share the same palette entries,
    so separating the picture by colour or palette index yields a single layer;
  - a random length (4 to 6 by default), so the glyph count is not known in advance;
  - every glyph is warped by its own random elastic mesh (rotation, slant, scale, stretch, bent
    strokes), from one of three fonts and, for some letters, upper or lower case, picked per
    glyph: no two renders of a letter share a shape;
  - a stroke in the same ink waves steeply through the word and links the glyphs into one
    connected shape for a segmenter;
  - one or two slanted bands of the picture have their colours swapped (light letters on
    dark), which a person reads through and a threshold turns into nonsense; a glyph cut by a
    band edge shows both polarities at once, which a pixel classifier must learn separately.
People still read it: glyphs of clear sans-serif fonts side by side with gaps (no overlap),
small rotations (±12°), an alphabet without look-alikes (no M/N/W, no 3/B...), dark ink on a
light background, and one thin smooth stroke that the eye follows as a line. Tried and dropped
because people misread them (sample sheets read before looking at the answers): short arcs in
the gaps (read as J or 5), a stem-wide wave (Y read as K), DejaVu Serif Bold (4 read as A),
three or four narrow bands (letters cut into pieces).

The picture is drawn as one byte a pixel (palette indices: low = background, high = ink) and
coloured by a per-image palette: every costly step runs on a single channel, and the result is a
small palette PNG that zlib level 1 encodes in a fraction of a millisecond. Glyph masks are
rendered once per character and font at construction.
"""

from __future__ import annotations

import colorsys
import io
import itertools
import math
import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

_FONT_DIR = "/usr/share/fonts/truetype/dejavu/"
DEFAULT_FONT = _FONT_DIR + "DejaVuSans-Bold.ttf"
# All in Debian's fonts-dejavu-core (what ./run installs). Three fonts give each letter three
# skeletons and two stem weights (DejaVu Serif Bold was tried: its 4 reads as A); a
# missing one is skipped (and Pillow's own font is the last resort), never a crash.
DEFAULT_FONTS = (DEFAULT_FONT, _FONT_DIR + "DejaVuSansMono-Bold.ttf", _FONT_DIR + "DejaVuSans.ttf")

# Upper case only (answers are upper-cased before comparison, so a lower-case reply is fine).
# Left out: 0/O/Q/D/U/V, 1/I/L/J/T, 2/Z, 5/S, 8/B/3, 6/G/b, 9/g/q; M/N/W, which read as one
# another once rotated; and the letters a crossing stroke turns into another one when read by
# eye (P + stroke = R, F + stroke = E, 7 + stroke = Y or J), and 4, read as A once slanted
# (measured on sample sheets read before looking at the answers).
# Y is left out too: in the blind reading of 60 pictures by two readers (docs/benchmarks-
# captcha.md) X and Y, warped, were the most read as one another (7 of 14 misreads).
ALPHABET = "ACEHKRX"
# Letters also drawn in lower case (answers are case-insensitive), picked per glyph: a second
# shape per letter costs a pixel classifier more training than it costs a reader. Only a: on
# sample sheets a lower-case h read as k (and k as h) once crossed by the wave, a thin r
# vanished next to an h, and lower-case c, e and x are small capitals or look alike.
_LOWER_TOO = "A"
# What readers typed for a letter of the alphabet, outside it (the blind reading: R crossed by
# the wave read as B, H as N, E as 3, X as Y): an attempt is read with these folded, so a
# person's likely misreading still counts. No folded character is in the alphabet.
READ_AS = str.maketrans({"B": "R", "N": "H", "3": "E", "Y": "X"})


def fold_lookalikes(attempt: str) -> str:
    """The attempt with the look-alikes people type folded onto the alphabet's letters."""
    return attempt.upper().translate(READ_AS)

# Palette indices: background in [0, _BG_MAX], ink in [_INK_MIN, 255], antialiasing between.
_BG_MAX = 70
_INK_MIN = 180
_INK = 255

_FontType = ImageFont.FreeTypeFont | ImageFont.ImageFont
Box = tuple[int, int]
Box4 = tuple[int, int, int, int]


@dataclass(frozen=True)
class _Glyph:
    """A character's mask in one font, centred in a square tile, and its ink width."""

    mask: Image.Image
    ink_width: int


class ImageCaptchaRenderer:
    """Renders captcha texts as PNG bytes; thread-safe (no mutable state after construction)."""

    def __init__(
        self,
        width: int = 200,
        height: int = 70,
        length: int | None = None,
        font_path: str | None = None,
        font_size: int | None = None,
        alphabet: str = ALPHABET,
        min_length: int = 4,
        max_length: int = 6,
        font_paths: Sequence[str] = DEFAULT_FONTS,
    ) -> None:
        """``length`` fixes the answer length; by default each answer has a random length in
        [``min_length``, ``max_length``]. ``font_path`` replaces ``font_paths`` with one font."""
        if length is not None:
            min_length = max_length = length
        if min_length < 1 or max_length < min_length:
            raise ValueError("length must be at least 1 (and min_length <= max_length)")
        if len(set(alphabet)) < 2 or len(set(alphabet)) != len(alphabet):
            raise ValueError("alphabet must hold at least two distinct characters, no repeats")
        self.width = width
        self.height = height
        self.min_length = min_length
        self.max_length = max_length
        self.alphabet = alphabet.upper()
        self._font_size = font_size or round(height * 0.53)
        fonts = _load_fonts([font_path] if font_path else list(font_paths), self._font_size)
        self._tile = round(self._font_size * 1.6)
        self._glyphs = {
            char: tuple(
                self._render_glyph(shape, font)
                for shape in (char, char.lower())
                if shape == char or char in _LOWER_TOO
                for font in fonts
            )
            for char in self.alphabet
        }
        self._stroke = max(2, round(self._font_size * 0.13))  # about a bold glyph stem
        # Half a stem: a wave 0.8 or 1 stem wide merged with the letters for people (H read
        # as Y, K as X, Y as K on sample sheets). A 3x3 opening erases this one; the steep
        # bands (see _swap_band) are what keep the letters from a threshold.
        self._wave_width = max(2, round(self._stroke * 0.5))

    @property
    def length(self) -> int:
        """The longest answer this renderer draws (kept for callers that size things by it)."""
        return self.max_length

    def random_text(self, length: int | None = None) -> str:
        """A fresh answer drawn with ``secrets``: ``length`` characters, or by default a random
        length in [min_length, max_length]. The returned text is exactly the expected answer."""
        if length is None:
            length = self.min_length + secrets.randbelow(self.max_length - self.min_length + 1)
        if length < 1:
            raise ValueError("length must be at least 1")
        return "".join(secrets.choice(self.alphabet) for _ in range(length))

    def render(self, text: str, seed: int | None = None) -> bytes:
        """PNG bytes showing ``text`` (characters of the alphabet, any case).

        ``seed`` makes the distortions reproducible (tests, benchmarks); by default they are
        seeded from ``secrets`` so two renders of one text differ.
        """
        return self._render_with_glyph_boxes(text, seed)[0]

    def _render_with_boxes(self, text: str, seed: int | None = None) -> tuple[bytes, list[Box]]:
        """The PNG and each glyph's horizontal ink extent (for the benchmarks' attacker, who
        has this code anyway; never sent anywhere)."""
        png, boxes = self._render_with_glyph_boxes(text, seed)
        return png, [(x0, x1) for x0, _, x1, _ in boxes]

    def _render_with_glyph_boxes(
        self, text: str, seed: int | None = None
    ) -> tuple[bytes, list[Box4]]:
        """The PNG and each glyph's ink box (x0, y0, x1, y1) before the final wave (for the
        benchmarks' glyph-sized window attacker, who has this code anyway)."""
        chars = self._chars_for(text)
        rng = random.Random(secrets.randbits(64) if seed is None else seed)  # noqa: S311 - jitter only
        canvas = _background(self.width, self.height, rng)
        boxes = self._draw_glyphs(canvas, chars, rng)
        self._draw_clutter(canvas, boxes, rng)
        canvas = _swap_band(canvas, rng)
        image = _wave(canvas, rng)
        image.putpalette(_palette(rng))
        out = io.BytesIO()
        image.save(out, format="PNG", compress_level=1)
        return out.getvalue(), boxes

    def _chars_for(self, text: str) -> str:
        if not text:
            raise ValueError("captcha text must not be empty")
        upper = text.upper()
        for char in upper:
            if char not in self._glyphs:
                raise ValueError(f"character {char!r} is not in the captcha alphabet")
        return upper

    def _render_glyph(self, char: str, font: _FontType) -> _Glyph:
        tile = Image.new("L", (self._tile, self._tile), 0)
        centre = self._tile / 2
        ImageDraw.Draw(tile).text((centre, centre), char, fill=_INK, font=font, anchor="mm")
        box = tile.getbbox()
        ink_width = box[2] - box[0] if box else self._font_size // 2
        return _Glyph(mask=tile, ink_width=ink_width)

    def _draw_glyphs(self, canvas: Image.Image, chars: str, rng: random.Random) -> list[Box4]:
        """Glyphs side by side with small random gaps, each in a random font and warp."""
        glyphs = [rng.choice(self._glyphs[char]) for char in chars]
        scales = [rng.uniform(0.82, 1.12) for _ in glyphs]
        stretches = [rng.uniform(0.82, 1.2) for _ in glyphs]  # condensed to wide
        widths = [g.ink_width * s * t for g, s, t in zip(glyphs, scales, stretches, strict=True)]
        gaps = [rng.uniform(0.06, 0.3) * self._font_size for _ in glyphs[1:]]
        span = sum(widths) + sum(gaps)
        room = self.width - 2 * self._stroke
        if span > room:  # a long answer in a narrow picture: shrink the gaps, then the glyphs
            shrink = room / span
            widths = [w * shrink for w in widths]
            gaps = [g * shrink for g in gaps]
            scales = [s * shrink for s in scales]
            span = room
        x = (self.width - span) / 2 + rng.uniform(-0.5, 0.5) * (room - span)
        half = self._tile / 2
        boxes: list[Box4] = []
        for i, (glyph, scale, stretch, width) in enumerate(
            zip(glyphs, scales, stretches, widths, strict=True)
        ):
            tile = _warp_glyph(glyph.mask, scale, stretch, rng)
            cx = x + width / 2
            cy = self.height / 2 + rng.uniform(-0.12, 0.12) * self.height
            left, top = round(cx - half), round(cy - half)
            canvas.paste(_INK, (left, top), tile)
            bbox = tile.getbbox() or (0, 0, tile.width, tile.height)
            boxes.append((left + bbox[0], top + bbox[1], left + bbox[2], top + bbox[3]))
            x += width + (gaps[i] if i < len(gaps) else 0)
        return boxes

    def _draw_clutter(self, canvas: Image.Image, boxes: list[Box4], rng: random.Random) -> None:
        """One long wave of stem width and ink colour through the word (it links the glyphs)."""
        draw = ImageDraw.Draw(canvas)
        w, h = canvas.size
        # Steep enough to cross letters at an angle, so it never reads as a letter's bar.
        y0 = h * rng.uniform(0.42, 0.58)
        amp = h * rng.uniform(0.2, 0.28)
        period = w * rng.uniform(0.45, 0.7)
        phase = rng.uniform(0, math.tau)
        x_from = boxes[0][0] - rng.uniform(0, 0.3) * self._font_size
        x_to = boxes[-1][2] + rng.uniform(0, 0.3) * self._font_size
        steps = max(2, int((x_to - x_from) / 8))
        points = [
            (x, y0 + amp * math.sin(math.tau * x / period + phase))
            for x in (x_from + (x_to - x_from) * i / steps for i in range(steps + 1))
        ]
        draw.line(points, fill=_INK, width=self._wave_width, joint="curve")


def _load_fonts(paths: Sequence[str], size: int) -> list[_FontType]:
    """The TrueType fonts that load; Pillow's built-in font when none does (never crash)."""
    fonts: list[_FontType] = []
    for path in paths:
        try:
            fonts.append(ImageFont.truetype(path, size))
        except OSError:
            continue
    return fonts or [ImageFont.load_default(size=size)]


def _warp_glyph(tile: Image.Image, scale: float, stretch: float, rng: random.Random) -> Image.Image:
    """A random elastic warp of one glyph: rotation, slant, scale, stretch and a jittered mesh.

    One MESH transform (one C call): the output tile is cut into 3x3 cells, each mapped from a
    source quad whose corners are the rotated/scaled grid points moved by a random offset, so
    strokes bend differently in every render.
    """
    size = tile.width
    angle = math.radians(rng.uniform(-12, 12))
    sx = 1 / (scale * stretch)  # inverse map: output pixel -> source pixel
    sy = 1 / (scale * rng.uniform(0.94, 1.06))
    cos, sin = math.cos(angle), math.sin(angle)
    centre = size / 2
    shear = rng.uniform(-0.2, 0.2)  # italic one way or the other
    jitter = size * 0.05
    cells = 3
    step = size / cells

    def source(gx: int, gy: int) -> tuple[float, float]:
        dx, dy = gx * step - centre, gy * step - centre
        inner = 0 < gx < cells and 0 < gy < cells
        jx = rng.uniform(-jitter, jitter) if inner else 0.0
        jy = rng.uniform(-jitter, jitter) if inner else 0.0
        x = centre + sx * (cos * dx + sin * dy) + shear * dy + jx
        return (x, centre + sy * (-sin * dx + cos * dy) + jy)

    grid = [[source(gx, gy) for gx in range(cells + 1)] for gy in range(cells + 1)]
    mesh = []
    for gy in range(cells):
        for gx in range(cells):
            box = (round(gx * step), round(gy * step),
                   round((gx + 1) * step), round((gy + 1) * step))  # fmt: skip
            nw, sw = grid[gy][gx], grid[gy + 1][gx]
            se, ne = grid[gy + 1][gx + 1], grid[gy][gx + 1]
            mesh.append((box, (*nw, *sw, *se, *ne)))
    return tile.transform(tile.size, Image.Transform.MESH, mesh,
                          resample=Image.Resampling.BILINEAR)  # fmt: skip


def _swap_band(canvas: Image.Image, rng: random.Random) -> Image.Image:
    """Swap ink and background indices inside narrow slanted bands across the word.

    A person reads light letters on a dark band as easily as dark on light; a threshold or a
    colour separation sees each band as one big blob with holes, and a classifier sees every
    letter in two polarities, often both at once.
    """
    w, h = canvas.size
    mask = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(mask)
    x0 = rng.uniform(0.05, 0.3) * w
    while x0 < 0.82 * w:
        band = rng.uniform(0.12, 0.2) * w
        # Slanted more than a band is wide, so that no column lies mostly inside a band: with
        # upright bands, inverting the mostly dark columns and a 3x3 opening let tesseract
        # read 2 % of the pictures.
        slant = rng.choice((-1, 1)) * rng.uniform(0.3, 0.45) * h
        draw.polygon([(x0 + slant, 0), (x0 + band + slant, 0), (x0 + band - slant, h),
                      (x0 - slant, h)], fill=255)  # fmt: skip
        x0 += band + rng.uniform(0.2, 0.4) * w
    swapped = canvas.point(_SWAP)
    return Image.composite(swapped, canvas, mask)


# Index -> index lookup that swaps background and ink ranges (the antialias ramp reverses too).
_SWAP = [255 - i for i in range(256)]


def _wave(canvas: Image.Image, rng: random.Random) -> Image.Image:
    """Shift each vertical strip by a sine of its x (one MESH transform): no straight baseline."""
    w, h = canvas.size
    amp = rng.uniform(0.03, 0.06) * h
    period = rng.uniform(0.6, 1.0) * w
    phase = rng.uniform(0, math.tau)
    step = 20
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
    """Index -> colour: light tints for the background, one dark ink, a ramp between."""
    ink = _dark(rng.random(), rng)
    stops = [(0, _light(rng)), (_BG_MAX, _light(rng)), (_INK_MIN, ink), (256, ink)]
    palette: list[int] = []
    for (i0, c0), (i1, c1) in itertools.pairwise(stops):
        # Channel by channel, then interleaved: a third of the Python work of per-entry tuples.
        ramps = [[a + (b - a) * (i - i0) // (i1 - i0) for i in range(i0, i1)]
                 for a, b in zip(c0, c1, strict=True)]  # fmt: skip
        palette.extend(itertools.chain.from_iterable(zip(*ramps, strict=True)))
    return palette


def _dark(hue: float, rng: random.Random) -> tuple[int, int, int]:
    red, green, blue = colorsys.hsv_to_rgb(hue % 1, rng.uniform(0.5, 0.9), rng.uniform(0.22, 0.38))
    return (round(red * 255), round(green * 255), round(blue * 255))


def _light(rng: random.Random) -> tuple[int, int, int]:
    red, green, blue = colorsys.hsv_to_rgb(
        rng.random(), rng.uniform(0.05, 0.2), rng.uniform(0.9, 1)
    )
    return (round(red * 255), round(green * 255), round(blue * 255))
