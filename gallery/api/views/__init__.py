"""The team API's endpoints and the token pages."""
