"""The team API: personal tokens, API tasks, callbacks to clients, the
django-ninja endpoints and their OpenAPI document."""
