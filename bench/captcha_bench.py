"""Benchmark the image captcha: render time and OCR read rate, ours against a naive baseline.

Run from the repository root:

    python bench/captcha_bench.py [--n 300] [--ocr-n 300] [--no-ocr] [--samples DIR]

The baseline is measured in the same run, on the same machine: a naive Pillow render (6 glyphs
rotated one by one, random noise dots, 200x70, PNG with Pillow's defaults). Both use the same
alphabet so that the OCR whitelist is fair to both.

OCR is off-the-shelf tesseract (apt package ``tesseract-ocr``), skipped when it is missing. Each
image set is read with page segmentation modes 7 (one line) and 8 (one word), on the raw image
and after a few preprocessings an attacker would try (grayscale + Otsu threshold, median filter,
2x upscale). An image counts as read by a preprocessing when tesseract returns exactly its text;
"any" counts an image read by at least one of the combinations.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import random
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import PIL
from PIL import Image, ImageDraw, ImageFilter, ImageFont

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from captcha.image import ALPHABET, DEFAULT_FONT, ImageCaptchaRenderer

Render = Callable[[str], bytes]
Preprocess = Callable[[Image.Image], Image.Image]


class NaiveRenderer:
    """The baseline: 6 glyphs rotated individually and random noise dots on white."""

    def __init__(self, width: int = 200, height: int = 70) -> None:
        self.width, self.height = width, height
        self.font = ImageFont.truetype(DEFAULT_FONT, 40)
        self.rng = random.Random(secrets.randbits(64))

    def render(self, text: str) -> bytes:
        image = Image.new("RGB", (self.width, self.height), "white")
        for i, char in enumerate(text):
            glyph = Image.new("RGBA", (50, 50), (0, 0, 0, 0))
            ImageDraw.Draw(glyph).text((25, 25), char, font=self.font, fill="black", anchor="mm")
            glyph = glyph.rotate(self.rng.uniform(-30, 30), expand=True)
            image.paste(glyph, (5 + i * 31, self.rng.randint(0, 12)), glyph)
        draw = ImageDraw.Draw(image)
        for _ in range(300):
            xy = (self.rng.randrange(self.width), self.rng.randrange(self.height))
            draw.point(xy, fill=tuple(self.rng.randrange(256) for _ in range(3)))
        out = io.BytesIO()
        image.save(out, format="PNG")
        return out.getvalue()


def random_text(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def time_renderer(render: Render, texts: list[str]) -> float:
    """Milliseconds per image, best of 3 passes (the machine is shared)."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for text in texts:
            render(text)
        best = min(best, (time.perf_counter() - start) / len(texts) * 1000)
    return best


def otsu(gray: Image.Image) -> int:
    """Otsu's threshold from the histogram (pure Python, 256 bins)."""
    hist = gray.histogram()
    total = sum(hist)
    sum_all = sum(i * h for i, h in enumerate(hist))
    best, best_t, w0, sum0 = -1.0, 128, 0, 0.0
    for t, h in enumerate(hist):
        w0 += h
        if w0 == 0 or w0 == total:
            continue
        sum0 += t * h
        m0, m1 = sum0 / w0, (sum_all - sum0) / (total - w0)
        between = w0 * (total - w0) * (m0 - m1) ** 2
        if between > best:
            best, best_t = between, t
    return best_t


def threshold(gray: Image.Image) -> Image.Image:
    t = otsu(gray)
    return gray.point(lambda v: 0 if v <= t else 255)


PREPROCESSINGS: dict[str, Preprocess] = {
    "raw": lambda im: im,
    "gray+otsu": lambda im: threshold(im.convert("L")),
    "median3+otsu": lambda im: threshold(im.convert("L").filter(ImageFilter.MedianFilter(3))),
    "x2+median5+otsu": lambda im: threshold(
        im.convert("L")
        .resize((im.width * 2, im.height * 2), Image.Resampling.BICUBIC)
        .filter(ImageFilter.MedianFilter(5))
    ),
    # Morphological opening of the dark ink: erases strokes thinner than the glyph stems.
    "otsu+open5": lambda im: (
        threshold(im.convert("L")).filter(ImageFilter.MaxFilter(5)).filter(ImageFilter.MinFilter(5))
    ),
}
PSMS = ("7", "8")


def tesseract_batch(paths: list[Path], psm: str, workdir: Path) -> list[str]:
    """Read every image in one tesseract run (one model load); one answer per image."""
    listing = workdir / f"list-{psm}-{secrets.token_hex(4)}.txt"
    listing.write_text("\n".join(str(p) for p in paths) + "\n")
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    result = subprocess.run(
        ["tesseract", str(listing), "stdout", "--psm", psm,
         "-c", f"tessedit_char_whitelist={ALPHABET}"],
        capture_output=True, text=True, env=env, timeout=1800, check=False,
    )  # fmt: skip
    pages = result.stdout.split("\f")
    if len(pages) > len(paths) and not pages[-1].strip():
        pages = pages[: len(paths)]
    if len(pages) != len(paths):
        raise RuntimeError(f"tesseract returned {len(pages)} pages for {len(paths)} images")
    return ["".join(page.split()).upper() for page in pages]


def ocr_rates(render: Render, texts: list[str], workdir: Path) -> dict[str, float]:
    """Percentage of images read exactly, per preprocessing (best PSM) and for any combination."""
    images = [Image.open(io.BytesIO(render(text))).convert("RGB") for text in texts]
    jobs: list[tuple[str, str, list[Path]]] = []
    for name, prep in PREPROCESSINGS.items():
        folder = workdir / name
        folder.mkdir()
        paths = []
        for i, image in enumerate(images):
            path = folder / f"{i:05d}.png"
            prep(image).save(path)
            paths.append(path)
        jobs.extend((name, psm, paths) for psm in PSMS)
    read: dict[str, set[int]] = {name: set() for name in PREPROCESSINGS}
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        futures = {pool.submit(tesseract_batch, paths, psm, workdir): name
                   for name, psm, paths in jobs}  # fmt: skip
        for future, name in futures.items():
            for i, answer in enumerate(future.result()):
                if answer == texts[i]:
                    read[name].add(i)
    rates = {name: 100 * len(hits) / len(texts) for name, hits in read.items()}
    rates["any"] = 100 * len(set().union(*read.values())) / len(texts)
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="images to time per renderer")
    parser.add_argument("--ocr-n", type=int, default=300, help="images to OCR per renderer")
    parser.add_argument("--no-ocr", action="store_true", help="skip the tesseract part")
    parser.add_argument("--samples", type=Path, help="write a few sample PNGs of each here")
    args = parser.parse_args()

    ours = ImageCaptchaRenderer()
    naive = NaiveRenderer()
    renderers: dict[str, tuple[Render, int]] = {
        "ours": (ours.render, ours.length),
        "naive baseline": (naive.render, 6),
    }
    print(f"machine: {platform.machine()} {platform.processor() or ''} "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"Pillow {PIL.__version__}")  # fmt: skip

    timings = {}
    for name, (render, length) in renderers.items():
        timings[name] = time_renderer(render, [random_text(length) for _ in range(args.n)])
        print(f"render {name:15s}: {timings[name]:.2f} ms/image  (n={args.n})")
    ratio = timings["naive baseline"] / timings["ours"]
    print(f"render speed-up ours vs baseline: {ratio:.1f}x")

    if args.samples:
        args.samples.mkdir(parents=True, exist_ok=True)
        for name, (render, length) in renderers.items():
            for i in range(6):
                text = random_text(length)
                slug = name.split()[0]
                (args.samples / f"{slug}-{i}-{text}.png").write_bytes(render(text))

    if args.no_ocr:
        return
    if shutil.which("tesseract") is None:
        print("tesseract not found (apt-get install tesseract-ocr): OCR part skipped")
        return
    version = subprocess.run(["tesseract", "--version"], capture_output=True, text=True,
                             check=False).stdout.splitlines()[0]  # fmt: skip
    print(f"OCR: {version}, psm {'/'.join(PSMS)}, whitelist {ALPHABET}, n={args.ocr_n}")
    for name, (render, length) in renderers.items():
        texts = [random_text(length) for _ in range(args.ocr_n)]
        with tempfile.TemporaryDirectory() as tmp:
            rates = ocr_rates(render, texts, Path(tmp))
        shown = ", ".join(f"{k} {v:.1f} %" for k, v in rates.items())
        print(f"OCR read rate {name:15s}: {shown}")


if __name__ == "__main__":
    main()
