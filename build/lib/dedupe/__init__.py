"""Identity of alerts and incidents, and the incident state machine (pure)."""

from dedupe.keys import correlation_key, order_of
from dedupe.lifecycle import Action, IncidentView, Notice, Transition, transition

__all__ = ["Action", "IncidentView", "Notice", "Transition", "correlation_key", "order_of", "transition"]
