"""Attacks on the audio captcha (``captcha/audio.py``), issue 11, against a clean TTS baseline.

The "before" is today's voice captcha: the digits read by plain text-to-speech. Here that is
``espeak-ng -v en-us`` reading "4, 7, 1, 9" (Twilio reads them with Polly, which recognisers
find easier still). Both are attacked by:

- **ASR**: pocketsphinx (PyPI ``pocketsphinx``, its bundled US English model, offline) held to a
  digits-only JSGF grammar of 4 to 6 digits, as an attacker would. Two ways, best one counted:
  the whole utterance, and energy-segmented digits decoded one by one with a one-digit grammar.
- **White box**: the attacker has our code, renders unlimited labelled challenges, knows the
  lead (beep) length, cuts the loud stretches out by energy (threshold tuned on its training
  renders), and labels each with a nearest neighbour on log-mel/MFCC-like features (NumPy FFT)
  learnt from segments of its own renders. Also printed: its per-digit accuracy when handed the
  true digit positions (an upper bound for a better segmenter).

Legibility proxies (no human listening study was run): per-digit SNR of the answer against
everything else, and the ASR rate on our answer track alone (the varied digits without babble
or noise). Run: ``.venv/bin/python bench/captcha_audio_attack.py [--count 200] [--train 600]``
(needs apt ``espeak-ng``; pip ``pocketsphinx`` for the ASR part; ~3-6 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from captcha.audio import (
    AudioCaptchaRenderer,
    AudioMix,
    AudioTracks,
    _parse_espeak_wav,
    _resample,
    new_audio_digits,
)
from captcha.spoken import normalise_spoken_attempt

Samples = npt.NDArray[np.float32]
RATE = 16_000
LEAD_SECONDS = 0.75  # our lead without intro is 0.78 s: white-box knowledge, skips the beep
_GRAMMAR = """#JSGF V1.0;
grammar digits;
<d> = zero | oh | one | two | three | four | five | six | seven | eight | nine;
public <code> = <d> <d> <d> <d> [<d>] [<d>];
"""
_OFFSETS = (4.0, 6.0, 8.0, 10.0, 13.0, 16.0)
_ONE_DIGIT = """#JSGF V1.0;
grammar digit;
public <d> = zero | oh | one | two | three | four | five | six | seven | eight | nine;
"""


@dataclass(frozen=True)
class Case:
    answer: str
    clean: Samples
    mixed: Samples
    answer_only: Samples
    spans: tuple[tuple[int, int], ...]
    snr_db: tuple[float, ...]


# -- challenges --------------------------------------------------------------------------


def clean_tts(answer: str) -> Samples:
    """Today's challenge: plain TTS reading the digits with commas between them."""
    out = subprocess.run(["espeak-ng", "-v", "en-us", "--stdout", ", ".join(answer)],
                         capture_output=True, check=True, timeout=10).stdout
    samples, rate = _parse_espeak_wav(out)
    return _resample(samples, rate / RATE, exact=True)


def per_digit_snr(tracks: AudioTracks) -> tuple[float, ...]:
    """Answer energy over interference energy within each answer digit's span, in dB."""
    out = []
    for start, end in tracks.spans:
        signal = float(np.sum(tracks.answer[start:end] ** 2))
        noise = float(np.sum(tracks.interference[start:end] ** 2)) or 1e-12
        out.append(10 * np.log10(signal / noise))
    return tuple(out)


def make_cases(renderer: AudioCaptchaRenderer, count: int,
               clean: bool) -> tuple[list[Case], list[float]]:
    cases, times = [], []
    for _ in range(count):
        answer = new_audio_digits()
        started = time.perf_counter()
        tracks = renderer.render_tracks(answer, "en")
        mixed = tracks.answer + tracks.interference
        times.append(time.perf_counter() - started)
        peak = float(np.max(np.abs(mixed)))
        cases.append(Case(answer, clean_tts(answer) if clean else np.zeros(1, np.float32),
                          mixed / peak * 0.89, tracks.answer / peak * 0.89, tracks.spans,
                          per_digit_snr(tracks)))
    return cases, times


# -- segmentation and features (shared by both attacks) ----------------------------------


def frame_energy_db(samples: Samples, frame: int = 320, hop: int = 160) -> npt.NDArray[np.float64]:
    count = max(1, 1 + (len(samples) - frame) // hop)
    frames = np.lib.stride_tricks.sliding_window_view(samples, frame)[::hop][:count]
    energy = np.convolve(np.mean(frames.astype(np.float64) ** 2, axis=1), np.ones(5) / 5, "same")
    return np.asarray(10 * np.log10(energy + 1e-10), np.float64)


def segments(samples: Samples, offset_db: float) -> list[tuple[int, int]]:
    """Loud stretches: frames within ``offset_db`` of the 97th percentile, merged, >= 120 ms."""
    energy = frame_energy_db(samples)
    loud = energy > np.percentile(energy, 97) - offset_db
    runs, start = [], None
    for i, flag in enumerate([*loud, False]):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            runs.append((start, i))
            start = None
    merged: list[tuple[int, int]] = []
    for run in runs:
        if merged and run[0] - merged[-1][1] < 8:  # < 80 ms apart: one word
            merged[-1] = (merged[-1][0], run[1])
        else:
            merged.append(run)
    return [(a * 160, b * 160 + 320) for a, b in merged if b - a >= 12]


_MEL = None


def mel_bank(n_fft: int = 512, bands: int = 26) -> npt.NDArray[np.float64]:
    global _MEL
    if _MEL is None:
        mel = np.linspace(0, 2595 * np.log10(1 + 8000 / 700), bands + 2)
        hz = 700 * (10 ** (mel / 2595) - 1)
        bins = np.floor((n_fft + 1) * hz / RATE).astype(int)
        bank = np.zeros((bands, n_fft // 2 + 1))
        for i in range(bands):
            a, b, c = bins[i], bins[i + 1], bins[i + 2]
            bank[i, a:b] = (np.arange(a, b) - a) / max(1, b - a)
            bank[i, b:c] = (c - np.arange(b, c)) / max(1, c - b)
        _MEL = bank
    return _MEL


def features(clip: Samples, slices: int = 10) -> npt.NDArray[np.float64]:
    """MFCC-like: log-mel frames, DCT to 13 coefficients, averaged into ``slices`` time slices."""
    if len(clip) < 512:
        clip = np.pad(clip, (0, 512 - len(clip)))
    frames = np.lib.stride_tricks.sliding_window_view(clip, 512)[::160] * np.hanning(512)
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    logmel = np.log(power @ mel_bank().T + 1e-8)
    n = logmel.shape[1]
    dct = np.cos(np.pi / n * (np.arange(n) + 0.5)[None, :] * np.arange(13)[:, None])
    ceps = logmel @ dct.T
    ceps -= ceps.mean(axis=0)  # cepstral mean normalisation: gain and channel out
    parts = np.array_split(ceps, slices, axis=0)
    vec = np.concatenate([p.mean(axis=0) if len(p) else np.zeros(13) for p in parts])
    return np.concatenate([vec, [np.log(len(clip))]])


class NearestNeighbour:
    def __init__(self, x: npt.NDArray[np.float64], y: npt.NDArray[np.int64], k: int = 5) -> None:
        self.mean, self.std = x.mean(axis=0), x.std(axis=0) + 1e-6
        self.x, self.y, self.k = (x - self.mean) / self.std, y, k

    def predict(self, x: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
        z = (x - self.mean) / self.std
        d = ((z[:, None, :] - self.x[None, :, :]) ** 2).sum(axis=2)
        nearest = np.argsort(d, axis=1)[:, : self.k]
        votes = self.y[nearest]
        return np.array([np.bincount(v, minlength=10).argmax() for v in votes])


def cut(samples: Samples) -> Samples:
    return samples[int(LEAD_SECONDS * RATE):]


def whitebox(train: list[Case], test: list[Case], clip: Callable[[Case], Samples],
             lead: bool) -> tuple[float, float]:
    """(solve rate, rate of challenges cut into the right number of segments)."""
    def audio(case: Case) -> Samples:
        return cut(clip(case)) if lead else clip(case)

    ranked = sorted(
        ((sum(len(segments(audio(c), o)) == len(c.answer) for c in train), o) for o in _OFFSETS),
        reverse=True)
    offset = ranked[0][1]
    xs, ys = [], []
    for case in train:
        found = segments(audio(case), offset)
        if len(found) == len(case.answer):
            xs += [features(audio(case)[a:b]) for a, b in found]
            ys += [int(d) for d in case.answer]
    model = NearestNeighbour(np.array(xs), np.array(ys))
    solved = matched = 0
    for case in test:
        # The attacker knows answers have 4 to 6 digits: first threshold (best first) that
        # gives such a count.
        found = next((f for _, o in ranked if 4 <= len(f := segments(audio(case), o)) <= 6), [])
        if len(found) != len(case.answer):
            continue
        matched += 1
        found_features = np.array([features(audio(case)[a:b]) for a, b in found])
        guess = "".join(map(str, model.predict(found_features)))
        solved += guess == case.answer
    return solved / len(test), matched / len(test)


def _oracle_accuracy(train: list[Case], test: list[Case], clip: Callable[[Case], Samples]) -> float:
    """Per-digit accuracy when the attacker is handed the true spans (training and test)."""
    xs = [features(clip(c)[a:b]) for c in train for a, b in c.spans]
    ys = [int(d) for c in train for d in c.answer]
    model = NearestNeighbour(np.array(xs), np.array(ys))
    tx = np.array([features(clip(c)[a:b]) for c in test for a, b in c.spans])
    ty = np.array([int(d) for c in test for d in c.answer])
    return float(np.mean(model.predict(tx) == ty))


# -- ASR ---------------------------------------------------------------------------------

_DECODER: Any = None


def _decoder() -> Any:  # pocketsphinx ships no type hints
    global _DECODER
    if _DECODER is None:
        from pocketsphinx import Decoder, get_model_path

        model = get_model_path()
        _DECODER = Decoder(hmm=os.path.join(model, "en-us", "en-us"), lm=None,
                           dict=os.path.join(model, "en-us", "cmudict-en-us.dict"),
                           samprate=RATE, loglevel="FATAL")
        _DECODER.add_jsgf_string("code", _GRAMMAR)
        _DECODER.add_jsgf_string("digit", _ONE_DIGIT)
    return _DECODER


def _decode(samples: Samples, search: str) -> str:
    decoder = _decoder()
    decoder.activate_search(search)
    decoder.start_utt()
    decoder.process_raw((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes(), full_utt=True)
    decoder.end_utt()
    hyp = decoder.hyp()
    return normalise_spoken_attempt(hyp.hypstr) if hyp else ""


def asr_guesses(job: tuple[Samples, float]) -> tuple[str, str]:
    """(whole-utterance guess, segment-by-segment guess) for one clip."""
    samples, offset = job
    whole = _decode(samples, "code")
    parts = "".join(_decode(samples[a:b], "digit") for a, b in segments(samples, offset))
    return whole, parts


def asr_rate(clips: Sequence[Samples], answers: Sequence[str],
             offset: float) -> tuple[float, float]:
    with ProcessPoolExecutor(max_workers=2) as pool:
        guesses = list(pool.map(asr_guesses, [(c, offset) for c in clips], chunksize=8))
    whole = sum(g[0] == a for g, a in zip(guesses, answers, strict=True)) / len(answers)
    parts = sum(g[1] == a for g, a in zip(guesses, answers, strict=True)) / len(answers)
    return whole, parts


# -- main --------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200, help="fresh test challenges")
    parser.add_argument("--train", type=int, default=600, help="white-box training renders")
    parser.add_argument("--no-asr", action="store_true", help="skip pocketsphinx")
    parser.add_argument("--babble-db", type=float, nargs=2, default=None, metavar=("LO", "HI"),
                        help="babble level range in dB under the answer (to explore the mix)")
    parser.add_argument("--gaps", type=float, nargs=2, default=None, metavar=("LO", "HI"),
                        help="range of the silence between answer digits, in seconds")
    parser.add_argument("--streams", type=int, default=None, help="babble streams")
    args = parser.parse_args()
    mix = AudioMix()
    if args.babble_db:
        mix = replace(mix, babble_db=tuple(args.babble_db))
    if args.gaps:
        mix = replace(mix, gap_seconds=tuple(args.gaps))
    if args.streams:
        mix = replace(mix, babble_streams=args.streams)
    print(f"mix: {mix}")
    renderer = AudioCaptchaRenderer(mix)
    started = time.perf_counter()
    renderer.warm(["en"])
    print(f"one-time synthesis (en): {time.perf_counter() - started:.1f} s")
    test, times = make_cases(renderer, args.count, clean=True)
    train, _ = make_cases(renderer, args.train, clean=True)
    times_ms = sorted(t * 1000 for t in times)
    print(f"render (tracks+mix, en) over {len(times)}: "
          f"median {statistics.median(times_ms):.1f} ms, "
          f"p95 {times_ms[int(0.95 * len(times_ms))]:.1f} ms, max {times_ms[-1]:.1f} ms")
    snr = [s for c in test for s in c.snr_db]
    print(f"per-digit SNR answer/interference: median {statistics.median(snr):.1f} dB, "
          f"min {min(snr):.1f} dB, 5th pct {sorted(snr)[len(snr) // 20]:.1f} dB")
    print(f"lengths: {sorted({len(c.answer) for c in test})}; duration median "
          f"{statistics.median(len(c.mixed) / RATE for c in test):.2f} s")

    for name, clip, lead in (("clean TTS", lambda c: c.clean, False),
                             ("ours (mix)", lambda c: c.mixed, True),
                             ("ours (answer track alone)", lambda c: c.answer_only, True)):
        solved, matched = whitebox(train, test, clip, lead)
        print(f"white-box NN, {name}: solved {solved:.1%}, segment count right {matched:.1%}")
    oracle = _oracle_accuracy(train, test, lambda c: c.mixed)
    perfect = np.mean([oracle ** len(c.answer) for c in test])
    print(f"white-box NN, ours (mix), per-digit accuracy given the TRUE spans: {oracle:.1%} "
          f"(=> ~{perfect:.1%} solved with a perfect segmenter)")
    if args.no_asr:
        return
    if importlib.util.find_spec("pocketsphinx") is None:
        print("pocketsphinx not installed (.venv/bin/pip install pocketsphinx): ASR part skipped")
        return
    answers = [c.answer for c in test]
    for name, clips in (("clean TTS", [c.clean for c in test]),
                        ("ours (mix)", [cut(c.mixed) for c in test]),
                        ("ours (answer track alone)", [cut(c.answer_only) for c in test])):
        whole, parts = asr_rate(clips, answers, offset=10.0)
        print(f"pocketsphinx digits grammar, {name}: whole utterance {whole:.1%}, "
              f"segment by segment {parts:.1%}, best {max(whole, parts):.1%}")


if __name__ == "__main__":
    main()
