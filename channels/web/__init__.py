"""The web layer: the secure password page, and the operational metrics of the web process.

Flask blueprints only render and protect (CSRF, no caching, a strict CSP); what a page means
is decided in ``dialogs.password_page``. The app factory that composes every blueprint is
``bot.web.create_app``.
"""
