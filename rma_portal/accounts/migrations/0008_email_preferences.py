# The status e-mail checkbox becomes one choice per kind of e-mail
# (rma_portal/notifications/preferences.py).

from django.db import migrations, models

# The kinds the checkbox switched off: the e-mails it did not call essential (submitted and
# received returns, filed complaints, status updates, replies from support). Decisions and
# resolutions were always sent, so they stay "immediately" for everybody.
COVERED = ("return_progress", "complaint_progress", "support_replies")
KINDS = (
    "return_progress",
    "return_decisions",
    "return_resolutions",
    "complaint_progress",
    "complaint_decisions",
    "support_replies",
)


def preferences_for(wants_status_emails: bool) -> dict:
    """The choices that keep sending what the checkbox sent."""
    return {
        kind: "never" if kind in COVERED and not wants_status_emails else "immediately"
        for kind in KINDS
    }


def forwards(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    for wants in (True, False):
        User.objects.filter(wants_status_emails=wants).update(
            email_preferences=preferences_for(wants)
        )


def backwards(apps, schema_editor):
    """Off where any kind the checkbox covered is off."""
    User = apps.get_model("accounts", "User")
    for user in User.objects.only("pk", "email_preferences").iterator():
        chosen = user.email_preferences or {}
        wants = all(chosen.get(kind, "immediately") != "never" for kind in COVERED)
        if not wants:
            User.objects.filter(pk=user.pk).update(wants_status_emails=False)


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0007_language_choices_from_settings'),
    ]

    operations = [
        migrations.AddField(
            model_name='user',
            name='email_preferences',
            field=models.JSONField(blank=True, default=dict, help_text='How each kind of e-mail is sent: immediately, in a daily digest or never.', verbose_name='e-mail preferences'),
        ),
        migrations.RunPython(forwards, backwards),
        migrations.RemoveField(
            model_name='user',
            name='wants_status_emails',
        ),
    ]
