"""Remote service desks: one interface, one module per desk.

alertbridge keeps every ticket in its built-in desk (its own database) and mirrors it to the customer's
remote desk through the outbox, so an ingest never waits for a desk and a desk that is down loses
nothing. A backend only has to do five things, each idempotent:

- `open`: find the ticket by alertbridge's key (it may exist after a crash or timeout) or create it;
- `note`: add an internal note, or a customer-visible reply;
- `set_state`: new | in_progress | resolved | closed, mapped to the desk's own states;
- `set_queue`: move it (a fault that became an incident).
"""

from connectors.desks.base import (
    Desk,
    DeskError,
    DeskRejected,
    DeskUnavailable,
    NewTicket,
    RemoteTicket,
)

__all__ = ["Desk", "DeskError", "DeskRejected", "DeskUnavailable", "NewTicket", "RemoteTicket"]
