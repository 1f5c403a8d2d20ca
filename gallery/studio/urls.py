"""The image page, its edits, and signed public image URLs; gallery/urls.py includes them."""

from django.urls import path

from gallery.studio.views import images, providers, reconcile

urlpatterns = [
    path("t/<slug:slug>/images/<int:pk>/", images.image, name="image"),
    path("t/<slug:slug>/images/<int:pk>/download/", images.image_download, name="image-download"),
    path("t/<slug:slug>/images/<int:pk>/edit/", images.edit_image, name="edit-image"),
    path("t/<slug:slug>/images/<int:pk>/price/", images.image_price, name="image-price"),
    path("t/<slug:slug>/images/<int:pk>/children/", images.image_children, name="image-children"),
    path("staff/reconcile/", reconcile.reconciliation, name="reconcile"),
    path("t/<slug:slug>/providers/", providers.providers, name="providers"),
    path("t/<slug:slug>/providers/order/", providers.provider_order, name="provider-order"),
    # The upstream fetches retexture / remove-background sources here, signed-out.
    path("p/<str:token>/<path:name>", images.public_image, name="public-image"),
]
