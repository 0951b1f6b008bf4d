"""Benchmark Redis memory per live conversation, against an empty session record.

Run from the repository root:

    .venv/bin/python bench/redis_bytes_bench.py [--conversations 200]

It starts its own throwaway slapd and redis-server (``bot.local_stack``), builds the application
as production does, and leaves K forgot-password conversations (distinct senders) at a typical
mid-proof state: username given, captcha solved, waiting for the first answer. Then it measures

- ``MEMORY USAGE`` (SAMPLES 0) of every key with the application's prefix (found with SCAN),
  grouped by kind (``s`` session, ``t`` trace, ``n`` counter... see ``bot.redis_keys``; for
  keys without a hash tag, their first segment), minus what was there before;
- the ``used_memory`` delta of ``INFO memory`` across the K conversations.

Every event carries a delivery id shaped like Twilio's ``MessageSid`` (34 characters), so the
duplicate-delivery keys an SMS conversation leaves are counted too (``--no-delivery-ids``:
console-like events without them).

Enrolments are seeded with real Argon2id hashes, as production stores them (the session
carries the asked answers' hashes, sealed: ``dialogs.steps.proof_record``); ``--hasher fast``
seeds the unit tests' ``FastAnswerHasher`` instead (its 102-character hashes do not pack, so
that figure is the worst case of a hash format the packer does not know). The sealed excerpt's
own size is printed too (issue 13 asked for at most 250 bytes).

The baseline, measured in the same run: the ``MEMORY USAGE`` of one session key holding an
empty record (``{}`` saved through ``RedisSessionStore``), i.e. the least a conversation can
cost in Redis. The ratio says how many such keys one live conversation weighs.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from engine_bench import Driver, application, local_stack, print_load, print_machine

from bot.redis_keys import ConversationKeys
from bot.redis_sessions import RedisSessionStore, unpack
from dialogs.answers import AnswerHasher, Argon2AnswerHasher, FastAnswerHasher
from dialogs.engine import Engine
from dialogs.events import ConversationKey, Event
from tests.engine.conversation import RecordingRenderer

BASELINE_KEY = "console:bench-empty-00000"  # as long as "console:bench-bytes-00000"
SCAN_LIMIT = 1_000_000  # a bound on the keys looked at, far above what the benchmark makes


def session_key(app: Any, conversation: str) -> str:
    """The session key of a live conversation, checked to exist."""
    settings = app.settings
    name = ConversationKeys(settings.redis.key_prefix, secret(app))(conversation, "s")
    if not app.redis.exists(name):
        raise RuntimeError(f"no session key for {conversation!r} ({name})")
    return str(name)


def secret(app: Any) -> bytes:
    return bytes(app.settings.secret_key.reveal().encode("utf-8"))


def keys_with(client: redis.Redis, prefix: str) -> list[bytes]:
    found: list[bytes] = []
    for key in client.scan_iter(match=prefix + "*", count=1000):
        found.append(cast(bytes, key))
        if len(found) >= SCAN_LIMIT:
            raise RuntimeError("too many keys: is this a throwaway Redis?")
    return found


def usage_by_kind(client: redis.Redis, prefix: str) -> tuple[Counter[str], Counter[str]]:
    """(bytes, key count) per kind, the kind being the key's first segment after the prefix."""
    size: Counter[str] = Counter()
    count: Counter[str] = Counter()
    for key in keys_with(client, prefix):
        name = key.decode()[len(prefix):]
        kind = name.rsplit(":", 1)[1] if name.startswith("{") else name.split(":", 1)[0]
        size[kind] += int(cast(int, client.memory_usage(key, samples=0)) or 0)
        count[kind] += 1
    return size, count


def used_memory(client: redis.Redis) -> int:
    return int(cast(dict[str, Any], client.info("memory"))["used_memory"])


def session_value_bytes(client: redis.Redis, prefix: str) -> list[int]:
    return [int(cast(int, client.strlen(key)))
            for key in keys_with(client, prefix) if key.endswith(b"}:s")]


def sealed_excerpt_chars(client: redis.Redis, prefix: str) -> list[int]:
    """Length of the sealed proof excerpt (base64 text) in each live session that has one."""
    lengths = []
    for key in keys_with(client, prefix):
        raw = cast(bytes | None, client.get(key)) if key.endswith(b"}:s") else None
        sealed = unpack(raw).get("data", {}).get("proof_record") if raw else None
        if sealed:
            lengths.append(len(str(sealed)))
    return lengths


def baseline_bytes(client: redis.Redis, prefix: str, key: bytes) -> tuple[int, int]:
    """MEMORY USAGE of an empty-record session key and of its trace key (then removed).

    Same prefix and key length as the benchmark's (every conversation's key is a fixed-length
    tag), so that only the record differs from a real conversation's session key.
    """
    store = RedisSessionStore(client, prefix=prefix, secret_key=key)
    store.save(BASELINE_KEY, {}, 300)
    keys = ConversationKeys(prefix, key)
    session, trace = (int(cast(int, client.memory_usage(keys(BASELINE_KEY, kind), samples=0)))
                      for kind in ("s", "t"))
    store.delete(BASELINE_KEY)
    return session, trace


@dataclass
class WithDeliveryIds:
    """The engine, every event given a fresh MessageSid-like delivery id."""

    engine: Engine
    sent: int = 0

    def handle(self, key: ConversationKey, event: Event) -> list[Any]:
        self.sent += 1
        return self.engine.handle(key, replace(event, event_id=f"SM{self.sent:032x}"))


def leave_mid_proof(driver: Driver, k: int) -> None:
    for i in range(k):
        driver.to_first_question(driver.conversation(f"{i:05d}"))


def print_kinds(size: Counter[str], count: Counter[str], k: int) -> None:
    print("\n| key kind | keys | MEMORY USAGE bytes | bytes per conversation |")
    print("| --- | ---: | ---: | ---: |")
    for kind in sorted(size):
        print(f"| {kind} | {count[kind]} | {size[kind]} | {size[kind] / k:.0f} |")
    print(f"| **all** | {sum(count.values())} | {sum(size.values())} "
          f"| {sum(size.values()) / k:.0f} |")


def print_summary(k: int, keys_bytes: int, memory_delta: int, baseline: tuple[int, int],
                  values: list[int], excerpts: list[int]) -> None:
    per_keys, per_memory = keys_bytes / k, memory_delta / k
    empty, trace = baseline
    print(f"\nSession value (deflated JSON): mean {sum(values) / len(values):.0f} bytes, "
          f"min {min(values)}, max {max(values)} (STRLEN, {len(values)} sessions)")
    if excerpts:
        mean = sum(excerpts) / len(excerpts)
        print(f"Sealed proof excerpt: {mean:.0f} characters of base64 = {mean * 3 / 4:.0f} "
              f"bytes sealed (nonce and tag included), in {len(excerpts)} sessions")
    print("\n| figure | bytes per conversation | ratio to the baseline |")
    print("| --- | ---: | ---: |")
    print(f"| baseline: empty-record session key (`{{}}` via RedisSessionStore) | {empty} "
          "| 1.0x |")
    print(f"| (for reference) its trace key | {trace} | {trace / empty:.1f}x |")
    print(f"| keys' own MEMORY USAGE | {per_keys:.0f} | {per_keys / empty:.1f}x |")
    print(f"| INFO used_memory delta | {per_memory:.0f} | {per_memory / empty:.1f}x |")
    print(f"\nAt this rate, 10,000 live conversations take about "
          f"{per_memory * 10_000 / 2**20:.1f} MiB (used_memory) in Redis.")


def run(k: int, delivery_ids: bool, hasher: AnswerHasher) -> None:
    print_machine()
    with local_stack() as (slapd, redis_info):
        renderer = RecordingRenderer()
        with application(slapd, redis_info, hasher, renderer) as app:
            client, driver = app.redis, Driver(app, renderer, "bytes")
            if delivery_ids:
                driver.timer.engine = cast(Engine, WithDeliveryIds(app.engine))
            warmup = driver.conversation("warmup")
            driver.to_first_question(warmup)  # scripts loaded, connections made
            session_key(app, str(warmup.key))
            prefix = app.settings.redis.key_prefix
            baseline = baseline_bytes(client, prefix, secret(app))
            size_before, count_before = usage_by_kind(client, prefix)
            memory_before = used_memory(client)
            leave_mid_proof(driver, k)
            memory_delta = used_memory(client) - memory_before
            size, count = usage_by_kind(client, prefix)
            values = session_value_bytes(client, prefix)
            excerpts = sealed_excerpt_chars(client, prefix)
    size.subtract(size_before)
    count.subtract(count_before)
    ids = "with" if delivery_ids else "without"
    print(f"\n{k} conversations left waiting for their first answer, events {ids} delivery "
          f"ids, answers hashed by {type(hasher).__name__} (key prefix {prefix!r}; keys "
          "present before them subtracted).")
    print_kinds(size, count, k)
    print_summary(k, sum(size.values()), memory_delta, baseline, values, excerpts)
    print()
    print_load("at the end")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--no-delivery-ids", action="store_true")
    parser.add_argument("--hasher", choices=("argon2", "fast"), default="argon2")
    args = parser.parse_args()
    if not 1 <= args.conversations <= 100_000:
        parser.error("--conversations must be between 1 and 100000")
    hasher = Argon2AnswerHasher() if args.hasher == "argon2" else FastAnswerHasher()
    run(args.conversations, not args.no_delivery_ids, hasher)


if __name__ == "__main__":
    main()
