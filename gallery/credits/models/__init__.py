"""Credit accounts, ledger entries and the admin's price table."""
