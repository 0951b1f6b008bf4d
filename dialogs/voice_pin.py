"""Which voice PINs are refused at enrolment (issue 12: ``1234`` was accepted).

A PIN is the whole proof on a call where ``voice_factor = "pin"``, so the ones an attacker
tries first are refused: one digit repeated (``0000``), a run up or down (``1234``,
``9876``), a year (``19xx``/``20xx``: birth years are the classic guess, and the directory
holds no birth date to compare with, so every year is refused as a class), and the
account's employee number (which the caller keys in as the username on the same call).
"""

from __future__ import annotations

from itertools import pairwise

MIN_DIGITS = 4
MAX_DIGITS = 8


def pin_problem(pin: str, employee_number: str = "") -> str | None:
    """The message id saying why ``pin`` is refused, or None when it may be used."""
    if not (pin.isascii() and pin.isdecimal() and MIN_DIGITS <= len(pin) <= MAX_DIGITS):
        return "enrol.pin_invalid"
    if len(set(pin)) == 1 or _is_run(pin):
        return "enrol.pin_trivial"
    if len(pin) == 4 and pin[:2] in ("19", "20"):
        return "enrol.pin_year"
    if employee_number and employee_number in pin:
        return "enrol.pin_employee_number"
    return None


def _is_run(pin: str) -> bool:
    steps = {(int(b) - int(a)) % 10 for a, b in pairwise(pin)}
    return steps in ({1}, {9})  # 1234, 7890 (wrapping), 4321, 1098
