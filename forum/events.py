"""Signals one feature sends and others react to (blinker, as Flask uses)."""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: sender: the Flask app; kwargs: post, topic, created_topic (bool)
post_created = _signals.signal("parlor.post-created")
#: sender: the Flask app; kwargs: post, edit
post_edited = _signals.signal("parlor.post-edited")
#: sender: the Flask app; kwargs: user, event (the SignInEvent), created (bool)
user_signed_in = _signals.signal("parlor.user-signed-in")
