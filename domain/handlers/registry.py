"""Which handler applies each command type, and which aggregate ids it loads."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, NamedTuple
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain import commands as c
from domain.handlers.adjustments import adjust_balance, adjust_balance_loads
from domain.handlers.billing import (
    issue_refund,
    issue_refund_loads,
    record_payment,
    record_payment_loads,
)
from domain.handlers.deals import (
    approve_deal,
    close_lost,
    close_won,
    deal_loads,
    expire_deal,
    register_deal,
    register_deal_loads,
    reject_deal,
)
from domain.handlers.partners import (
    apply_partner,
    apply_partner_loads,
    approve_partner,
    approve_partner_loads,
    change_details,
    change_details_loads,
    move_to_plan,
    move_to_plan_loads,
    partner_loads,
    reactivate_partner,
    reject_partner,
    suspend_partner,
    terminate_partner,
)
from domain.handlers.payouts import (
    confirm_payout,
    fail_payout,
    payout_loads,
    run_payouts,
    run_payouts_loads,
)
from domain.handlers.plans import create_plan, create_plan_loads, revise_plan, revise_plan_loads
from domain.handlers.points import redeem_points, redeem_points_loads
from domain.handlers.ports import Aggregates
from domain.handlers.referrals import (
    convert_referral,
    convert_referral_loads,
    record_referral,
    record_referral_loads,
)
from domain.handlers.royalties import (
    agreement_loads,
    close_royalty_quarter,
    report_royalty,
    sign_agreement,
    sign_agreement_loads,
)

Handler = Callable[[Any, Aggregates, datetime], Aggregate]
Loads = Callable[[Any], list[UUID]]


class Handling(NamedTuple):
    """A command type's handler, and the ids it loads, known from the command alone."""

    handler: Handler
    loads: Loads


HANDLERS: dict[type[c.Command], Handling] = {
    c.CreatePlan: Handling(create_plan, create_plan_loads),
    c.RevisePlan: Handling(revise_plan, revise_plan_loads),
    c.ApplyPartner: Handling(apply_partner, apply_partner_loads),
    c.ApprovePartner: Handling(approve_partner, approve_partner_loads),
    c.ChangePartnerDetails: Handling(change_details, change_details_loads),
    c.MovePartnerToPlan: Handling(move_to_plan, move_to_plan_loads),
    c.AdjustBalance: Handling(adjust_balance, adjust_balance_loads),
    c.RejectPartner: Handling(reject_partner, partner_loads),
    c.SuspendPartner: Handling(suspend_partner, partner_loads),
    c.ReactivatePartner: Handling(reactivate_partner, partner_loads),
    c.TerminatePartner: Handling(terminate_partner, partner_loads),
    c.RegisterDeal: Handling(register_deal, register_deal_loads),
    c.ApproveDeal: Handling(approve_deal, deal_loads),
    c.RejectDeal: Handling(reject_deal, deal_loads),
    c.CloseDealWon: Handling(close_won, deal_loads),
    c.CloseDealLost: Handling(close_lost, deal_loads),
    c.ExpireDeal: Handling(expire_deal, deal_loads),
    c.RecordReferral: Handling(record_referral, record_referral_loads),
    c.ConvertReferral: Handling(convert_referral, convert_referral_loads),
    c.RecordPayment: Handling(record_payment, record_payment_loads),
    c.IssueRefund: Handling(issue_refund, issue_refund_loads),
    c.RedeemPoints: Handling(redeem_points, redeem_points_loads),
    c.RunPayouts: Handling(run_payouts, run_payouts_loads),
    c.ConfirmPayout: Handling(confirm_payout, payout_loads),
    c.FailPayout: Handling(fail_payout, payout_loads),
    c.SignRoyaltyAgreement: Handling(sign_agreement, sign_agreement_loads),
    c.ReportRoyalty: Handling(report_royalty, agreement_loads),
    c.CloseRoyaltyQuarter: Handling(close_royalty_quarter, agreement_loads),
}
