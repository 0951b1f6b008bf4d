"""The image renderer: valid PNGs of the right size, varied output, an unambiguous alphabet."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from captcha.image import ALPHABET, ImageCaptchaRenderer

AMBIGUOUS = "0O1IlL2Z5S8B6G9gqDQUVJT"


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
    image = _open(ImageCaptchaRenderer(width=300, height=100).render("ACE34"))
    assert image.size == (300, 100)


def test_different_texts_give_different_images(renderer: ImageCaptchaRenderer) -> None:
    first = _open(renderer.render("ACEFH", seed=7)).convert("RGB")
    second = _open(renderer.render("KMNPR", seed=7)).convert("RGB")
    assert first.tobytes() != second.tobytes()


def test_same_text_renders_differently_each_time(renderer: ImageCaptchaRenderer) -> None:
    assert renderer.render("ACEFH") != renderer.render("ACEFH")


def test_seed_makes_rendering_reproducible(renderer: ImageCaptchaRenderer) -> None:
    assert renderer.render("ACEFH", seed=3) == renderer.render("ACEFH", seed=3)


def test_image_shows_dark_ink_on_light_background(renderer: ImageCaptchaRenderer) -> None:
    gray = _open(renderer.render("MWMWM")).convert("L")
    histogram = gray.histogram()
    dark = sum(histogram[:110])
    light = sum(histogram[170:])
    assert dark > 0.08 * gray.width * gray.height  # there is ink...
    assert light > 0.5 * gray.width * gray.height  # ...on a mostly light background


def test_alphabet_excludes_ambiguous_glyphs() -> None:
    assert not set(ALPHABET) & set(AMBIGUOUS)
    assert len(set(ALPHABET)) == len(ALPHABET) >= 12
    assert ALPHABET.upper() == ALPHABET


def test_random_text_uses_the_alphabet(renderer: ImageCaptchaRenderer) -> None:
    texts = {renderer.random_text() for _ in range(50)}
    assert len(texts) > 45
    for text in texts:
        assert len(text) == 5
        assert set(text) <= set(ALPHABET)
    assert len(renderer.random_text(8)) == 8


def test_lower_case_text_renders_like_upper(renderer: ImageCaptchaRenderer) -> None:
    assert renderer.render("acefh", seed=1) == renderer.render("ACEFH", seed=1)


def test_character_outside_alphabet_is_refused(renderer: ImageCaptchaRenderer) -> None:
    with pytest.raises(ValueError, match="not in the captcha alphabet"):
        renderer.render("AC0EF")
    with pytest.raises(ValueError, match="empty"):
        renderer.render("")


def test_missing_font_falls_back_to_pillow_default(tmp_path: Path) -> None:
    fallback = ImageCaptchaRenderer(font_path=str(tmp_path / "missing.ttf"))
    assert _open(fallback.render(fallback.random_text())).size == (200, 70)


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="length"):
        ImageCaptchaRenderer(length=0)
    with pytest.raises(ValueError, match="alphabet"):
        ImageCaptchaRenderer(alphabet="AA")
