"""The Discourse-compatible JSON API."""
