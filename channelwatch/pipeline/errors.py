"""How a pipeline step fails: one line naming the account or the day."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


class PipelineError(Exception):
    """A step failed; the message is one line naming the account or the day."""


class IngestionFailed(PipelineError):
    """An account's pass failed (the platform, the credentials, the network).

    Attributes:
        cause: the type of the exception that failed the pass (a connectors.errors or
            kernel.errors class), for callers that act on the kind of failure.
        lasting: True when retrying within the hour cannot mend it (credentials refused
            or missing, a spent daily quota).
    """

    def __init__(self, message: str, cause: type[BaseException] | None = None) -> None:
        super().__init__(message)
        self.cause = cause

    @property
    def lasting(self) -> bool:
        from connectors.errors import CredentialsInvalid, QuotaExhausted  # noqa: PLC0415
        from kernel.errors import CredentialsError  # noqa: PLC0415

        return self.cause is not None and issubclass(
            self.cause, (CredentialsInvalid, QuotaExhausted, CredentialsError)
        )


class BatchQuarantined(PipelineError):
    """A batch failed the data-quality gate and was quarantined, not loaded."""

    def __init__(self, message: str, batch_id: int) -> None:
        super().__init__(message)
        self.batch_id = batch_id
