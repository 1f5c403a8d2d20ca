"""The team API, its document and the token settings page; gallery/urls.py includes them."""

from django.urls import include, path, re_path

from gallery.api.views import api, tokens

urlpatterns = [
    # The endpoints, named api-generations, api-task, api-balance, api-file, api-openapi.
    path("api/v1/", include(api.urlpatterns())),
    # Anything else under api/v1/ gets a JSON 404 in the API's envelope.
    re_path(r"^api/v1/(?P<rest>.*)$", api.not_found, name="api-not-found"),
    path("api/docs/", api.api_docs, name="api-docs"),
    path("t/<slug:slug>/tokens/", tokens.tokens, name="tokens"),
    path("t/<slug:slug>/tokens/new/", tokens.create_token, name="create-token"),
    path("t/<slug:slug>/tokens/<int:pk>/revoke/", tokens.revoke_token, name="revoke-token"),
    path("t/<slug:slug>/tokens/revoke-mine/", tokens.revoke_my_tokens, name="revoke-my-tokens"),
]
