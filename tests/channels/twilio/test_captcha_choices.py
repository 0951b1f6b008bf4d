"""Issue 11 on SMS and the phone: another picture by a word, an audio challenge by a link, and
the call's challenge played (never said) from single-use URLs. Signed webhooks, real slapd and
Redis, the real renderers (the tests read answers from recording renderers)."""

from __future__ import annotations

import re
from urllib.parse import urlparse

from channels.twilio.segments import segments
from tests.channels.twilio.support import PUBLIC_URL, WebStack
from tests.channels.twilio.test_sms import Texter, media_urls
from tests.channels.twilio.test_voice import Caller
from tests.engine.conversation import recording_audio

LINK = re.compile(re.escape(PUBLIC_URL) + r"/twilio/media/[\w.-]+")


def test_sms_new_gives_another_picture_without_losing_a_try(stack: WebStack) -> None:
    person = Texter(stack)
    person.send("forgot")
    first = person.send("alice")
    assert "Tries left: 3" in person.text(first) and "NEW" in person.text(first), first
    for _ in range(3):  # as many as the tries: none of them is counted as a wrong answer
        again = person.send("NEW")
        assert len(media_urls(again)) == 1, person.text(again)
        assert "did not match" not in person.text(again) and "Tries left: 3" in person.text(again)
    reply = person.text(person.send(stack.renderer.last_text))
    assert "Q1/2" in reply, reply


def test_sms_audio_is_a_single_use_link_to_a_wav(stack: WebStack) -> None:
    person = Texter(stack)
    person.send("forgot")
    person.send("alice")
    messages = person.send("audio")
    text = person.text(messages)
    assert not media_urls(messages), text  # a link, not MMS audio (patchy on handsets)
    assert "digits you hear" in text and "Listen: " in text, text
    assert all(segments(person.text([m])) == 1 for m in messages), text
    found = LINK.search(text)
    assert found is not None, text
    path = urlparse(found.group(0)).path
    sound = person.client.get(path)
    assert sound.status_code == 200 and sound.mimetype == "audio/wav"
    assert sound.get_data().startswith(b"RIFF")
    assert person.client.get(path).status_code == 404  # once
    reply = person.text(person.send(" ".join(recording_audio().last_answer)))
    assert "Q1/2" in reply, reply


def test_a_call_plays_its_audio_from_single_use_urls_and_never_says_a_digit(
        stack: WebStack) -> None:
    caller = Caller(stack, call_sid="CA-audio")
    caller.call()
    caller.answer(digits="2")
    caller.answer(digits="1003")
    digits = caller.hear_captcha()
    plays = [play.text or "" for play in caller.gather().iter("Play")]
    for url in plays:
        path = urlparse(url).path
        sound = caller.client.get(path)
        assert sound.status_code == 200 and sound.mimetype == "audio/wav"
        assert caller.client.get(path).status_code == 404
    assert digits not in caller.said()
    caller.answer(digits=digits)
    assert "Question" in caller.said(), caller.said()
