"""Form pieces shared by every portal and back-office page: service errors on forms, ISO
date inputs, and multi-file upload fields."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from rma_portal.errors import ApplicationError

MAX_FILES_PER_FIELD = 10
UPLOAD_ACCEPT = "image/jpeg,image/png,image/webp,application/pdf"


def add_application_error(form: forms.Form, error: ApplicationError) -> None:
    """Show a service's error on the form: field errors where the form has the field."""
    placed = False
    for name, messages in error.fields.items():
        field = name if name in form.fields else None
        form.add_error(field, list(messages))
        placed = True
    if not placed:
        form.add_error(None, error.message)


class IsoDateInput(forms.DateInput):
    """The browser's date picker sends and expects ISO dates whatever the page language."""

    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; each is checked by content later, by the upload service."""

    def __init__(self, *args, max_files: int = MAX_FILES_PER_FIELD, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": UPLOAD_ACCEPT}))
        kwargs.setdefault("required", False)
        self.max_files = max_files
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = [f for f in (data if isinstance(data, list | tuple) else [data]) if f]
        if not files:
            if self.required:
                raise ValidationError(self.error_messages["required"], code="required")
            return []
        if len(files) > self.max_files:
            raise ValidationError(
                _("Choose at most %(count)d files at a time.") % {"count": self.max_files},
                code="too_many_files",
            )
        clean_one = super().clean
        return [clean_one(f, initial) for f in files]
