"""A scripted person at the console: reads what was printed and answers as they would."""

from __future__ import annotations

import io
from collections.abc import Mapping

from tests.engine.conversation import RecordingRenderer

QUESTION_WORDS = (("q.first_pet", "pet"), ("q.first_school", "school"),
                  ("q.childhood_street", "street"))


class ConsolePerson(io.StringIO):
    """stdin for ``run_console``: picks 'forgot password', then answers each prompt."""

    def __init__(self, out: io.StringIO, renderer: RecordingRenderer, *, login: str,
                 answers: Mapping[str, str], new_password: str, max_lines: int = 12) -> None:
        super().__init__()
        self.out = out
        self.renderer = renderer
        self.login = login
        self.answers = answers
        self.new_password = new_password
        self.max_lines = max_lines
        self.step = 0

    def readline(self, size: int = -1) -> str:
        self.step += 1
        lines = [line for line in self.out.getvalue().splitlines()
                 if line.strip() and not line.startswith("[0")]
        if self.step > self.max_lines or not lines:
            return ""
        if lines[-1].startswith("Reply with a number"):
            return "1\n"
        return self.answer(lines[-1], lines) + "\n"

    def answer(self, last: str, lines: list[str]) -> str:
        if "username" in last:
            return self.login
        if last.startswith("Captcha image saved"):
            return self.renderer.last_text
        if last.startswith("Question"):
            for qid, word in QUESTION_WORDS:
                if word in last:
                    return self.answers[qid]
        if last.startswith("Type the code"):
            sms = [line for line in lines if line.startswith("[SMS to")][-1]
            return sms.split("code is ")[1][:6]
        if "password" in last.lower():
            return self.new_password
        return "quit"
