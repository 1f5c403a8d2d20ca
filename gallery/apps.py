from django.apps import AppConfig


class GalleryConfig(AppConfig):
    name = "gallery"
    verbose_name = "Gallery"

    def ready(self) -> None:
        # The change feed's receivers: the ledger's balance moves, removed members
        # and sign-outs reach it through signals (credits and teams sit below studio).
        from gallery.studio.live import receivers  # noqa: F401
