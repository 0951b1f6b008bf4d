"""``Audit``: ``JsonLinesAudit`` writes one valid JSON object per line; both it and
``MemoryAudit`` refuse field names that look like secrets."""

from __future__ import annotations

import io
import json
import threading
from datetime import datetime
from pathlib import Path

import pytest

from bot.audit_log import JsonLinesAudit
from dialogs.memory import ManualClock, MemoryAudit
from dialogs.ports import Audit


def lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines()]


def test_audit_and_notice_record_is_one_json_line_with_the_fields() -> None:
    stream = io.StringIO()
    audit = JsonLinesAudit(stream, clock=ManualClock(1_700_000_000.5))
    audit.record("reset", result="ok", channel="telegram", who="alice", domain="CORP",
                 attempts=2, notified=True)
    audit.record("captcha", result="failed", channel="sms")
    first, second = lines(stream.getvalue())
    assert first == {"ts": "2023-11-14T22:13:20.500+00:00", "event": "reset", "result": "ok",
                     "channel": "telegram", "who": "alice", "domain": "CORP", "attempts": 2,
                     "notified": True}
    assert second["who"] == ""
    assert datetime.fromisoformat(str(second["ts"])).utcoffset() is not None


def test_attacker_text_cannot_split_a_line() -> None:
    stream = io.StringIO()
    JsonLinesAudit(stream, clock=ManualClock(0.0)).record(
        "start", result="ok", channel="sms", who="eve\n{\"event\":\"reset\"}\u2028x")
    assert len(stream.getvalue().splitlines()) == 1
    assert lines(stream.getvalue())[0]["who"] == "eve\n{\"event\":\"reset\"}\u2028x"


def test_path_appends_and_flushes_each_line(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    path.write_text('{"event":"earlier"}\n')
    audit = JsonLinesAudit(path=str(path), clock=ManualClock(0.0))
    try:
        audit.record("unlock", result="ok", channel="voice", who="bob")
        # Read before close: the line must already be on disk.
        assert [record["event"] for record in lines(path.read_text())] == ["earlier", "unlock"]
    finally:
        audit.close()


def test_concurrent_records_never_interleave() -> None:
    stream = io.StringIO()
    audit = JsonLinesAudit(stream, clock=ManualClock(0.0))

    def write(thread_no: int) -> None:
        for i in range(100):
            audit.record("start", result="ok", channel="sms", who=f"u{thread_no}-{i}" * 20)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert len(lines(stream.getvalue())) == 400


def test_stream_or_path_exactly_one() -> None:
    with pytest.raises(ValueError):
        JsonLinesAudit(clock=ManualClock(0.0))
    with pytest.raises(ValueError):
        JsonLinesAudit(io.StringIO(), path="x", clock=ManualClock(0.0))


@pytest.fixture(params=["memory", "jsonlines"])
def audit_and_output(request: pytest.FixtureRequest) -> tuple[Audit, io.StringIO, MemoryAudit]:
    memory, stream = MemoryAudit(), io.StringIO()
    if request.param == "memory":
        return memory, stream, memory
    return JsonLinesAudit(stream, clock=ManualClock(0.0)), stream, memory


@pytest.mark.parametrize("name", ["password", "new_Password", "answer_2", "sms_code", "SECRET",
                                  "web_token", "pin", "PIN_retry"])
def test_no_secret_at_rest_audit_refuses_secret_looking_fields(
        audit_and_output: tuple[Audit, io.StringIO, MemoryAudit], name: str) -> None:
    audit, stream, memory = audit_and_output
    with pytest.raises(ValueError, match=name):
        audit.record("reset", result="ok", channel="sms", who="alice", **{name: "hunter2"})
    assert stream.getvalue() == "" and memory.records == []


def test_reserved_names_and_non_primitive_values_are_refused(
        audit_and_output: tuple[Audit, io.StringIO, MemoryAudit]) -> None:
    audit = audit_and_output[0]
    with pytest.raises(ValueError):
        audit.record("reset", result="ok", channel="sms", ts="forged")
    with pytest.raises(TypeError):
        audit.record("reset", result="ok", channel="sms", questions=["q1"])  # type: ignore[arg-type]


def test_memory_audit_keeps_records_as_dicts() -> None:
    audit = MemoryAudit()
    audit.record("lockout", result="blocked", channel="telegram", who="alice", failures=5)
    assert audit.records == [{"event": "lockout", "result": "blocked", "channel": "telegram",
                              "who": "alice", "failures": 5}]
