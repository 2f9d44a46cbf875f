"""A small demo program loaded into an empty store by `make run`, and tokens to try it."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from uuid import UUID

from adapters.application import PartnerProgram
from adapters.clock import utc_now
from adapters.settings import DEFAULT_DATABASE_URL, redacted_url
from api.services import Services
from domain import commands as c
from domain.ids import derived_id
from domain.money import Money
from domain.plans import PlanTerms
from domain.tiers import Tier


def demo_id(name: str) -> UUID:
    """Stable ids, so the tour in the README can name them."""
    return derived_id(f"partnerledger:demo:{name}")


DEMO_PLAN_ID = demo_id("plan")
DEMO_PARTNER_ID = demo_id("partner:northwind")

STANDARD = PlanTerms(
    name="Standard 2026",
    currency="USD",
    deal_rate=Decimal("0.15"),
    referral_rate=Decimal("0.20"),
    referral_months=12,
    attribution_days=90,
    deal_protection_days=90,
    hold_days=30,
    min_payout=Money.parse("50.00", "USD"),
    points_per_conversion=100,
    tiers=(
        Tier("silver", Money.parse("10000.00", "USD"), Decimal("0.02")),
        Tier("gold", Money.parse("50000.00", "USD"), Decimal("0.05")),
    ),
)


def load_demo(app: PartnerProgram) -> bool:
    """Loads the demo program unless it is there already; True when it was loaded."""
    if app.position() > 0:
        return False
    start = datetime.now(UTC) - timedelta(days=120)

    def day(n: int) -> datetime:
        return start + timedelta(days=n)

    won, referral = demo_id("deal:acme"), demo_id("referral:globex")
    result = app.execute_batch([
        c.CreatePlan(day(0), DEMO_PLAN_ID, STANDARD),
        c.ApplyPartner(day(0), DEMO_PARTNER_ID, "Northwind Referrals", "ops@northwind.example",
                       "Northwind Ltd", "referral", "GB"),
        c.ApprovePartner(day(0), DEMO_PARTNER_ID, DEMO_PLAN_ID),
        # a won deal and a referred customer paying monthly, so there is a standing to read
        c.RegisterDeal(day(1), won, DEMO_PARTNER_ID, "Acme Corp", "acme.example",
                       Money.parse("12000.00", "USD")),
        c.ApproveDeal(day(2), won),
        c.CloseDealWon(day(20), won, Money.parse("12500.00", "USD"), True),
        c.RecordReferral(day(21), referral, DEMO_PARTNER_ID, "cto@globex.example", "Globex"),
        c.ConvertReferral(day(25), referral, "cust-globex"),
        *[c.RecordPayment(day(30 + 30 * n), f"in_demo_{n}", "cust-globex",
                          Money.parse("499.00", "USD")) for n in range(3)],
        c.ApplyPartner(None, demo_id("partner:contoso"), "Contoso Resale",
                       "partners@contoso.example", "Contoso GmbH", "reseller", "DE"),
        c.ApplyPartner(None, demo_id("partner:fabrikam"), "Fabrikam Labs",
                       "alliances@fabrikam.example", "Fabrikam Inc", "technology", "US"),
        c.ApprovePartner(None, demo_id("partner:fabrikam"), DEMO_PLAN_ID),
    ])
    refused = [o.error for o in result.outcomes if o.error is not None]
    if refused:
        raise RuntimeError(f"demo program refused: {refused}")
    return True


def tokens_file(database_url: str) -> Path:
    """Where `serve --demo` keeps the demo tokens of a store: var/demo-tokens.env for the
    default store, a file named after the database URL for any other, so two servers on two
    stores never overwrite each other's tokens."""
    if database_url == DEFAULT_DATABASE_URL:
        return Path("var/demo-tokens.env")
    return Path(f"var/demo-tokens-{hashlib.sha256(database_url.encode()).hexdigest()[:12]}.env")


def saved_tokens(svc: Services, path: Path) -> tuple[str, str] | None:
    """The internal and partner tokens saved at `path`, if both still work on this store."""
    try:
        text = path.read_text()
    except OSError:
        return None
    found = dict(re.findall(r"^export (INTERNAL_TOKEN|PARTNER_TOKEN)=(\S+)$", text, re.M))
    internal, partner = found.get("INTERNAL_TOKEN"), found.get("PARTNER_TOKEN")
    if internal is None or partner is None:
        return None
    as_internal = svc.keys.authenticate(internal)
    as_partner = svc.keys.authenticate(partner)
    if (as_internal is None or as_internal.role != "internal" or as_partner is None
            or as_partner.partner_id != DEMO_PARTNER_ID):
        return None
    return internal, partner


def start_demo(svc: Services, url: str, echo: Callable[[str], None]) -> None:
    """Loads the demo into an empty store, then says an internal and a partner token: the
    ones saved for this store when they still work, else new ones, saved for the operator's
    shell."""
    if load_demo(svc.app):
        svc.projections.catch_up()
        echo("Loaded the demo program (plan 'Standard 2026', three partners).")
    path = tokens_file(svc.settings.database_url)
    tokens = saved_tokens(svc, path)
    if tokens is None:
        _, internal = svc.keys.create("internal", None, utc_now())
        _, partner = svc.keys.create("partner", DEMO_PARTNER_ID, utc_now())
        path.parent.mkdir(parents=True, exist_ok=True)
        scratch = path.with_suffix(".tmp")
        scratch.touch(mode=0o600)
        scratch.write_text(f"# demo tokens of {redacted_url(svc.settings.database_url)}\n"
                           f"export INTERNAL_TOKEN={internal}\nexport PARTNER_TOKEN={partner}\n")
        scratch.replace(path)
    else:
        internal, partner = tokens
    echo(f"\n  internal token: {internal}\n  partner token:  {partner}"
         f"  (partner {DEMO_PARTNER_ID})\n")
    echo(f"  the same tokens, for your shell: source {path}")
    echo(f"  try: curl -H 'Authorization: Bearer {internal}' {url}/partners\n")
