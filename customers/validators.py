"""Validation of tax identifiers (Polish NIP and EU VAT numbers)."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

NIP_WEIGHTS = (6, 5, 7, 2, 3, 4, 5, 6, 7)


def normalize_vat_number(value: str) -> str:
    return re.sub(r"[\s\-.]", "", value or "").upper()


def nip_checksum_ok(digits: str) -> bool:
    if not re.fullmatch(r"\d{10}", digits):
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], NIP_WEIGHTS, strict=True))
    return total % 11 == int(digits[9])


def validate_vat_number(value: str) -> None:
    """A Polish NIP (10 digits, optional "PL") with a valid checksum, or an EU VAT number."""
    number = normalize_vat_number(value)
    if re.fullmatch(r"(PL)?\d{10}", number):
        if not nip_checksum_ok(number.removeprefix("PL")):
            raise ValidationError(
                _("%(value)s is not a valid NIP: the check digit does not match."),
                params={"value": value},
                code="invalid_nip",
            )
        return
    if not re.fullmatch(r"[A-Z]{2}[0-9A-Z]{2,13}", number):
        raise ValidationError(
            _("Enter a NIP (10 digits) or an EU VAT number starting with a country code."),
            code="invalid_vat",
        )
