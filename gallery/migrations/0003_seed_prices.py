from django.db import migrations


def seed(apps, schema_editor):
    # The figures as they stood when this ran; later admin edits live in the table.
    from gallery.catalog.pricing import price_figures

    Price = apps.get_model("gallery", "Price")
    for figure in price_figures():
        Price.objects.update_or_create(
            provider=figure.provider,
            operation=figure.operation,
            variant=figure.variant,
            defaults={"usd": figure.usd, "status": figure.status, "source": figure.source},
        )


class Migration(migrations.Migration):
    dependencies = [("gallery", "0002_price")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
