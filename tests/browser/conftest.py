"""The browser tests use the integration suite's broker."""

from tests.integration.conftest import fresh_broker

__all__ = ["fresh_broker"]
