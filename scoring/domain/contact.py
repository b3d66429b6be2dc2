"""How a customer reaches the company: the channels letters and notices name.

Customer texts name these, never the API's paths: a customer contests, adds a statement or
asks for a person through the company's web page, e-mail, post or phone.
"""

from __future__ import annotations

from dataclasses import dataclass

from scoring.domain.errors import InvalidInputError

# What a customer-facing address must never look like: a path of this engine's HTTP API.
API_PATH_MARK = "/v1/"


class ContactChannelError(InvalidInputError, ValueError):
    """A configured contact channel cannot be shown to customers."""

    code = "contact_channel_invalid"


@dataclass(frozen=True)
class ContactChannels:
    """The company's customer-service channels, as configured (``INSTALLMENT_CONTACT_*``)."""

    web: str
    email: str
    postal_address: str
    phone: str

    def __post_init__(self) -> None:
        checks = {
            "INSTALLMENT_CONTACT_WEB": self.web.startswith(("https://", "http://")),
            "INSTALLMENT_CONTACT_EMAIL": "@" in self.email and " " not in self.email.strip(),
            "INSTALLMENT_CONTACT_POSTAL_ADDRESS": bool(self.postal_address.strip()),
            "INSTALLMENT_CONTACT_PHONE": any(c.isdigit() for c in self.phone),
        }
        for name, ok in checks.items():
            if not ok:
                raise ContactChannelError(
                    f"{name} does not hold a usable {_WHAT[name]}; customers' letters name it"
                )
        if API_PATH_MARK in self.web:
            raise ContactChannelError(
                "INSTALLMENT_CONTACT_WEB names an API path; customers need the company's web page"
            )


_WHAT = {
    "INSTALLMENT_CONTACT_WEB": "web address (https://...)",
    "INSTALLMENT_CONTACT_EMAIL": "e-mail address",
    "INSTALLMENT_CONTACT_POSTAL_ADDRESS": "postal address",
    "INSTALLMENT_CONTACT_PHONE": "phone number",
}

# The demo's channels; a deployment sets its own (docs/explanations.md, "Letters").
DEMO_CHANNELS = ContactChannels(
    web="https://www.example.com/jarelmaks",
    email="jarelmaks@example.com",
    postal_address="Klienditeenindus, Näidise tn 1, 10111 Tallinn",
    phone="+372 600 0000",
)
