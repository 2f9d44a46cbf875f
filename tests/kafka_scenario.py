"""A partner program's traffic as inbound messages, and the same commands as HTTP requests.

Every message about a partner is keyed by that partner, so one partner's messages stay in
order on one partition; partners do not depend on each other, so the outcome does not depend
on how partitions interleave. Cross-partner steps (the plan, a payout run) are phases of
their own: each phase is applied before the next is sent.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from domain.payouts import Payout
from tests.factories import plan_body
from tests.kafka_broker import Envelope

START = datetime(2026, 1, 5, 9, tzinfo=UTC)


def usd(amount: Decimal | str) -> dict[str, str]:
    return {"amount": str(amount), "currency": "USD"}


def at(minutes: int) -> str:
    return (START + timedelta(minutes=minutes)).isoformat()


class Scenario:
    """Phases of envelopes: the plan; partners and their earning; a payout run; payouts."""

    def __init__(self, partners: int, payments: int, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.plan_id = uuid.UUID(int=self.rng.getrandbits(128))
        self.partner_ids = [uuid.UUID(int=self.rng.getrandbits(128)) for _ in range(partners)]
        self.run_id = uuid.UUID(int=self.rng.getrandbits(128))
        self.customers: dict[uuid.UUID, list[str]] = {}
        self.clock = 0
        self.phases = [self._plan(), self._earning(payments), self._run(), self._payouts()]

    def _tick(self) -> str:
        self.clock += 1
        return at(self.clock)

    def _plan(self) -> list[Envelope]:
        body = plan_body(hold_days=0, min_payout=usd("20.00"), referral_months=24)
        return [Envelope("plan.created", {**body, "id": str(self.plan_id)}, at(0),
                         str(self.plan_id))]

    def _earning(self, payments: int) -> list[Envelope]:
        rng, out = self.rng, []
        for n, pid in enumerate(self.partner_ids):
            key = str(pid)
            out.append(Envelope("partner.applied", {
                "id": key, "name": f"P{n}", "email": f"p{n}-{pid.hex[:6]}@partner.example",
                "company": f"Co {n}", "type": "referral", "country": "US"}, self._tick(), key))
            out.append(Envelope("partner.approved", {"partner_id": key,
                                                     "plan_id": str(self.plan_id)},
                                self._tick(), key))
            self.customers[pid] = []
            for r in range(3):
                referral = str(uuid.UUID(int=rng.getrandbits(128)))
                customer = f"cust-{pid.hex[:8]}-{r}"
                out.append(Envelope("referral.recorded", {
                    "id": referral, "partner_id": key,
                    "lead": {"email": f"lead{r}-{pid.hex[:8]}@lead.example", "company": "L"}},
                    self._tick(), key))
                out.append(Envelope("referral.converted", {"referral_id": referral,
                                                           "customer_id": customer},
                                    self._tick(), key))
                self.customers[pid].append(customer)
            deal = str(uuid.UUID(int=rng.getrandbits(128)))
            out += [
                Envelope("deal.registered", {
                    "id": deal, "partner_id": key,
                    "customer": {"name": "Acme", "domain": f"acme-{pid.hex[:8]}.example"},
                    "estimated_value": usd("9000.00")}, self._tick(), key),
                Envelope("deal.approved", {"deal_id": deal}, self._tick(), key),
                Envelope("deal.closed_won", {"deal_id": deal, "amount": usd("8000.00"),
                                             "new_customer": True}, self._tick(), key),
            ]
        paid: list[tuple[uuid.UUID, str, Decimal]] = []
        for n in range(payments):
            pid = rng.choice(self.partner_ids)
            amount = Decimal(rng.randrange(1000, 50000)) / 100
            payment = f"in_{n}"
            out.append(Envelope("payment.received", {
                "id": payment, "customer_id": rng.choice(self.customers[pid]),
                "amount": usd(amount)}, self._tick(), str(pid)))
            paid.append((pid, payment, amount))
            if rng.random() < 0.1:
                refunded_pid, refunded, paid_amount = rng.choice(paid)
                out.append(Envelope("refund.issued", {
                    "id": f"re_{n}", "payment_id": refunded,
                    "amount": usd(min(paid_amount, Decimal("25.00")))},
                    self._tick(), str(refunded_pid)))
            if rng.random() < 0.02:
                victim = rng.choice(self.partner_ids)
                out.append(Envelope("points.redeemed", {
                    "id": str(uuid.UUID(int=rng.getrandbits(128))), "partner_id": str(victim),
                    "points": rng.choice([50, 100, 500]), "reward": "mug"},
                    self._tick(), str(victim)))
        suspended = self.partner_ids[0]
        out.append(Envelope("partner.suspended", {"partner_id": str(suspended),
                                                  "reason": "audit"}, self._tick(),
                            str(suspended)))
        return out

    def _run(self) -> list[Envelope]:
        self.as_of = at(self.clock + 10)
        return [Envelope("payout_run.requested", {"id": str(self.run_id), "as_of": self.as_of},
                         at(self.clock + 10), str(self.run_id))]

    def _payouts(self) -> list[Envelope]:
        out = []
        for n, pid in enumerate(self.partner_ids[1:]):
            payout = str(Payout.id_for(self.run_id, pid))
            kind, field, value = (("payout.confirmed", "reference", f"wire-{n}") if n % 4
                                  else ("payout.failed", "reason", "bank refused"))
            out.append(Envelope(kind, {"payout_id": payout, field: value},
                                at(self.clock + 20 + n), str(pid)))
        return out


def http_request(message: Envelope) -> tuple[str, dict[str, Any]]:
    """The HTTP route and body that carry the same command as a message."""
    data = {**message.data, "occurred_at": message.occurred_at}
    routes = {
        "plan.created": lambda: "/plans",
        "partner.applied": lambda: "/partners",
        "partner.approved": lambda: f"/partners/{data.pop('partner_id')}/approve",
        "partner.suspended": lambda: f"/partners/{data.pop('partner_id')}/suspend",
        "referral.recorded": lambda: "/referrals",
        "referral.converted": lambda: f"/referrals/{data.pop('referral_id')}/convert",
        "deal.registered": lambda: "/deals",
        "deal.approved": lambda: f"/deals/{data.pop('deal_id')}/approve",
        "deal.closed_won": lambda: f"/deals/{data.pop('deal_id')}/close-won",
        "payment.received": lambda: "/payments",
        "refund.issued": lambda: "/refunds",
        "points.redeemed": lambda: f"/partners/{data.pop('partner_id')}/points/redemptions",
        "payout_run.requested": lambda: "/payout-runs",
        "payout.confirmed": lambda: f"/payouts/{data.pop('payout_id')}/confirm",
        "payout.failed": lambda: f"/payouts/{data.pop('payout_id')}/fail",
    }
    return routes[message.type](), data
