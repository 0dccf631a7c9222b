"""Signals one feature sends and others react to (blinker, as Flask uses)."""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: sender: the Flask app; kwargs: post (a new topic's first post, or a reply)
post_created = _signals.signal("parlor.post-created")
#: sender: the Flask app; kwargs: post (as edited)
post_edited = _signals.signal("parlor.post-edited")
#: sender: the Flask app; kwargs: user, event (the SignInEvent), created (bool)
user_signed_in = _signals.signal("parlor.user-signed-in")
