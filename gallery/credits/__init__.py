"""Credit accounts, the ledger (the only code that moves credits), limits,
prices and quotes, spend."""
