from django.db import migrations


def create(apps, schema_editor):
    from yingshang.appeals.defaults import ensure_default_categories

    ensure_default_categories(apps.get_model("appeals", "Category"))


class Migration(migrations.Migration):
    dependencies = [("appeals", "0001_initial")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
