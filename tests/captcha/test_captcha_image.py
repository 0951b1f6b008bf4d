"""The image renderer: valid PNGs, random length, one ink, fresh shapes, no look-alike glyphs."""

from __future__ import annotations

import io
import time
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image

from captcha.image import ALPHABET, ImageCaptchaRenderer

# Look-alikes (0/O, 1/I, 8/B/3...), letters that read as one another once rotated (M/N/W) and
# letters a crossing stroke or a slant turns into another (P/R, F/E, 7/Y, 4/A).
AMBIGUOUS = "0O1IlL2Z5S8B3M6G9gqDQUVJTNWPF74"


@pytest.fixture(scope="module")
def renderer() -> ImageCaptchaRenderer:
    return ImageCaptchaRenderer()


def _open(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    image.load()
    return image


def test_renders_a_png_of_the_default_size(renderer: ImageCaptchaRenderer) -> None:
    png = renderer.render(renderer.random_text())
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    image = _open(png)
    assert image.format == "PNG"
    assert image.size == (200, 70)


def test_custom_size() -> None:
    image = _open(ImageCaptchaRenderer(width=300, height=100).render("ACEHK"))
    assert image.size == (300, 100)


def test_answer_length_varies_and_random_text_is_the_exact_answer(
    renderer: ImageCaptchaRenderer,
) -> None:
    texts = [renderer.random_text() for _ in range(300)]
    assert {len(t) for t in texts} == {4, 5, 6}  # a fixed count would segment cleanly
    assert len(set(texts)) > 290
    for text in texts:
        assert set(text) <= set(ALPHABET)
        assert renderer.render(text)  # every answer drawn as given
    assert len(renderer.random_text(8)) == 8
    fixed = ImageCaptchaRenderer(length=5)
    assert {len(fixed.random_text()) for _ in range(50)} == {5}


def test_same_text_gets_different_glyph_shapes_each_time(renderer: ImageCaptchaRenderer) -> None:
    """No deterministic shapes: the ink of one letter differs between two renders."""
    masks = []
    for seed in (1, 2):
        png, boxes = renderer._render_with_boxes("AAAA", seed=seed)
        gray = _open(png).convert("L")
        x0, x1 = boxes[1]
        masks.append(gray.crop((x0, 0, x1, gray.height)).resize((16, 32)).point(
            lambda v: 255 if v < 128 else 0).tobytes())  # fmt: skip
    differing = sum(a != b for a, b in zip(masks[0], masks[1], strict=True))
    assert differing > 0.1 * len(masks[0])
    assert renderer.render("ACEHK") != renderer.render("ACEHK")


def test_glyphs_and_clutter_share_one_ink(renderer: ImageCaptchaRenderer) -> None:
    """No per-glyph colour or palette index: separating by colour yields one layer."""
    for seed in range(20):
        image = _open(renderer.render("ACEHKR", seed=seed))
        assert image.mode == "P"
        rgb = image.convert("RGB")
        colours = rgb.getcolors(maxcolors=1 << 16) or []
        dark = {c: n for n, c in colours if isinstance(c, tuple) and sum(c) < 3 * 110}
        top_count = max(dark.values())
        # Antialiasing leaves a thin rim of in-between shades; the ink itself is one colour.
        assert top_count > 0.85 * sum(dark.values()), (seed, len(dark))
        indices = Counter(image.tobytes())
        ink_indices = [i for i, n in indices.items() if n > 60 and i >= 180]
        palette = image.getpalette() or []
        assert len({tuple(palette[3 * i: 3 * i + 3]) for i in ink_indices}) == 1


def test_different_texts_give_different_images(renderer: ImageCaptchaRenderer) -> None:
    first = _open(renderer.render("ACEHK", seed=7)).convert("RGB")
    second = _open(renderer.render("KRXCA", seed=7)).convert("RGB")
    assert first.tobytes() != second.tobytes()


def test_seed_makes_rendering_reproducible(renderer: ImageCaptchaRenderer) -> None:
    assert renderer.render("ACEHK", seed=3) == renderer.render("ACEHK", seed=3)


def test_image_shows_ink_and_a_mostly_light_background(renderer: ImageCaptchaRenderer) -> None:
    gray = _open(renderer.render("HXHXH")).convert("L")
    histogram = gray.histogram()
    dark = sum(histogram[:110])
    light = sum(histogram[170:])
    assert dark > 0.08 * gray.width * gray.height  # there is ink (and swapped bands)...
    assert light > 0.4 * gray.width * gray.height  # ...on a mostly light background


def test_render_time_is_a_few_milliseconds(renderer: ImageCaptchaRenderer) -> None:
    """A sanity bound only (shared CI machines); the benchmark measures the real figure."""
    texts = [renderer.random_text() for _ in range(40)]
    start = time.perf_counter()
    for text in texts:
        renderer.render(text)
    assert (time.perf_counter() - start) / len(texts) < 0.03


def test_alphabet_excludes_ambiguous_glyphs() -> None:
    assert not set(ALPHABET) & set(AMBIGUOUS)
    assert len(set(ALPHABET)) == len(ALPHABET) >= 7  # 7**4 answers at the least
    assert ALPHABET.upper() == ALPHABET


def test_lower_case_text_renders_like_upper(renderer: ImageCaptchaRenderer) -> None:
    assert renderer.render("acehk", seed=1) == renderer.render("ACEHK", seed=1)


def test_character_outside_alphabet_is_refused(renderer: ImageCaptchaRenderer) -> None:
    with pytest.raises(ValueError, match="not in the captcha alphabet"):
        renderer.render("AC0EH")
    with pytest.raises(ValueError, match="empty"):
        renderer.render("")


def test_missing_font_falls_back_to_pillow_default(tmp_path: Path) -> None:
    fallback = ImageCaptchaRenderer(font_path=str(tmp_path / "missing.ttf"))
    assert _open(fallback.render(fallback.random_text())).size == (200, 70)


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="length"):
        ImageCaptchaRenderer(length=0)
    with pytest.raises(ValueError, match="length"):
        ImageCaptchaRenderer(min_length=5, max_length=4)
    with pytest.raises(ValueError, match="alphabet"):
        ImageCaptchaRenderer(alphabet="AA")


def test_glyph_boxes_for_the_bench_match_the_horizontal_ones(
    renderer: ImageCaptchaRenderer,
) -> None:
    """The white-box bench's attacker instruments both (it has this code anyway)."""
    png, boxes = renderer._render_with_glyph_boxes("ACEHKR", seed=5)
    assert (png, [(x0, x1) for x0, _, x1, _ in boxes]) == renderer._render_with_boxes(
        "ACEHKR", seed=5
    )
    assert len(boxes) == 6
    for x0, y0, x1, y1 in boxes:
        assert x0 < x1 and y0 < y1
    assert [b[0] for b in boxes] == sorted(b[0] for b in boxes)  # left to right
