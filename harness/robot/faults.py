"""Fault-injection keywords: impair a device's link (loss, delay, duplication, cut)."""

from __future__ import annotations

from robot.api import logger
from robot.api.deco import keyword

from ..errors import InputError
from ..lab.linkem import ImpairableLink


class FaultKeywords:
    def _link(self, device: str | None) -> ImpairableLink:
        dev = self._device(device)
        if not isinstance(dev.network, ImpairableLink):
            raise InputError(f"{dev.name} was not started with impairable=True (Start Device In Lab)")
        return dev.network

    @keyword
    def impair_device_link(self, device: str | None = None, loss=0, delay_ms=0, jitter_ms=0, duplicate=0,
                           seed=1) -> dict:
        """Packet loss (probability), delay and jitter (ms) and duplication (probability) on every
        frame to and from the device, both ways, until Restore Device Link."""
        params = self._link(device).set(loss=float(loss), delay_ms=float(delay_ms), jitter_ms=float(jitter_ms),
                                        duplicate=float(duplicate), seed=int(seed))
        logger.info(f"link of {self._device(device).name} impaired: {params}")
        return params

    @keyword
    def cut_device_link(self, device: str | None = None) -> None:
        """Every frame is dropped (the NIC's link stays up, unlike Set Device Link down)."""
        self._link(device).set(down=True)

    @keyword
    def restore_device_link(self, device: str | None = None) -> None:
        self._link(device).set()
