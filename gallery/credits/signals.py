"""What the credits domain tells the rest of the site, without importing it."""

from __future__ import annotations

from django.dispatch import Signal

# Sent inside the transaction that moved the credits (ledger._apply), only when a
# balance really changed (amount ≠ 0); kwargs `account` (the CreditAccount) and
# `balance` (its new balance). A receiver that writes joins that transaction, so
# it commits or rolls back with the move.
balance_changed = Signal()
