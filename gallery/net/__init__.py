"""The network edge: the SSRF guard, throttling, file responses, input
readers for numbers and uploads, redaction of secrets in logged URLs."""
