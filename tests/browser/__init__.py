"""Browser tests: Debian's Chromium, driven by Playwright, against a live Parlor and the
GitHub emulator (`pytest -m browser`)."""
