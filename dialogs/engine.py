"""The dialog engine: one event plus the stored session in, new session plus actions out.

``Engine.handle`` holds the conversation's lock for the whole turn (state is loaded *after*
the lock is taken), so concurrent deliveries never interleave; a retried delivery
(same ``event_id``) is processed once. The store is asked twice per turn (issue 13): ``open``
takes the lock, records the delivery and reads the record, relay mark and remembered
language; ``close`` writes the record and releases the lock. Global words (``menu``,
``cancel``, ``help``, ``language``) work in every state. Expiry of the time allotment or of
the idle limit gives a friendly restart. A directory or store failure gives "try again
later" and changes nothing.
"""

from __future__ import annotations

import logging
from contextlib import suppress
from dataclasses import replace
from typing import Any

from dialogs.actions import Action, End, Say, UseLanguage
from dialogs.alerts import AlertControl
from dialogs.directory_port import DirectoryError, DirectoryUnavailable
from dialogs.events import ConversationKey, Event
from dialogs.flow import ANY, END, SAME, Flows
from dialogs.flows import change_password, enrol, forgot_password, lock_alert, menu, unlock_account
from dialogs.languages import sender_key
from dialogs.messages import Message
from dialogs.ports import (
    ChannelMemo,
    Lookup,
    MemoWrite,
    Opening,
    Relays,
    SessionStore,
    StoreUnavailable,
)
from dialogs.sealing import Sealer
from dialogs.steps import identify, new_password, prove
from dialogs.turn import Services, Session, Turn
from dialogs.turn_store import PrefetchedLanguages, delivery

log = logging.getLogger(__name__)

COMMANDS = {
    "menu": "menu", "*": "menu", "cancel": "cancel", "annuler": "cancel", "stop": "cancel",
    "help": "help", "aide": "help", "?": "help", "language": "language", "langue": "language",
    "helpdesk": "helpdesk", "agent": "helpdesk",
}
MAX_CHAIN = 12  # automatic steps chained in one turn; a bound against a flow loop


def all_flows() -> Flows:
    flows = Flows()
    for module in (menu, identify, prove, new_password, forgot_password, unlock_account,
                   change_password, enrol):
        flows.add(*module.STATES)
    flows.check()
    return flows


class Engine:
    def __init__(self, services: Services, sessions: SessionStore,
                 flows: Flows | None = None, relays: Relays | None = None,
                 alerts: AlertControl | None = None) -> None:
        self.services = services
        self.sessions = sessions
        self.relays = relays
        self.alerts = alerts  # opt-outs and replies to alerts (issue 15)
        self.flows = flows or all_flows()
        self.sealer = Sealer(services.settings.secret_key)

    def handle(self, key: ConversationKey, event: Event,
               memo: ChannelMemo | None = None) -> list[Action]:
        """One turn. ``memo``: the channel reads ``event`` with what it remembered of the
        last turn, and says what to remember of this one (SMS: what the last prompt asked)."""
        try:
            return self._turn(key, event, memo)
        except (StoreUnavailable, DirectoryUnavailable) as exc:
            log.warning("turn failed: %s", type(exc).__name__,
                        extra={"channel": key.channel, "error": str(exc)})
            return self._unavailable()
        except DirectoryError as exc:
            # A refusal no step expected (e.g. an account disabled meanwhile): a person must
            # look at it; say so plainly rather than fail.
            log.warning("turn refused by the directory: %s", type(exc).__name__,
                        extra={"channel": key.channel})
            return self._cannot_help()

    def _turn(self, key: ConversationKey, event: Event,
              memo: ChannelMemo | None) -> list[Action]:
        opening = self.sessions.open(str(key), delivery(key, event))
        if opening.duplicate:
            return []
        try:
            if memo is not None:
                event = memo.event(opening.memo)
            actions, turn = self._handle_locked(key, event, opening)
            remembered = memo.remember(actions) if memo is not None else None
        except BaseException:
            # The turn's own exception matters more than a failed release (the lock expires
            # by itself): release quietly, write nothing, and re-raise the original.
            with suppress(StoreUnavailable):
                self.sessions.close(opening)
            raise
        self._close(opening, turn, remembered)
        return actions

    def _handle_locked(self, key: ConversationKey, event: Event,
                       opening: Opening) -> tuple[list[Action], Turn | None]:
        if self._relayed(key, event, opening):
            return [], None
        now = self.services.clock.now()
        session, expired = self._session(opening.record, now)
        turn = Turn(self._services(key, opening), key, event, session, now, self.sealer)
        if session.started == 0.0 and not expired:
            # The person's own choice first, then what the channel knows (issue 12).
            session.language = turn.remembered_language() or self._language(event)
        language = session.language
        self._run(turn, expired)
        return [UseLanguage(language), *turn.actions], turn

    def _services(self, key: ConversationKey, opening: Opening) -> Services:
        """The ports, with the language ``open`` already read standing in for its store."""
        languages = self.services.languages
        if not opening.prefetched or languages is None:
            return self.services
        sender = sender_key(self.sealer, key.channel, key.sender)
        return replace(self.services,
                       languages=PrefetchedLanguages(languages, sender, opening.language))

    def _relayed(self, key: ConversationKey, event: Event, opening: Opening) -> bool:
        """An agent holds this conversation: the person's words go to the agent, not a flow."""
        if self.relays is None or event.kind in ("start", "timeout"):
            return False
        ticket = opening.relay if opening.prefetched else self.relays.active(str(key))
        if ticket is None:
            return False
        self.relays.record(ticket, "person", event.text)
        return True

    def _session(self, loaded: dict[str, Any] | Lookup, now: float) -> tuple[Session, bool]:
        if isinstance(loaded, Lookup):
            return Session(started=0.0), loaded is Lookup.EXPIRED
        session = Session.from_record(loaded)
        idle = session.idle_applies() and \
            now - session.last_seen > self.services.settings.idle_seconds
        over = bool(session.deadline) and now > session.deadline
        if idle or over:
            return Session(language=session.language), True
        return session, False

    def _language(self, event: Event) -> str:
        settings = self.services.settings
        hint = (event.language_hint or "")[:2].lower()
        return hint if hint in settings.languages else settings.default_language

    def _run(self, turn: Turn, expired: bool) -> None:
        event = turn.event
        fresh = expired or turn.session.started == 0.0
        if self.alerts is not None and lock_alert.answered(turn, self.alerts, fresh=fresh):
            return
        if expired or turn.session.started == 0.0 or event.kind == "start":
            fresh_words = turn.session.started == 0.0 and not expired and event.kind != "start"
            turn.session.started = turn.now
            turn.session.data = {}
            if fresh_words and self._first_words(turn):
                return
            turn.say("session.expired" if expired else "menu.welcome")
            self._enter(turn, "menu:choose")
            return
        if event.kind == "timeout":
            self._enter(turn, turn.session.state)  # nothing heard: ask again
            return
        command = COMMANDS.get(turn.text.casefold()) if event.kind != "digits" else None
        if command is not None:
            turn.forget_secret_message()  # in a secret prompt, even a word is deleted
            self._command(turn, command)
            return
        self._receive(turn)

    def _first_words(self, turn: Turn) -> bool:
        """A new conversation's first message, acted on once (issue 12: say it once).

        A menu word or number (``forgot``, ``5``: people reply to the menu they last saw)
        starts that entry with no greeting in front; ``cancel`` when nothing runs says so
        and stops; another command works as it would at the menu. Anything else (``hello``)
        gets the greeting and the menu, once. True when the message was handled.
        """
        if turn.event.kind not in ("text", "choice", "digits"):
            return False
        entry = menu.menu_entry(turn.text)
        if entry is not None:
            turn.session.state = "menu:choose"
            self._go(turn, "menu:choose", menu.enter_entry(turn, entry))
            return True
        command = COMMANDS.get(turn.text.casefold()) if turn.event.kind != "digits" else None
        if command is None or command == "menu":
            return False
        if command == "cancel":
            turn.say("common.nothing_to_cancel")
            turn.end()
            return True
        turn.session.state = "menu:choose"
        if command == "help":
            turn.say("menu.welcome")
        self._command(turn, command)
        return True

    def _command(self, turn: Turn, command: str) -> None:
        if command == "cancel":
            nothing_running = turn.session.state == "menu:choose"
            turn.say("common.nothing_to_cancel" if nothing_running else "common.cancelled")
            turn.end()
        elif command == "menu":
            turn.session.data = {}
            self._enter(turn, "menu:choose")
        elif command == "helpdesk":
            # From any step, keeping what was established (e.g. a passed identity proof).
            self._enter(turn, "helpdesk:escalate")
        elif command == "help":
            state = turn.session.state
            turn.say(f"help.{state.split(':', 1)[0]}", **turn.contact_params())
            self._enter(turn, state)
        else:
            turn.data["return_to"] = turn.session.state
            self._enter(turn, "language:choose")

    def _receive(self, turn: Turn) -> None:
        state = self.flows.get(turn.session.state)
        if turn.event.kind == "choice" and not state.takes_choice:
            # A button from an older message: it answers nothing here, so ask again.
            turn.say("common.stale_choice")
            self._enter(turn, state.name)
            return
        target = state.receive(turn)
        self._go(turn, state.name, target)

    def _go(self, turn: Turn, origin: str, target: str) -> None:
        for _ in range(MAX_CHAIN):
            allowed = self.flows.get(origin).goes_to
            if target not in allowed and ANY not in allowed and target != origin:
                raise RuntimeError(f"undeclared transition {origin} -> {target}")
            if target == END:
                turn.end()
                return
            if target == SAME:
                target = origin
            turn.session.state = target
            following = self.flows.get(target).prompt(turn)
            if following is None:
                return
            origin, target = target, following
        raise RuntimeError(f"too many automatic steps from {origin}")

    def _enter(self, turn: Turn, state: str) -> None:
        turn.session.state = state
        following = self.flows.get(state).prompt(turn)
        if following is not None:
            self._go(turn, state, following)

    def _close(self, opening: Opening, turn: Turn | None, memo: MemoWrite | None) -> None:
        if turn is None:
            self.sessions.close(opening, memo=memo)
            return
        if turn.ended:
            self.sessions.close(opening, delete=True, memo=memo)
            return
        turn.session.last_seen = turn.now
        settings = self.services.settings
        if turn.session.deadline:
            ttl = max(1, int(turn.session.deadline - turn.now) + 1)
        else:
            ttl = settings.time_allotment_seconds
        self.sessions.close(opening, record=turn.session.to_record(), ttl_seconds=ttl,
                            memo=memo)

    def _cannot_help(self) -> list[Action]:
        contact = self.services.settings.contact.params()
        return [Say(Message.of("selfservice.disabled", **contact)), End()]

    def _unavailable(self) -> list[Action]:
        contact = self.services.settings.contact.params()
        return [Say(Message.of("service.unavailable", **contact)), End()]
