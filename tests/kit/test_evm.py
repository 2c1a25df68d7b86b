"""kit.evm: the earned-value arithmetic of API.md §13, exact to the unit."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from worksible_api.kit.evm import (
    Figures,
    Interval,
    Plan,
    actual_cost,
    cumulative,
    earned_value,
    indicators,
    interval_ends,
    natural_key,
    planned_curve,
    planned_value,
    rounded_ratio,
    subtree,
    subtree_totals,
)

# Examples are generated afresh each run; nothing is written under .hypothesis/.
no_example_database = settings(database=None)


class TestWorkedExample:
    def test_the_figures_of_api_md_section_13(self) -> None:
        derived = indicators(Figures(bac=150000, pv=80000, ev=45000, ac=21000))
        assert (derived.sv, derived.cv) == (-35000, 24000)
        assert (derived.spi, derived.cpi) == (Decimal("0.5625"), Decimal("2.1429"))
        assert (derived.eac, derived.etc, derived.vac) == (70000, 49000, 80000)
        assert (derived.percent_complete, derived.percent_spent) == (
            Decimal("30.00"),
            Decimal("14.00"),
        )

    def test_ratios_are_null_when_their_divisor_is_0(self) -> None:
        derived = indicators(Figures())
        assert (derived.sv, derived.cv) == (0, 0)
        assert (derived.spi, derived.cpi, derived.eac, derived.etc, derived.vac) == (None,) * 5
        assert (derived.percent_complete, derived.percent_spent) == (None, None)

    def test_eac_is_computed_from_the_integers_not_the_rounded_cpi(self) -> None:
        # cpi = 2/3 rounds to 0.6667; bac / 0.6667 would be 149992.5, bac * ac / ev is 150000.
        derived = indicators(Figures(bac=100000, pv=0, ev=2, ac=3))
        assert derived.cpi == Decimal("0.6667")
        assert (derived.eac, derived.etc, derived.vac) == (150000, 149997, -50000)
        assert derived.spi is None


class TestRounding:
    @pytest.mark.parametrize(
        ("numerator", "denominator", "places", "expected"),
        [
            (1, 8, 2, "0.13"),  # 0.125: half away from zero
            (-1, 8, 2, "-0.13"),
            (1, 3, 4, "0.3333"),
            (2, 3, 4, "0.6667"),
            (5, 10000 * 2, 4, "0.0003"),  # 0.00025
            (-5, 10000 * 2, 4, "-0.0003"),
            (7, 7, 4, "1.0000"),
            (0, 5, 2, "0.00"),
        ],
    )
    def test_ratios_round_half_away_from_zero(
        self, numerator: int, denominator: int, places: int, expected: str
    ) -> None:
        ratio = rounded_ratio(numerator, denominator, places)
        assert ratio == Decimal(expected)
        assert str(ratio) == expected

    def test_percent_rounds_at_the_second_decimal(self) -> None:
        # ev / bac * 100 = 1/3 * 100 = 33.333.. ; 2/3 * 100 = 66.666..; 1/8 * 100 = 12.5
        assert indicators(Figures(bac=3, ev=1)).percent_complete == Decimal("33.33")
        assert indicators(Figures(bac=3, ev=2)).percent_complete == Decimal("66.67")
        assert indicators(Figures(bac=80000, ac=1)).percent_spent == Decimal("0.00")
        assert indicators(Figures(bac=40000, ac=1)).percent_spent == Decimal("0.00")
        assert indicators(Figures(bac=20000, ac=1)).percent_spent == Decimal("0.01")

    def test_negative_variances_and_overruns(self) -> None:
        derived = indicators(Figures(bac=1000, pv=900, ev=300, ac=700))
        assert (derived.sv, derived.cv) == (-600, -400)
        # eac = 1000 * 700 / 300 = 2333.33.. -> 2333
        assert (derived.eac, derived.etc, derived.vac) == (2333, 1633, -1333)
        assert derived.cpi == Decimal("0.4286")
        assert derived.percent_spent == Decimal("70.00")

    @pytest.mark.parametrize(
        ("minutes", "rate", "cost"),
        [(60, 6000, 6000), (1, 6000, 100), (1, 50, 1), (1, 29, 0), (1, 30, 1), (7, 90, 11)],
    )
    def test_an_entrys_cost_rounds_half_up(self, minutes: int, rate: int, cost: int) -> None:
        # 1 * 30 / 60 = 0.5 -> 1; 1 * 29 / 60 = 0.48 -> 0; 7 * 90 / 60 = 10.5 -> 11
        assert actual_cost(minutes, rate) == cost

    @pytest.mark.parametrize(
        ("budget", "percent", "earned"),
        [
            (150000, "30", 45000),
            (1, "50", 1),  # 0.5 -> 1
            (1, "49.99", 0),
            (3, "50", 2),  # 1.5 -> 2
            (12345, "33.33", 4115),  # 4114.5885
            (10**15, "0.01", 10**11),
            (999, "100", 999),
        ],
    )
    def test_earned_value_rounds_half_up(self, budget: int, percent: str, earned: int) -> None:
        assert earned_value(budget, Decimal(percent)) == earned

    def test_more_than_two_decimals_of_percent_is_refused(self) -> None:
        with pytest.raises(ValueError, match="2 decimals"):
            earned_value(100, Decimal("1.005"))


class TestPlannedValue:
    PLAN = Plan(budget=100000, start=date(2026, 1, 1), end=date(2026, 1, 10))

    @pytest.mark.parametrize(
        ("as_of", "planned"),
        [
            (date(2025, 12, 31), 0),
            (date(2026, 1, 1), 10000),
            (date(2026, 1, 7), 70000),
            (date(2026, 1, 10), 100000),
            (date(9999, 12, 31), 100000),
            (date(1, 1, 1), 0),
        ],
    )
    def test_spreads_the_budget_evenly_over_the_days(self, as_of: date, planned: int) -> None:
        assert planned_value(self.PLAN, as_of) == planned

    def test_each_days_share_is_rounded_half_up(self) -> None:
        plan = Plan(budget=1, start=date(2026, 1, 1), end=date(2026, 1, 2))
        assert planned_value(plan, date(2026, 1, 1)) == 1  # 0.5 -> 1
        plan = Plan(budget=10, start=date(2026, 1, 1), end=date(2026, 1, 3))
        assert [planned_value(plan, date(2026, 1, day)) for day in (1, 2, 3)] == [3, 7, 10]

    def test_no_budget_or_no_plan_plans_nothing(self) -> None:
        assert planned_value(Plan(0, date(2026, 1, 1), date(2026, 1, 2)), date(2026, 2, 1)) == 0
        assert planned_value(Plan(5, None, None), date(2026, 2, 1)) == 0


class TestIntervals:
    def test_days(self) -> None:
        assert list(interval_ends(date(2026, 1, 30), date(2026, 2, 2), Interval.DAY)) == [
            date(2026, 1, 30),
            date(2026, 1, 31),
            date(2026, 2, 1),
            date(2026, 2, 2),
        ]

    def test_weeks_end_on_sunday_and_the_last_on_to(self) -> None:
        # 2026-01-07 is a Wednesday; 2026-01-11 and 2026-01-18 are Sundays.
        assert list(interval_ends(date(2026, 1, 7), date(2026, 1, 20), Interval.WEEK)) == [
            date(2026, 1, 11),
            date(2026, 1, 18),
            date(2026, 1, 20),
        ]
        # From a Sunday to a Sunday: that Sunday is a whole interval's last day.
        assert list(interval_ends(date(2026, 1, 11), date(2026, 1, 18), Interval.WEEK)) == [
            date(2026, 1, 11),
            date(2026, 1, 18),
        ]

    def test_months_end_on_their_last_day_and_the_last_on_to(self) -> None:
        assert list(interval_ends(date(2024, 1, 31), date(2024, 4, 15), Interval.MONTH)) == [
            date(2024, 1, 31),
            date(2024, 2, 29),
            date(2024, 3, 31),
            date(2024, 4, 15),
        ]
        assert list(interval_ends(date(2026, 2, 3), date(2026, 2, 27), Interval.MONTH)) == [
            date(2026, 2, 27)
        ]

    @pytest.mark.parametrize("interval", list(Interval))
    def test_one_day_is_one_point_and_a_reversed_range_none(self, interval: Interval) -> None:
        assert list(interval_ends(date(2026, 5, 5), date(2026, 5, 5), interval)) == [
            date(2026, 5, 5)
        ]
        assert list(interval_ends(date(2026, 5, 6), date(2026, 5, 5), interval)) == []

    @pytest.mark.parametrize("interval", list(Interval))
    def test_the_edge_of_the_calendar_does_not_overflow(self, interval: Interval) -> None:
        points = list(interval_ends(date(9999, 12, 20), date.max, interval))
        assert points[-1] == date.max

    @no_example_database
    @given(
        start=st.dates(min_value=date(1, 1, 1), max_value=date.max - timedelta(days=800)),
        length=st.integers(min_value=0, max_value=800),
        interval=st.sampled_from(list(Interval)),
    )
    def test_points_are_ascending_interval_ends_ending_on_to(
        self, start: date, length: int, interval: Interval
    ) -> None:
        end = start + timedelta(days=length)
        points = list(interval_ends(start, end, interval))
        assert points[-1] == end
        assert points == sorted(set(points))
        assert points[0] >= start
        for point in points[:-1]:
            if interval is Interval.WEEK:
                assert point.weekday() == 6
            elif interval is Interval.MONTH:
                assert (point + timedelta(days=1)).day == 1
        if interval is Interval.DAY:
            assert len(points) == length + 1


class TestNaturalOrder:
    def test_codes_sort_as_people_read_them(self) -> None:
        codes = ["1.10", "1.2", "10", "2", "1", "1.2.1", "A", "1.01", "1.1", "1.a", "b"]
        assert sorted(codes, key=natural_key) == [
            "1",
            "1.01",
            "1.1",
            "1.2",
            "1.2.1",
            "1.10",
            "1.a",
            "2",
            "10",
            "A",
            "b",
        ]


# A forest of up to 40 elements: element i's parent is one of 0..i-1, or none.
forests = st.integers(min_value=1, max_value=40).flatmap(
    lambda size: st.tuples(
        st.tuples(
            *(st.none() if i == 0 else st.none() | st.integers(0, i - 1) for i in range(size))
        ),
        st.lists(
            st.builds(
                Figures,
                bac=st.integers(0, 10**12),
                pv=st.integers(0, 10**12),
                ev=st.integers(0, 10**12),
                ac=st.integers(0, 10**12),
            ),
            min_size=size,
            max_size=size,
        ),
    )
)


class TestSubtrees:
    @no_example_database
    @given(forest=forests)
    def test_the_project_equals_the_sum_over_its_top_elements(
        self, forest: tuple[tuple[int | None, ...], list[Figures]]
    ) -> None:
        parents_list, figures = forest
        parents = dict(enumerate(parents_list))
        own = dict(enumerate(figures))
        totals = subtree_totals(parents, own)
        project = sum(figures, Figures())
        tops = [key for key, parent in parents.items() if parent is None]
        assert sum((totals[key] for key in tops), Figures()) == project
        for key in parents:
            members = subtree(parents, key)
            assert totals[key] == sum((own[member] for member in members), Figures())
            parent = parents[key]
            if parent is not None:
                assert set(members) < set(subtree(parents, parent))

    def test_a_deep_chain_needs_no_recursion(self) -> None:
        parents: dict[int, int | None] = {i: (i - 1 if i else None) for i in range(5000)}
        totals = subtree_totals(parents, {i: Figures(bac=1) for i in parents})
        assert totals[0].bac == 5000
        assert totals[4999].bac == 1


plans = st.lists(
    st.tuples(
        st.integers(0, 10**9),
        st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 1, 1)),
        st.integers(0, 400),
    ).map(lambda t: Plan(t[0], t[1], t[1] + timedelta(days=t[2]))),
    max_size=30,
)


class TestCurves:
    @no_example_database
    @given(
        plans=plans,
        start=st.dates(min_value=date(2024, 12, 1), max_value=date(2027, 3, 1)),
        length=st.integers(0, 300),
        interval=st.sampled_from(list(Interval)),
    )
    def test_the_planned_curve_is_the_sum_of_each_plan_on_each_date(
        self, plans: list[Plan], start: date, length: int, interval: Interval
    ) -> None:
        dates = list(interval_ends(start, start + timedelta(days=length), interval))
        expected = [sum(planned_value(plan, day) for plan in plans) for day in dates]
        assert planned_curve(plans, dates) == expected

    def test_cumulative_adds_changes_up_to_each_date(self) -> None:
        changes = [(date(2026, 1, 1), 5), (date(2026, 1, 3), 7), (date(2026, 1, 9), -2)]
        dates = [date(2025, 12, 31), date(2026, 1, 3), date(2026, 1, 8), date(2026, 1, 9)]
        assert cumulative(changes, dates) == [0, 12, 12, 10]
