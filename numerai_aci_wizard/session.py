"""The one session both front ends use: answers, secrets, the sign-in and the engines.

The headless CLI makes one per command; the wizard keeps one for its lifetime and
hands it to every screen. It signs in once (a lock keeps two screens from starting
two device-code prompts), remembers what discovery found (subscriptions, regions and
their limits, the Numerai account and models) and makes the pipelines that do the work.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .events import Emit, WizardError, ignore
from .settings import Secrets, Settings

# The wizard makes its session before its first frame: what only the work needs (the
# engines, the pipeline and what it imports) is imported when the work first runs.
if TYPE_CHECKING:
    from .engines import (
        Account,
        AzureEngine,
        AzureSession,
        DeviceCodePrompt,
        Engines,
        Estimate,
        Location,
        Pricing,
        Subscription,
    )
    from .history import History
    from .pipeline import Pipeline


def real_engines() -> Engines:
    """The engines that talk to Azure, Docker and Numerai (imported only now: they are heavy)."""
    from .engines import Engines
    from .services import azure_auth, azure_provision, docker_image, numerai_api, pricing

    return Engines(
        sign_in=azure_auth.sign_in,
        azure=azure_provision.Azure,
        image=docker_image,
        numerai=numerai_api.Numerai,
        pricing=pricing,
    )


@dataclass
class Discovered:
    """What the engines told us, kept so that Back and Next do not ask again."""

    subscriptions: list[Subscription] | None = None
    locations: list[Location] | None = None
    locations_for: str = ""
    limits: tuple[float, float] | None = None
    limits_for: str = ""
    account: Account | None = None
    models: dict[str, str] = field(default_factory=dict)


class Session:
    def __init__(
        self,
        settings: Settings,
        *,
        config_path: Path,
        secrets: Secrets | None = None,
        engines: Engines | None = None,
        on_device_code: DeviceCodePrompt | None = None,
        on_sign_in_ended: Callable[[], None] | None = None,
        allow_device_code: bool = True,
        polling_interval: float = 1.0,
    ) -> None:
        self.settings = settings
        self.config_path = config_path
        self.secrets = secrets or Secrets()
        self._engines = engines
        self.on_device_code = on_device_code
        #: runs after a sign-in attempt either way (the wizard closes its device-code dialog)
        self.on_sign_in_ended = on_sign_in_ended
        self.allow_device_code = allow_device_code
        self.polling_interval = polling_interval
        self.found = Discovered()
        self._signed_in: AzureSession | None = None
        self._sign_in_lock = threading.Lock()
        #: the cancel event of the sign-in under way (a device-code dialog's Cancel sets it)
        self.sign_in_cancel: threading.Event | None = None
        #: the user said the account is a personal Microsoft account (the wizard asks)
        self.personal_account = False

    @property
    def engines(self) -> Engines:
        """The stand-ins given, else the real engines (made on first use)."""
        if self._engines is None:
            self._engines = real_engines()
        return self._engines

    # --- Azure ---------------------------------------------------------------------

    @property
    def signed_in(self) -> AzureSession | None:
        return self._signed_in

    def sign_in(
        self, cancel: threading.Event | None = None, *, prompt: bool = True
    ) -> AzureSession:
        """Sign in once for the whole session; later calls return the same identity.

        ``prompt=False``: only a sign-in that asks nothing (``az login``, a saved record).
        """
        with self._sign_in_lock:
            if self._signed_in is None:
                cancel = cancel or threading.Event()  # a device-code dialog's Cancel sets it
                self.sign_in_cancel = cancel
                try:
                    self._signed_in = self.engines.sign_in(
                        on_device_code=self.on_device_code,
                        allow_device_code=self.allow_device_code and prompt,
                        cancel=cancel,
                        tenant_id=self.settings.azure.tenant_id,
                        cloud=self.settings.azure.cloud,
                        personal_account=self.personal_account,
                    )
                finally:
                    self.sign_in_cancel = None
                    if self.on_sign_in_ended is not None:
                        self.on_sign_in_ended()
            return self._signed_in

    def azure(
        self,
        settings: Settings | None = None,
        *,
        emit: Emit = ignore,
        cancel: threading.Event | None = None,
    ) -> AzureEngine:
        """An Azure engine for ``settings`` (default: a copy of the answers); signs in if needed."""
        return self.engines.azure(
            settings or self.settings.copy(),
            self.sign_in(cancel).credential,
            emit=emit,
            cancel=cancel,
            polling_interval=self.polling_interval,
        )

    def subscriptions(self, cancel: threading.Event | None = None) -> list[Subscription]:
        if self.found.subscriptions is None:
            self.found.subscriptions = self.azure(cancel=cancel).list_subscriptions()
        return self.found.subscriptions

    def locations(
        self, subscription_id: str, cancel: threading.Event | None = None
    ) -> list[Location]:
        """Regions of ``subscription_id`` that offer Container Instances."""
        if self.found.locations is None or self.found.locations_for != subscription_id:
            settings = self.settings.copy()
            settings.azure.subscription_id = subscription_id
            self.found.locations = self.azure(settings, cancel=cancel).list_locations()
            self.found.locations_for = subscription_id
        return self.found.locations

    def region_limits(
        self, location: str, cancel: threading.Event | None = None
    ) -> tuple[float, float]:
        """(memory GB, vCPU) that one Linux container group may have in ``location``."""
        if self.found.limits is None or self.found.limits_for != location:
            self.found.limits = self.azure(cancel=cancel).region_limits(location)
            self.found.limits_for = location
        return self.found.limits

    def forget_azure_lists(self) -> None:
        """The subscription changed: its regions and limits must be read again."""
        self.found.locations = None
        self.found.limits = None

    # --- Numerai -------------------------------------------------------------------

    def check_numerai(self, public_id: str, secret_key: str) -> tuple[Account, dict[str, str]]:
        """Whether the keys work, and the account's models (name -> id)."""
        numerai = self.engines.numerai(public_id, secret_key)
        account = numerai.check_keys()
        models = numerai.models()
        self.found.account, self.found.models = account, models
        return account, models

    # --- cost ----------------------------------------------------------------------

    def estimate(
        self,
        location: str,
        cpu: float,
        memory_gb: float,
        *,
        run_minutes: float,
        lookup: bool = True,
    ) -> Estimate:
        return self._pricing().estimate(
            location, cpu, memory_gb, run_minutes=run_minutes, lookup=lookup
        )

    def price_regions(self) -> list[str]:
        return self._pricing().regions()

    def _pricing(self) -> Pricing:
        """The Welcome step's estimate needs only the price table, not every engine."""
        if self._engines is None:
            from .services import pricing

            return pricing
        return self._engines.pricing

    # --- history -------------------------------------------------------------------

    def history(self, limit: int = 5, cancel: threading.Event | None = None) -> History:
        """The last ``limit`` webhook calls and what came of them (the Done and Welcome steps)."""
        return self.pipeline(cancel=cancel).history(limit)

    def quiet_history(self, limit: int = 5) -> History | None:
        """The history when it costs the user nothing: signed in already, or ``az login``
        works. None when only a device code would sign in (the Welcome step never asks)."""
        try:
            self.sign_in(prompt=False)
        except WizardError:
            return None
        return self.history(limit)

    # --- work ----------------------------------------------------------------------

    def pipeline(
        self,
        *,
        emit: Emit = ignore,
        cancel: threading.Event | None = None,
        settings: Settings | None = None,
        secrets: Secrets | None = None,
    ) -> Pipeline:
        """A pipeline on ``settings`` (default: these answers) sharing this session's sign-in."""
        from .logs import logged
        from .pipeline import Pipeline

        return Pipeline(
            settings or self.settings,
            engines=self.engines,
            sign_in=self.sign_in,
            config_path=self.config_path,
            secrets=secrets or self.secrets,
            emit=logged(emit),
            cancel=cancel,
            polling_interval=self.polling_interval,
        )
