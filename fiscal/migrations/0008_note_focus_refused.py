from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("fiscal", "0007_evento_kind")]

    operations = [
        migrations.AddField(
            model_name="note",
            name="focus_refused",
            field=models.BooleanField(default=False),
        ),
    ]
