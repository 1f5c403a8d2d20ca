"""The credit pages."""
