"""The throttle's counters."""
