"""Personal API tokens and API tasks."""
