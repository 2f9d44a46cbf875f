"""The leaderboard and the program summary over HTTP, against figures worked out by hand."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.e2e.helpers import NOW, Api, create_plan, ok, problem_type, usd
from tests.factories import partner_body


def month_start(months_ago: int) -> datetime:
    """The first instant (UTC) of the month `months_ago` months before NOW's."""
    index = NOW.year * 12 + NOW.month - 1 - months_ago
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def month_name(months_ago: int) -> str:
    return f"{month_start(months_ago):%Y-%m}"


def when(months_ago: int, day: int) -> str:
    return (month_start(months_ago) + timedelta(days=day, hours=12)).isoformat()


def money(amount: str, currency: str = "USD") -> dict[str, str]:
    return {"amount": str(Decimal(amount).quantize(Decimal("0.01"))), "currency": currency}


# Sourced revenue written below, by partner and month (months before NOW's), refunds negative.
REVENUE = {
    ("Alpha", 3): ["2000.00", "300.00"],
    ("Alpha", 2): ["-100.00"],
    ("Bravo", 3): ["500.00"],
    ("Bravo", 2): ["700.00"],
    ("Charlie", 2): ["1200.00"],
}


class World:
    def __init__(self, api: Api) -> None:
        self.api = api
        self.ids: dict[str, str] = {}

    def partner(self, name: str, plan: str) -> str:
        pid = ok(api_post(self.api, "/partners", partner_body(name=name, occurred_at=when(4, 0))),
                 201)["id"]
        ok(api_post(self.api, f"/partners/{pid}/approve",
                    {"plan_id": plan, "occurred_at": when(4, 0)}))
        self.ids[name] = pid
        return str(pid)

    def won(self, name: str, domain: str, amount: str, months_ago: int, new: bool = True,
            currency: str = "USD") -> None:
        deal = ok(api_post(self.api, "/deals", {
            "partner_id": self.ids[name], "customer": {"name": domain, "domain": domain},
            "estimated_value": usd("100.00", currency), "occurred_at": when(months_ago, 1)}),
            201)["id"]
        ok(api_post(self.api, f"/deals/{deal}/approve", {"occurred_at": when(months_ago, 2)}))
        ok(api_post(self.api, f"/deals/{deal}/close-won", {
            "amount": usd(amount, currency), "new_customer": new,
            "occurred_at": when(months_ago, 3)}))


def api_post(api: Api, path: str, body: Any) -> Any:
    return api.post(path, body)


@pytest.fixture
def world(api: Api) -> World:
    """Three USD partners and one EUR partner with revenue over the last three months, a
    refund, a lost deal, open referrals, and a payout run, one of whose payouts is paid."""
    w = World(api)
    usd_plan = create_plan(api, occurred_at=when(5, 0))
    eur_plan = create_plan(api, currency="EUR", occurred_at=when(5, 0),
                           min_payout={"amount": "50.00", "currency": "EUR"},
                           tiers=[{"name": "silver", "threshold": usd("10000", "EUR"),
                                   "bonus_rate": "0.02"}])
    for name in ("Charlie", "Alpha", "Bravo"):
        w.partner(name, usd_plan)
    w.partner("Delta", eur_plan)
    w.partner("Echo", usd_plan)  # never earns: no account, so no place
    w.won("Alpha", "a1.example", "2000.00", 3)
    referral = ok(api.post("/referrals", {"partner_id": w.ids["Alpha"], "occurred_at": when(3, 1),
                                          "lead": {"email": "l@lead.example", "company": "L"}}),
                  201)["id"]
    ok(api.post(f"/referrals/{referral}/convert", {"customer_id": "cust-a",
                                                    "occurred_at": when(3, 2)}))
    ok(api.post("/payments", {"id": "in_a1", "customer_id": "cust-a", "amount": usd("300.00"),
                              "occurred_at": when(3, 4)}), 201)
    ok(api.post("/refunds", {"id": "re_a1", "payment_id": "in_a1", "amount": usd("100.00"),
                             "occurred_at": when(2, 4)}), 201)
    w.won("Bravo", "b1.example", "500.00", 3, new=False)
    w.won("Bravo", "b2.example", "700.00", 2)
    w.won("Charlie", "c1.example", "1200.00", 2)
    lost = ok(api.post("/deals", {"partner_id": w.ids["Charlie"], "occurred_at": when(2, 5),
                                  "customer": {"name": "L", "domain": "lost.example"},
                                  "estimated_value": usd("100.00")}), 201)["id"]
    ok(api.post(f"/deals/{lost}/close-lost", {"reason": "budget", "occurred_at": when(2, 6)}))
    ok(api.post("/referrals", {"partner_id": w.ids["Bravo"], "occurred_at": when(1, 1),
                               "lead": {"email": "p@lead.example", "company": "P"}}), 201)
    w.won("Delta", "d1.example", "900.00", 2, currency="EUR")
    run = ok(api.post("/payout-runs", {"occurred_at": when(1, 10)}), 201)
    ok(api.post(f"/payouts/{run['payouts'][0]['id']}/confirm",
                {"reference": "tx-1", "occurred_at": when(1, 12)}))
    return w


def expected(months: set[int] | None) -> dict[str, Decimal]:
    """USD partners' sourced revenue in the months given (None: all), from REVENUE."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for name in ("Alpha", "Bravo", "Charlie"):
        totals[name] += 0
    for (name, month), amounts in REVENUE.items():
        if months is None or month in months:
            totals[name] += sum(Decimal(a) for a in amounts)
    return totals


def ranking(totals: dict[str, Decimal]) -> list[tuple[str, dict[str, str]]]:
    ordered = sorted(totals.items(), key=lambda item: (-item[1], item[0]))
    return [(name, money(str(amount))) for name, amount in ordered]


def board(api: Api, query: str = "", token: str | None = "internal") -> dict[str, Any]:
    return ok(api.get(f"/leaderboard{query}", token=token))


def test_the_leaderboard_ranks_by_sourced_revenue_in_the_period_ties_by_name(
        api: Api, world: World) -> None:
    names = {pid: name for name, pid in world.ids.items()}
    periods: dict[str, set[int] | None] = {"all": None, month_name(3): {3}, month_name(2): {2},
                                           month_name(0): {0}}
    for months_ago in (3, 2):  # the quarters and years those months fall in
        start = month_start(months_ago)
        quarter = f"{start.year}-Q{(start.month - 1) // 3 + 1}"
        periods[quarter] = {m for m in (3, 2, 1, 0)
                            if f"{month_start(m).year}-Q{(month_start(m).month - 1) // 3 + 1}"
                            == quarter}
        periods[str(start.year)] = {m for m in (3, 2, 1, 0) if month_start(m).year == start.year}
    for period, months in periods.items():
        answer = board(api, f"?period={period}")
        assert (answer["period"], answer["currency"]) == (period, "USD")
        assert answer["currencies"] == ["USD", "EUR"]
        got = [(names[row["partner_id"]], row["sourced_revenue"]) for row in answer["items"]]
        assert got == ranking(expected(months)), period
        assert [row["rank"] for row in answer["items"]] == [1, 2, 3]
        assert answer["own"] is None
    # all time: Alpha 2,200; Bravo and Charlie tie at 1,200 and Bravo comes first by name
    everyone = board(api)["items"]
    assert [(row["name"], row["sourced_revenue"]["amount"]) for row in everyone] == [
        ("Alpha", "2200.00"), ("Bravo", "1200.00"), ("Charlie", "1200.00")]
    assert everyone[1]["new_business"] == money("700.00")
    eur = board(api, "?currency=EUR")
    assert [(row["rank"], row["name"], row["sourced_revenue"]) for row in eur["items"]] == [
        (1, "Delta", money("900.00", "EUR"))]
    assert board(api, "?currency=JPY")["items"] == []
    for name in ("Alpha", "Bravo", "Charlie", "Delta"):
        standing = ok(api.get(f"/partners/{world.ids[name]}/standing"))
        assert standing["rank"] == {"Alpha": 1, "Bravo": 2, "Charlie": 3, "Delta": 1}[name]
    echo = ok(api.get(f"/partners/{world.ids['Echo']}/standing"))
    assert echo["rank"] is None
    assert echo["next_tier"] == {"name": "silver", "threshold": money("10000.00"),
                                 "trailing_revenue": money("0.00")}
    alpha = ok(api.get(f"/partners/{world.ids['Alpha']}/standing"))
    assert alpha["next_tier"] == {"name": "silver", "threshold": money("10000.00"),
                                  "trailing_revenue": money("2200.00")}


def test_leaderboard_pages_walk_the_same_ranking(api: Api, world: World) -> None:
    whole = board(api, "?period=all")["items"]
    walked, cursor = [], ""
    while True:
        page = board(api, f"?limit=1{cursor}")
        walked += page["items"]
        if page["next_cursor"] is None:
            break
        cursor = f"&cursor={page['next_cursor']}"
    assert walked == whole


def test_a_partner_key_sees_every_place_but_only_its_own_name(api: Api, world: World) -> None:
    token = api.partner_token(world.ids["Charlie"])
    answer = board(api, token=token)
    assert [row["rank"] for row in answer["items"]] == [1, 2, 3]
    assert [row["partner_id"] for row in answer["items"]] == [None, None, world.ids["Charlie"]]
    assert [row["name"] for row in answer["items"]] == [None, None, "Charlie"]
    assert answer["own"]["rank"] == 3
    assert answer["own"]["sourced_revenue"] == money("1200.00")
    month = board(api, f"?period={month_name(2)}", token=token)
    assert month["own"]["rank"] == 1
    assert month["items"][0]["name"] == "Charlie"
    delta = board(api, token=api.partner_token(world.ids["Delta"]))  # its own currency first
    assert (delta["currency"], delta["own"]["name"]) == ("EUR", "Delta")
    text = str(answer) + str(month)
    for other in ("Alpha", "Bravo", world.ids["Alpha"], world.ids["Bravo"]):
        assert other not in text
    refused = api.get("/program/summary", token=token)
    assert (refused.status_code, problem_type(refused)) == (403, "forbidden")


@pytest.mark.parametrize("query", ["?period=2025-13", "?period=2025-Q5", "?period=25",
                                   "?period=1969", "?period=1969-12", "?period=9999",
                                   "?currency=usd", "?limit=0", "?limit=501", "?rank=1",
                                   "?cursor=nope"])
def test_bad_leaderboard_queries_are_422(api: Api, query: str) -> None:
    for path in ("/leaderboard", "/program/summary"):
        if path == "/program/summary" and query.startswith(("?currency", "?limit", "?cursor")):
            continue
        answer = api.get(f"{path}{query}")
        assert (answer.status_code, problem_type(answer)) == (422, "validation-error"), path


def test_a_period_not_yet_begun_is_refused(api: Api) -> None:
    future = month_start(-1)
    for period in (f"{future:%Y-%m}", str(NOW.year + 1)):
        answer = api.get(f"/leaderboard?period={period}")
        assert answer.status_code == 422
        assert "current month" in answer.get_json()["errors"]["period"][0]


def test_the_program_summary_adds_up_to_what_each_partner_shows(api: Api,
                                                                 world: World) -> None:
    everything = ok(api.get("/program/summary", token=api.auditor))
    assert everything["partners"] == {"by_status": {"active": 5}, "active_by_tier": {
        "registered": 5}}
    assert (everything["period"], everything["starts"], everything["ends"]) == ("all", None, None)
    usd_part, eur_part = everything["currencies"][1], everything["currencies"][0]
    assert (usd_part["currency"], eur_part["currency"]) == ("USD", "EUR")
    assert usd_part["sourced_revenue"] == money("4600.00")
    assert usd_part["new_business"] == money("4100.00")  # Bravo's first deal was not new
    assert eur_part["sourced_revenue"] == money("900.00", "EUR")
    assert [row["name"] for row in usd_part["top_partners"]] == ["Alpha", "Bravo", "Charlie"]
    assert everything["deals"] == {"registered": 0, "approved": 0, "won": 5, "lost": 1,
                                   "expired": 0, "rejected": 0, "win_rate": "0.8333"}
    assert everything["referrals"] == {"recorded": 2, "pending": 1, "converted": 1,
                                       "rejected": 0, "expired": 0, "conversion_rate": "0.5000"}
    # every bucket is the sum of the partners' own balances at the same time
    for period in ("all", month_name(3), month_name(2), month_name(1)):
        summary = ok(api.get(f"/program/summary?period={period}"))
        as_of = summary["as_of"].replace("+", "%2B")
        sums: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
        for pid in world.ids.values():
            for figures in ok(api.get(f"/partners/{pid}/balances?as_of={as_of}"))["balances"]:
                for bucket, amount in figures.items():
                    if bucket != "currency":
                        sums[figures["currency"]][bucket] += Decimal(amount)
        for part in summary["currencies"]:
            shown = {k: Decimal(v) for k, v in part["balances"].items() if k != "currency"}
            assert shown == dict(sums[part["currency"]]), (period, part["currency"])
        if period != "all":
            months_ago = {month_name(k): k for k in (3, 2, 1)}[period]
            assert summary["starts"] == month_start(months_ago).isoformat()
    buckets = [part["balances"] for part in ok(api.get("/program/summary"))["currencies"]]
    assert sum(Decimal(b["paid"]) for b in buckets) > 0  # the sums above covered each bucket
    assert sum(Decimal(b["in_payout"]) for b in buckets) > 0
    three = ok(api.get(f"/program/summary?period={month_name(3)}"))
    assert three["ends"] == month_start(2).isoformat()
    assert three["as_of"] == (month_start(2) - timedelta(microseconds=1)).isoformat()
    assert three["currencies"][-1]["sourced_revenue"] == money("2800.00")
    assert three["deals"]["won"] == 2  # Alpha's and Bravo's first, registered that month
    assert three["referrals"]["recorded"] == 1


def test_every_period_of_a_random_history_matches_the_revenue_written(api: Api) -> None:
    """Won deals on random days of the last fourteen months, two partners with one name:
    every month, quarter and year with revenue, and all time, rank as the amounts sent say,
    and each partner's standing agrees with its all-time place."""
    rng = random.Random(12)
    plan = create_plan(api, occurred_at=when(16, 0))
    w = World(api)
    partners = []
    for n, name in enumerate(("Kilo", "Lima", "Same", "Same", "Mike", "Oscar")):
        pid = ok(api.post("/partners", partner_body(name=name, occurred_at=when(15, 0))),
                 201)["id"]
        ok(api.post(f"/partners/{pid}/approve", {"plan_id": plan, "occurred_at": when(15, 0)}))
        w.ids[f"{name}-{n}"] = pid
        partners.append(pid)
    written: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for n in range(40):
        pid = rng.choice(partners[:-1])  # Oscar never earns: no account, no place
        months_ago = rng.randint(1, 14)
        day = rng.randint(3, 25)
        amount = f"{rng.randint(1, 9) * 100}.{rng.choice(['00', '50'])}"
        deal = ok(api.post("/deals", {
            "partner_id": pid, "customer": {"name": f"c{n}", "domain": f"c{n}.example"},
            "estimated_value": usd("100.00"), "occurred_at": when(months_ago, day - 2)}),
            201)["id"]
        ok(api.post(f"/deals/{deal}/approve", {"occurred_at": when(months_ago, day - 1)}))
        ok(api.post(f"/deals/{deal}/close-won", {"amount": usd(amount),
                                                  "new_customer": rng.random() < 0.5,
                                                  "occurred_at": when(months_ago, day)}))
        written[(pid, f"{month_start(months_ago) + timedelta(days=day):%Y-%m}")] += \
            Decimal(amount)
    names = {pid: ok(api.get(f"/partners/{pid}"))["name"] for pid in partners}
    earners = sorted({pid for pid, _ in written})
    months = {month for _, month in written}
    periods = {"all": lambda m: True}
    for month in months:
        year, number = int(month[:4]), int(month[5:])
        periods[month] = lambda m, month=month: m == month
        periods[f"{year}-Q{(number - 1) // 3 + 1}"] = (
            lambda m, y=year, q=(number - 1) // 3: m[:4] == str(y) and (int(m[5:]) - 1) // 3 == q)
        periods[str(year)] = lambda m, y=year: m[:4] == str(y)
    for period, inside in periods.items():
        totals = {pid: sum((v for (p, m), v in written.items() if p == pid and inside(m)),
                           Decimal(0)) for pid in earners}
        want = sorted(earners, key=lambda pid: (-totals[pid], names[pid], pid))
        rows = board(api, f"?period={period}&limit=500")["items"]
        assert [row["partner_id"] for row in rows] == want, period
        assert [Decimal(row["sourced_revenue"]["amount"]) for row in rows] == \
            [totals[pid] for pid in want], period
    everyone = board(api)["items"]
    for row in everyone:
        standing = ok(api.get(f"/partners/{row['partner_id']}/standing"))
        assert standing["rank"] == row["rank"]
        assert standing["sourced_revenue"]["total"] == row["sourced_revenue"]
    assert ok(api.get(f"/partners/{partners[-1]}/standing"))["rank"] is None
