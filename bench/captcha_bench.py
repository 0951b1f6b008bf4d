"""Benchmark the image captcha: render time against a plain-text render, and the tesseract grid.

Run from the repository root:

    .venv/bin/python bench/captcha_bench.py [--renderer ours|before] [--n 300] [--ocr-n 300]
                                            [--no-ocr] [--samples DIR]

Render time: ours (``captcha.image``) or the renderer before issue 11 (``bench/captcha_before.py``)
against a plain-text render measured in the same run, on the same machine: the same text in
DejaVu Sans Bold, black on white, same picture size, PNG at zlib level 1. The ratio is what to
compare across machines.

OCR is off-the-shelf tesseract 5 (apt package ``tesseract-ocr``; bench only), skipped when it is
missing. Each picture set is read with page segmentation modes 6, 7, 8 and 13, whitelist = the
alphabet, on the raw picture and after the preprocessings an attacker would try (Otsu threshold,
median filters, upscaling, morphological openings that erase thin strokes, and a column-polarity
flip aimed at our swapped bands). A picture counts as read by a combination when tesseract
returns exactly its text; "best" is the best single combination, "any" the union of all of them
(an upper bound no attacker gets, since one answer is allowed per picture).
"""

from __future__ import annotations

import argparse
import io
import os
import platform
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
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from captcha.image import DEFAULT_FONT, ImageCaptchaRenderer

Render = Callable[[str], bytes]
Preprocess = Callable[[Image.Image], Image.Image]


class PlainRenderer:
    """The baseline: the text in a bold font, black on white, PNG at zlib level 1."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.font = ImageFont.truetype(DEFAULT_FONT, round(height * 0.53))

    def render(self, text: str) -> bytes:
        image = Image.new("L", (self.width, self.height), 255)
        ImageDraw.Draw(image).text((self.width / 2, self.height / 2), text, font=self.font,
                                   fill=0, anchor="mm")  # fmt: skip
        out = io.BytesIO()
        image.save(out, format="PNG", compress_level=1)
        return out.getvalue()


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


def flip_dark_columns(gray: Image.Image) -> Image.Image:
    """Invert every column that is mostly dark: undoes (roughly) a swapped band."""
    binary = threshold(gray)
    w, h = binary.size
    data = binary.load()
    out = binary.copy()
    put = out.load()
    assert data is not None and put is not None
    for x in range(w):
        dark = sum(1 for y in range(h) if data[x, y] == 0)
        if dark > h / 2:
            for y in range(h):
                put[x, y] = 0 if data[x, y] else 255
    return out


PREPROCESSINGS: dict[str, Preprocess] = {
    "raw": lambda im: im,
    "gray+otsu": lambda im: threshold(im.convert("L")),
    "median3+otsu": lambda im: threshold(im.convert("L").filter(ImageFilter.MedianFilter(3))),
    "x2+median5+otsu": lambda im: threshold(
        im.convert("L")
        .resize((im.width * 2, im.height * 2), Image.Resampling.BICUBIC)
        .filter(ImageFilter.MedianFilter(5))
    ),
    "x3+otsu": lambda im: threshold(
        im.convert("L").resize((im.width * 3, im.height * 3), Image.Resampling.BICUBIC)
    ),
    # Morphological openings of the dark ink: erase strokes thinner than the glyph stems.
    "otsu+open3": lambda im: (
        threshold(im.convert("L")).filter(ImageFilter.MaxFilter(3)).filter(ImageFilter.MinFilter(3))
    ),
    "otsu+open5": lambda im: (
        threshold(im.convert("L")).filter(ImageFilter.MaxFilter(5)).filter(ImageFilter.MinFilter(5))
    ),
    "flip-dark-columns": lambda im: flip_dark_columns(im.convert("L")),
    "flip+open3": lambda im: (
        flip_dark_columns(im.convert("L")).filter(ImageFilter.MaxFilter(3))
        .filter(ImageFilter.MinFilter(3))
    ),
    "inverted+otsu": lambda im: ImageChops.invert(threshold(im.convert("L"))),
}
PSMS = ("6", "7", "8", "13")


def tesseract_batch(paths: list[Path], psm: str, workdir: Path, alphabet: str) -> list[str]:
    """Read every image in one tesseract run (one model load); one answer per image."""
    listing = workdir / f"list-{psm}-{secrets.token_hex(4)}.txt"
    listing.write_text("\n".join(str(p) for p in paths) + "\n")
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    result = subprocess.run(
        ["tesseract", str(listing), "stdout", "--psm", psm,
         "-c", f"tessedit_char_whitelist={alphabet}"],
        capture_output=True, text=True, env=env, timeout=1800, check=False,
    )  # fmt: skip
    pages = result.stdout.split("\f")
    if len(pages) > len(paths) and not pages[-1].strip():
        pages = pages[: len(paths)]
    if len(pages) != len(paths):
        raise RuntimeError(f"tesseract returned {len(pages)} pages for {len(paths)} images")
    return ["".join(page.split()).upper() for page in pages]


def ocr_rates(render: Render, texts: list[str], workdir: Path, alphabet: str) -> dict[str, float]:
    """Percentage of images read exactly, per preprocessing (best PSM), best and any combination."""
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
    read: dict[tuple[str, str], set[int]] = {(name, psm): set() for name, psm, _ in jobs}
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        futures = {pool.submit(tesseract_batch, paths, psm, workdir, alphabet): (name, psm)
                   for name, psm, paths in jobs}  # fmt: skip
        for future, key in futures.items():
            for i, answer in enumerate(future.result()):
                if answer == texts[i].upper():
                    read[key].add(i)
    rates = {
        name: max(100 * len(read[(name, psm)]) / len(texts) for psm in PSMS)
        for name in PREPROCESSINGS
    }
    best = max(read, key=lambda key: len(read[key]))
    rates[f"best ({best[0]} psm {best[1]})"] = 100 * len(read[best]) / len(texts)
    rates["any"] = 100 * len(set().union(*read.values())) / len(texts)
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--renderer", choices=("ours", "before"), default="ours")
    parser.add_argument("--n", type=int, default=300, help="images to time per renderer")
    parser.add_argument("--ocr-n", type=int, default=300, help="images to OCR")
    parser.add_argument("--no-ocr", action="store_true", help="skip the tesseract part")
    parser.add_argument("--samples", type=Path, help="write a few sample PNGs here")
    args = parser.parse_args()

    if args.renderer == "before":
        from captcha_before import ImageCaptchaRenderer as Before

        target: ImageCaptchaRenderer | Before = Before()
    else:
        target = ImageCaptchaRenderer()
    plain = PlainRenderer(target.width, target.height)
    print(f"machine: {platform.machine()} {platform.processor() or ''} "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"Pillow {PIL.__version__}")  # fmt: skip

    texts = [target.random_text() for _ in range(args.n)]
    timings = {
        args.renderer: time_renderer(target.render, texts),
        "plain text": time_renderer(plain.render, texts),
    }
    for name, ms in timings.items():
        print(f"render {name:10s}: {ms:.2f} ms/image  (n={args.n}, {target.width}x{target.height})")
    print(f"render ratio {args.renderer} / plain text: "
          f"{timings[args.renderer] / timings['plain text']:.1f}x")

    if args.samples:
        args.samples.mkdir(parents=True, exist_ok=True)
        for i in range(6):
            text = target.random_text()
            (args.samples / f"{args.renderer}-{i}-{text}.png").write_bytes(target.render(text))

    if args.no_ocr:
        return
    if shutil.which("tesseract") is None:
        print("tesseract not found (apt-get install tesseract-ocr): OCR part skipped")
        return
    version = subprocess.run(["tesseract", "--version"], capture_output=True, text=True,
                             check=False).stdout.splitlines()[0]  # fmt: skip
    print(f"OCR: {version}, {len(PREPROCESSINGS)} preprocessings x psm {'/'.join(PSMS)}, "
          f"whitelist {target.alphabet}, n={args.ocr_n}")
    ocr_texts = [target.random_text() for _ in range(args.ocr_n)]
    with tempfile.TemporaryDirectory() as tmp:
        rates = ocr_rates(target.render, ocr_texts, Path(tmp), target.alphabet)
    for name, rate in rates.items():
        print(f"  OCR read {name:28s}: {rate:5.1f} %")


if __name__ == "__main__":
    main()
