"""Date values as inclusive UTC microsecond ranges (R4 search.html#date, implicit ranges)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from isocenter.search.dates import date_range, period_range
from isocenter.store.instants import from_datetime
from isocenter.store.schema import INSTANT_MAX, INSTANT_MIN


def _at(*parts: int) -> int:
    return from_datetime(datetime(*parts, tzinfo=UTC))  # type: ignore[misc]


class TestPrecision:
    def test_a_year_covers_the_whole_year(self) -> None:
        assert date_range("2020") == (_at(2020, 1, 1), _at(2021, 1, 1) - 1)

    def test_a_month_covers_the_whole_month(self) -> None:
        assert date_range("2021-04") == (_at(2021, 4, 1), _at(2021, 5, 1) - 1)

    def test_december_ends_at_the_new_year(self) -> None:
        assert date_range("2019-12") == (_at(2019, 12, 1), _at(2020, 1, 1) - 1)

    def test_a_date_covers_the_whole_day(self) -> None:
        assert date_range("1931-04-18") == (_at(1931, 4, 18), _at(1931, 4, 19) - 1)

    def test_minutes_cover_the_minute(self) -> None:
        assert date_range("2020-03-01T10:07") == (
            _at(2020, 3, 1, 10, 7),
            _at(2020, 3, 1, 10, 8) - 1,
        )

    def test_seconds_cover_the_second(self) -> None:
        assert date_range("2020-03-01T10:07:09Z") == (
            _at(2020, 3, 1, 10, 7, 9),
            _at(2020, 3, 1, 10, 7, 10) - 1,
        )

    def test_milliseconds_cover_the_millisecond(self) -> None:
        start = _at(2020, 3, 1, 10, 7, 9, 123000)
        assert date_range("2020-03-01T10:07:09.123Z") == (start, start + 999)

    def test_one_fraction_digit_covers_a_tenth_of_a_second(self) -> None:
        start = _at(2020, 3, 1, 10, 7, 9, 500000)
        assert date_range("2020-03-01T10:07:09.5Z") == (start, start + 99_999)

    def test_microseconds_are_a_single_point(self) -> None:
        point = _at(2020, 3, 1, 10, 7, 9, 123456)
        assert date_range("2020-03-01T10:07:09.123456Z") == (point, point)

    def test_digits_past_microseconds_are_truncated(self) -> None:
        point = _at(2020, 3, 1, 10, 7, 9, 123456)
        assert date_range("2020-03-01T10:07:09.123456789Z") == (point, point)

    def test_dates_before_the_epoch_are_negative(self) -> None:
        assert date_range("1969-12-31T23:59:59.999999Z") == (-1, -1)

    def test_first_and_last_fhir_years(self) -> None:
        assert date_range("0001")[0] == _at(1, 1, 1)
        assert date_range("9999")[1] == _at(9999, 12, 31, 23, 59, 59, 999999)


class TestZones:
    def test_a_positive_offset_is_subtracted(self) -> None:
        assert date_range("2020-03-01T10:00:00+02:00")[0] == _at(2020, 3, 1, 8)

    def test_a_negative_offset_is_added(self) -> None:
        assert date_range("2016-06-19T21:17:23-04:00")[0] == _at(2016, 6, 20, 1, 17, 23)

    def test_an_offset_can_cross_a_year_boundary(self) -> None:
        assert date_range("2020-12-31T23:30:00-01:00")[0] == _at(2021, 1, 1, 0, 30)

    def test_z_and_zero_offsets_agree(self) -> None:
        assert date_range("2020-03-01T10:00:00Z") == date_range("2020-03-01T10:00:00+00:00")
        assert date_range("2020-03-01T10:00:00Z") == date_range("2020-03-01T10:00:00-00:00")

    def test_values_without_a_zone_are_read_as_utc(self) -> None:
        assert date_range("2020-03-01T10:00:00") == date_range("2020-03-01T10:00:00Z")

    def test_minute_precision_takes_a_zone(self) -> None:
        assert date_range("2020-03-01T10:00+05:30")[0] == _at(2020, 3, 1, 4, 30)

    def test_fourteen_hours_is_the_largest_offset(self) -> None:
        assert date_range("2020-03-01T14:00:00+14:00")[0] == _at(2020, 3, 1)


class TestLeapDays:
    def test_february_of_a_leap_year_has_29_days(self) -> None:
        assert date_range("2024-02")[1] == _at(2024, 3, 1) - 1

    def test_february_29_exists_in_leap_years(self) -> None:
        assert date_range("2000-02-29")[0] == _at(2000, 2, 29)
        assert date_range("2020-02-29T12:00:00Z")[0] == _at(2020, 2, 29, 12)

    @pytest.mark.parametrize("value", ["2021-02-29", "1900-02-29", "2100-02-29"])
    def test_february_29_is_refused_in_common_years(self, value: str) -> None:
        with pytest.raises(ValueError):
            date_range(value)

    def test_a_leap_second_stays_in_its_minute(self) -> None:
        assert date_range("2016-12-31T23:59:60Z") == date_range("2016-12-31T23:59:59Z")


class TestMalformed:
    @pytest.mark.parametrize(
        "value",
        [
            "",
            "20",
            "0000",
            "2020-13",
            "2020-00",
            "2020-04-31",
            "2020-02-30",
            "2020-1-01",
            "2020-01-1",
            "2020/01/01",
            "2020-01-01Z",
            "2020-01-01T10",
            "2020-01-01T10Z",
            "2020-01-01T24:00:00Z",
            "2020-01-01T10:60:00Z",
            "2020-01-01T10:00:61Z",
            "2020-01-01T10:00:00.Z",
            "2020-01-01T10:00:00+15:00",
            "2020-01-01T10:00:00+14:30",
            "2020-01-01T10:00:00+05:60",
            "2020-01-01T10:00:00+0500",
            "2020-01-01 10:00:00",
            " 2020",
            "2020-01-01T10:00:00Z ",
            "\u0662\u0660\u0662\u0660",
        ],
    )
    def test_malformed_values_raise_value_error(self, value: str) -> None:
        with pytest.raises(ValueError):
            date_range(value)


class TestPeriods:
    def test_a_period_runs_from_start_of_start_to_end_of_end(self) -> None:
        assert period_range("2020-01", "2020-03-15") == (
            _at(2020, 1, 1),
            _at(2020, 3, 16) - 1,
        )

    def test_an_open_end_is_the_largest_instant(self) -> None:
        assert period_range("2020-01-01", None) == (_at(2020, 1, 1), INSTANT_MAX)

    def test_an_open_start_is_the_smallest_instant(self) -> None:
        assert period_range(None, "2020-01-01") == (INSTANT_MIN, _at(2020, 1, 2) - 1)

    def test_a_period_open_at_both_ends_covers_everything(self) -> None:
        assert period_range(None, None) == (INSTANT_MIN, INSTANT_MAX)

    def test_a_period_ending_before_it_starts_is_refused(self) -> None:
        with pytest.raises(ValueError):
            period_range("2020-02-01", "2020-01-01")

    def test_a_malformed_end_is_refused(self) -> None:
        with pytest.raises(ValueError):
            period_range("2020-01-01", "2020-01-32")

    def test_sentinels_lie_outside_every_date(self) -> None:
        assert date_range("0001")[0] > INSTANT_MIN
        assert date_range("9999")[1] < INSTANT_MAX
