"""Blind-reading set for the image captcha: pictures for readers, answers kept apart, a scorer.

Write a set (pictures under random names in ``DIR/pictures``, answers in ``DIR/answers.json``;
show readers the ``pictures`` folder only, never the answers file):

    .venv/bin/python bench/captcha_blind_set.py write DIR [--n 60] [--renderer ours|before]

A reader's answers go in a JSON file ``{"<picture file name>": "<what I read>", ...}`` (a blank
or missing entry counts as wrong) or a text file with one ``<file name> <reading>`` per line.
Score them (exact match after upper-casing and removing spaces, as the service compares):

    .venv/bin/python bench/captcha_blind_set.py score DIR READINGS [READINGS...]

The scorer prints each reader's exact rate, the misread pictures (answer / reading), and which
characters were confused, so the alphabet and the clutter can be tuned from evidence.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def write_set(folder: Path, n: int, renderer_name: str) -> None:
    if renderer_name == "before":
        from captcha_before import ImageCaptchaRenderer as Before

        before = Before()
        random_text, render = before.random_text, before.render
    else:
        from captcha.image import ImageCaptchaRenderer

        ours = ImageCaptchaRenderer()
        random_text, render = ours.random_text, ours.render
    pictures = folder / "pictures"
    pictures.mkdir(parents=True, exist_ok=False)
    answers = {}
    for _ in range(n):
        name = secrets.token_hex(6) + ".png"  # random names: the order tells nothing
        text = random_text()
        (pictures / name).write_bytes(render(text))
        answers[name] = text
    (folder / "answers.json").write_text(json.dumps(answers, indent=1, sort_keys=True) + "\n")
    print(
        f"wrote {n} pictures to {pictures} and the answers to {folder / 'answers.json'} "
        f"(renderer: {renderer_name}); show readers the pictures folder only"
    )


def normalise(text: str) -> str:
    return "".join(text.split()).upper()


def load_readings(path: Path) -> dict[str, str]:
    raw = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        data = json.loads(raw)
        return {str(k): str(v) for k, v in data.items()}
    readings = {}
    for line in raw.splitlines():
        parts = line.split(maxsplit=1)
        if parts:
            readings[parts[0]] = parts[1] if len(parts) > 1 else ""
    return readings


def score(folder: Path, reading_files: list[Path]) -> None:
    answers: dict[str, str] = json.loads((folder / "answers.json").read_text())
    for path in reading_files:
        readings = load_readings(path)
        right = 0
        confusions: Counter[tuple[str, str]] = Counter()
        misses = []
        for name, answer in sorted(answers.items()):
            got = normalise(readings.get(name, ""))
            if got == normalise(answer):
                right += 1
                continue
            misses.append((name, answer, got))
            if len(got) == len(answer):
                confusions.update((a, g) for a, g in zip(answer, got, strict=True) if a != g)
        from captcha.image import fold_lookalikes

        accepted = sum(1 for name, answer in answers.items()
                       if fold_lookalikes(normalise(readings.get(name, ""))) == normalise(answer))
        print(f"{path.name}: {right}/{len(answers)} exact = {100 * right / len(answers):.1f} %; "
              f"accepted by the service (look-alikes folded): {accepted}/{len(answers)} = "
              f"{100 * accepted / len(answers):.1f} %")
        for name, answer, got in misses:
            print(f"  {name}: answer {answer}, read {got or '(nothing)'}")
        if confusions:
            shown = ", ".join(f"{a}->{g} x{c}" for (a, g), c in confusions.most_common())
            print(f"  confusions (same-length misreads): {shown}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    w = sub.add_parser("write", help="render a blind set")
    w.add_argument("folder", type=Path)
    w.add_argument("--n", type=int, default=60)
    w.add_argument("--renderer", choices=("ours", "before"), default="ours")
    s = sub.add_parser("score", help="score readers' answers")
    s.add_argument("folder", type=Path)
    s.add_argument("readings", type=Path, nargs="+")
    args = parser.parse_args()
    if args.command == "write":
        write_set(args.folder, args.n, args.renderer)
    else:
        score(args.folder, args.readings)


if __name__ == "__main__":
    main()
