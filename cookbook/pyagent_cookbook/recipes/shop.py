"""A small in-memory shop the recipes' tools act on: orders, shipments and a payment API.

The payment API behaves like a real one (Stripe's ``Idempotency-Key``): a refund asked
again with a key it has seen returns the first refund instead of paying twice. The
recipes pass the action gate's key, so exactly-once holds even across the two layers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

__all__ = ["ORDER_ID", "Order", "Refund", "Shop", "find_order_id"]

ORDER_ID = re.compile(r"\b(?:ORD|ord|order|pedido|commande|Bestellung)[\s#:-]*(\d{4,8})\b")


def find_order_id(text: str) -> str | None:
    """The order number in `text` (``ORD-10412``, ``order #10412``), as ``ORD-10412``."""
    match = ORDER_ID.search(text)
    return f"ORD-{match.group(1)}" if match else None


@dataclass(frozen=True, slots=True)
class Order:
    """One order."""

    id: str
    customer_id: str
    item: str
    total: Decimal
    status: str
    carrier: str
    tracking: str


@dataclass(frozen=True, slots=True)
class Refund:
    """One refund the payment API made."""

    id: str
    order_id: str
    amount: Decimal
    idempotency_key: str


@dataclass
class Shop:
    """Orders, shipments and refunds (a stand-in for the shop's real APIs)."""

    orders: dict[str, Order] = field(default_factory=dict[str, Order])
    refunds: list[Refund] = field(default_factory=list[Refund])

    @classmethod
    def sample(cls) -> Shop:
        """A few orders to play with."""
        orders = [
            Order("ORD-10412", "cus_ana", "Orbitly Pro, annual", Decimal("240.00"), "delivered",
                  "UPS", "1Z999AA10123456784"),
            Order("ORD-10577", "cus_ben", "Orbitly hardware key", Decimal("49.00"), "in transit",
                  "DHL", "JD014600006281234567"),
            Order("ORD-10601", "cus_acme", "Enterprise seats x40", Decimal("9600.00"), "delivered",
                  "none", "-"),
        ]  # fmt: skip
        return cls(orders={order.id: order for order in orders})

    def refund(self, order_id: str, idempotency_key: str) -> Refund:
        """Refund an order in full, once.

        A key seen before, or an order already refunded, returns that refund again (as a
        payment API refuses to refund twice).
        """
        for done in self.refunds:
            if done.idempotency_key == idempotency_key or done.order_id == order_id:
                return done
        order = self.orders[order_id]
        refund = Refund(f"re_{len(self.refunds) + 1:04d}", order_id, order.total, idempotency_key)
        self.refunds.append(refund)
        return refund
