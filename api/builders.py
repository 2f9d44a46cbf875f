"""One builder per command type: a body as its schema in api/schemas loaded it, to the command.

HTTP routes and Kafka messages both build their commands here. Each builder takes the body,
the business time `at` (the body's `occurred_at` over HTTP, the envelope's over Kafka) and
what the entry point supplies besides: the ids of the path, or minted for a create, over
HTTP; the ids in the message's data over Kafka.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from domain import commands as c
from domain.plans import PlanTerms
from domain.tiers import Tier

Body = Mapping[str, Any]

# The terms a plan body states, besides its tiers; a plan's answer lists the same ones.
PLAN_TERMS = ("name", "currency", "deal_rate", "referral_rate", "referral_months",
              "attribution_days", "deal_protection_days", "hold_days", "min_payout",
              "points_per_conversion")


def _tiers(raw: list[dict[str, Any]]) -> tuple[Tier, ...]:
    return tuple(Tier(t["name"], t["threshold"], t["bonus_rate"]) for t in raw)


# plans ---------------------------------------------------------------------------------


def create_plan(body: Body, at: datetime | None, plan_id: UUID) -> c.CreatePlan:
    """A new plan with the body's terms."""
    terms = PlanTerms(**{name: body[name] for name in PLAN_TERMS}, tiers=_tiers(body["tiers"]))
    return c.CreatePlan(at, plan_id, terms)


def revise_plan(body: Body, at: datetime | None, plan_id: UUID) -> c.RevisePlan:
    """The terms the body states change from `at` on; the others carry over."""
    changes = {k: v for k, v in body.items() if k not in ("occurred_at", "plan_id")}
    if "tiers" in changes:
        changes["tiers"] = _tiers(changes["tiers"])
    return c.RevisePlan(at, plan_id, changes)


# partners ------------------------------------------------------------------------------


def apply_partner(body: Body, at: datetime | None, partner_id: UUID) -> c.ApplyPartner:
    """A partner's application."""
    return c.ApplyPartner(at, partner_id, body["name"], body["email"], body["company"],
                          body["type"], body["country"])


def approve_partner(body: Body, at: datetime | None, partner_id: UUID) -> c.ApprovePartner:
    """An approval onto the body's plan."""
    return c.ApprovePartner(at, partner_id, body["plan_id"])


def reject_partner(body: Body, at: datetime | None, partner_id: UUID) -> c.RejectPartner:
    """A rejection, with the body's reason if any."""
    return c.RejectPartner(at, partner_id, body["reason"])


def suspend_partner(body: Body, at: datetime | None, partner_id: UUID) -> c.SuspendPartner:
    """A suspension, with the body's reason if any."""
    return c.SuspendPartner(at, partner_id, body["reason"])


def reactivate_partner(body: Body, at: datetime | None,
                       partner_id: UUID) -> c.ReactivatePartner:
    """A suspended partner made active again."""
    return c.ReactivatePartner(at, partner_id)


def terminate_partner(body: Body, at: datetime | None, partner_id: UUID) -> c.TerminatePartner:
    """A termination, with the body's reason if any."""
    return c.TerminatePartner(at, partner_id, body["reason"])


def move_partner_to_plan(body: Body, at: datetime | None,
                         partner_id: UUID) -> c.MovePartnerToPlan:
    """A move onto the body's plan from `at` on."""
    return c.MovePartnerToPlan(at, partner_id, body["plan_id"])


def change_partner_details(body: Body, at: datetime | None,
                           partner_id: UUID) -> c.ChangePartnerDetails:
    """A correction of the name, company or country the body gives."""
    return c.ChangePartnerDetails(at, partner_id, body.get("name"), body.get("company"),
                                  body.get("country"))


# deals ---------------------------------------------------------------------------------


def register_deal(body: Body, at: datetime | None, deal_id: UUID) -> c.RegisterDeal:
    """A deal registration for the body's partner and customer."""
    return c.RegisterDeal(at, deal_id, body["partner_id"], body["customer"]["name"],
                          body["customer"]["domain"], body["estimated_value"])


def approve_deal(body: Body, at: datetime | None, deal_id: UUID) -> c.ApproveDeal:
    """A registered deal approved."""
    return c.ApproveDeal(at, deal_id)


def reject_deal(body: Body, at: datetime | None, deal_id: UUID) -> c.RejectDeal:
    """An open deal turned down, with the body's reason if any."""
    return c.RejectDeal(at, deal_id, body["reason"])


def close_deal_won(body: Body, at: datetime | None, deal_id: UUID) -> c.CloseDealWon:
    """An approved deal won for the body's amount."""
    return c.CloseDealWon(at, deal_id, body["amount"], body["new_customer"])


def close_deal_lost(body: Body, at: datetime | None, deal_id: UUID) -> c.CloseDealLost:
    """An open deal lost, with the body's reason if any."""
    return c.CloseDealLost(at, deal_id, body["reason"])


# referrals, billing, points ------------------------------------------------------------


def record_referral(body: Body, at: datetime | None, referral_id: UUID) -> c.RecordReferral:
    """A lead recorded for the body's partner."""
    return c.RecordReferral(at, referral_id, body["partner_id"], body["lead"]["email"],
                            body["lead"]["company"])


def convert_referral(body: Body, at: datetime | None,
                     referral_id: UUID) -> c.ConvertReferral:
    """A lead that became the body's billing customer."""
    return c.ConvertReferral(at, referral_id, body["customer_id"])


def record_payment(body: Body, at: datetime | None) -> c.RecordPayment:
    """A paid invoice, by the billing system's ids in the body."""
    return c.RecordPayment(at, body["id"], body["customer_id"], body["amount"])


def issue_refund(body: Body, at: datetime | None) -> c.IssueRefund:
    """A refund of a payment, by the billing system's ids in the body."""
    return c.IssueRefund(at, body["id"], body["payment_id"], body["amount"])


def redeem_points(body: Body, at: datetime | None, redemption_id: UUID,
                  partner_id: UUID) -> c.RedeemPoints:
    """Points spent on the body's reward."""
    return c.RedeemPoints(at, redemption_id, partner_id, body["points"], body["reward"])


def adjust_balance(body: Body, at: datetime | None, adjustment_id: UUID,
                   partner_id: UUID) -> c.AdjustBalance:
    """A manual credit (positive amount) or debit (negative), with its reason."""
    return c.AdjustBalance(at, adjustment_id, partner_id, body["amount"], body["reason"])


# payouts -------------------------------------------------------------------------------


def run_payouts(body: Body, at: datetime | None, run_id: UUID, partner_ids: tuple[UUID, ...],
                as_of: datetime | None = None) -> c.RunPayouts:
    """A payout run over `partner_ids`, as of the body's `as_of`, else `as_of` given here."""
    return c.RunPayouts(at, run_id, body["as_of"] or as_of, partner_ids)


def confirm_payout(body: Body, at: datetime | None, payout_id: UUID) -> c.ConfirmPayout:
    """A payout paid, with the transfer's reference."""
    return c.ConfirmPayout(at, payout_id, body["reference"])


def fail_payout(body: Body, at: datetime | None, payout_id: UUID) -> c.FailPayout:
    """A payout failed, with the reason."""
    return c.FailPayout(at, payout_id, body["reason"])


# royalties -----------------------------------------------------------------------------


def sign_royalty_agreement(body: Body, at: datetime | None,
                           agreement_id: UUID) -> c.SignRoyaltyAgreement:
    """An agreement signed on the body's schedule."""
    schedule = tuple((bracket["up_to"], bracket["rate"]) for bracket in body["schedule"])
    return c.SignRoyaltyAgreement(at, agreement_id, body["partner_id"], body["currency"],
                                  schedule, body["minimum_per_quarter"], body["starts_on"])


def report_royalty(body: Body, at: datetime | None, agreement_id: UUID) -> c.ReportRoyalty:
    """A month's sales and returns reported, or restated."""
    return c.ReportRoyalty(at, agreement_id, body["period"], body["gross_sales"],
                           body["returns"])


def close_royalty_quarter(body: Body, at: datetime | None, agreement_id: UUID,
                          quarter: str) -> c.CloseRoyaltyQuarter:
    """A quarter closed, topped up to the agreement's minimum."""
    return c.CloseRoyaltyQuarter(at, agreement_id, quarter)
