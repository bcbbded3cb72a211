"""Fixtures for the checks tests."""

from __future__ import annotations

import pytest

from kernel.config import Settings, settings_from_dict


@pytest.fixture
def council_settings() -> Settings:
    return settings_from_dict(
        {
            "contact_details": {
                "phones": ["01344 352000"],
                "emails": ["customer.services@bracknell-forest.gov.uk"],
                "domains": ["bracknell-forest.gov.uk"],
                "addresses": ["Time Square, Market Street, Bracknell RG12 1JD"],
            },
            "partners": [
                {
                    "name": "Thames Valley Police",
                    "handles": ["@ThamesVP"],
                    "domains": ["thamesvalley.police.uk"],
                },
                {"name": "Frimley Health NHS Foundation Trust", "handles": ["@FrimleyHealth"]},
            ],
            "pre_election_periods": [
                {"name": "May 2025 local elections", "start": "2025-03-24", "end": "2025-05-01"}
            ],
            "checks": {
                "brand": {
                    "required_name": "Bracknell Forest Council",
                    "wrong_names": ["Bracknell Council", "BFC"],
                    "banned_terms": ["service users"],
                }
            },
        }
    )
