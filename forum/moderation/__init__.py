"""Moderation: IP audit, acting on posts, topics and accounts, screened IPs, the audit log."""
