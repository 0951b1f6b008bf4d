"""The Twilio channels: SMS and phone (IVR) over signed webhooks, and outbound SMS.

Thin by design (STYLE.md habit 5): verify the signature → parse the form into an
:class:`~dialogs.events.Event` → ``engine.handle`` → render the actions as TwiML built with
twilio's own ``MessagingResponse`` / ``VoiceResponse``. No business rule lives here.

Modules::

    signature.py   X-Twilio-Signature against the configured public URL (fail closed)
    inputs.py      the person's reply (text, keys, speech) → Event, given the last prompt
    segments.py    GSM-7 / UCS-2 SMS segment counting
    sms_render.py  actions → SMS texts (numbered menus, one segment where possible)
    sms.py         POST /twilio/sms
    voice_render.py actions → VoiceResponse (Say, Gather, Dial, Hangup)
    voice.py       POST /twilio/voice, POST /twilio/voice/step
    calls.py       small per-call / per-sender records in Redis (sealed, with a TTL)
    media.py       short-lived single-use signed captcha media URLs, GET /twilio/media/<token>
    sms_sender.py  outbound SMS through twilio's REST client
"""
