"""Docs that are generated from the code stay in step with it."""

from django.core.management import call_command


def test_state_machine_diagrams_are_current():
    # Fails with "run `manage.py state_diagrams`" when a transition changed without the docs.
    call_command("state_diagrams", "--check")
