"""Every text that tells a person whom to contact reads as a sentence, whatever the operator
configured: before issue 12 an unset phone and e-mail printed "call the help desk: - (-)"."""

from __future__ import annotations

import re

import pytest

from channels.catalogue import Catalogue
from dialogs.engine_settings import Contact
from dialogs.messages import Message, placeholders

RAW = {"phone", "email", "authority"}
# Rendered by the voice channel only when a help desk number is configured, with the number
# spelled out digit by digit.
OWN_NUMBER = {"voice.transfer_capped"}
CONTACTS = {
    "nothing": Contact(),
    "phone only": Contact(phone="+1 555 0100"),
    "e-mail only": Contact(email="helpdesk@example.test"),
    "everything": Contact(phone="+1 555 0100", email="helpdesk@example.test",
                          registration_authority="the IT desk, building A"),
}


@pytest.fixture(scope="module")
def shipped() -> Catalogue:
    return Catalogue.load()


def contact_ids(catalogue: Catalogue) -> list[tuple[str, str]]:
    return [(lang, mid) for lang in catalogue.languages for mid in sorted(catalogue.ids(lang))
            if placeholders(catalogue.text(mid, lang) or "")
            & {"contact_msg", "phone_msg", "authority_msg", *RAW}]


def test_only_the_contact_phrases_use_the_raw_contact_values(shipped: Catalogue) -> None:
    raw = [(lang, mid) for lang, mid in contact_ids(shipped)
           if placeholders(shipped.text(mid, lang) or "") & RAW
           and not mid.startswith("contact.") and mid not in OWN_NUMBER]
    assert raw == [], "use {contact_msg}, {phone_msg} or {authority_msg}: " + repr(raw)


@pytest.mark.parametrize("configured", sorted(CONTACTS))
def test_every_contact_text_reads_well_whatever_is_configured(shipped: Catalogue,
                                                              configured: str) -> None:
    contact = CONTACTS[configured]
    shown = [value for value in (contact.phone, contact.email) if value]
    ids = [(lang, mid) for lang, mid in contact_ids(shipped)
           if mid not in OWN_NUMBER and not mid.startswith("contact.")]
    assert len(ids) > 40  # the help texts, the refusals, the notices, the web pages...
    for lang, mid in ids:
        text = shipped.render(Message.of(mid, **contact.params()), lang)
        assert not re.search(r"\{(contact_msg|phone_msg|authority_msg|phone|email)\}", text)
        assert not re.search(r"(^|[\s(:])-([\s).,]|$)", text), (lang, mid, text)
        assert "()" not in text and " ." not in text and ": ." not in text, (lang, mid, text)
        assert not shown or any(value in text for value in shown), (lang, mid, text)


def test_nothing_configured_gives_a_generic_phrase_in_the_person_s_language(
        shipped: Catalogue) -> None:
    params = Contact().params()
    english = shipped.render(Message.of("service.unavailable", **params), "en")
    french = shipped.render(Message.of("service.unavailable", **params), "fr")
    assert english.endswith("contact the help desk: your usual IT support contact.")
    assert "votre interlocuteur informatique habituel" in french


def test_a_configured_contact_reads_as_before(shipped: Catalogue) -> None:
    params = CONTACTS["everything"].params()
    text = shipped.render(Message.of("proof.failed", **params), "en")
    assert "+1 555 0100 (helpdesk@example.test), or the IT desk, building A." in text
