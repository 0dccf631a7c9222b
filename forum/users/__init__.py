"""Accounts: members, staff roles and the shared Anonymous user."""
