"""Source connectors: turn a monitoring system's payload into normalised `Alert` values."""

from connectors.alert import Alert, AlertStatus, PayloadError

__all__ = ["Alert", "AlertStatus", "PayloadError"]
