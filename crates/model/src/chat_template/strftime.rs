//! `strftime_now(format)`: the current date and time formatted like Python's
//! `datetime.now().strftime(format)` in the C locale (Llama 3.2 prints "Today Date: 26 Jul 2024").
//!
//! Native builds use UTC (there is no time-zone database here); the browser build uses the
//! browser's local time.

use minijinja::{Error, ErrorKind};

const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// A broken-down civil time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct DateTime {
    pub year: i64,
    /// 1..=12
    pub month: u32,
    /// 1..=31
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

/// The template function.
pub(super) fn strftime_now(format: &str) -> Result<String, Error> {
    Ok(now()?.format(format))
}

#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
fn now() -> Result<DateTime, Error> {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| Error::new(ErrorKind::InvalidOperation, "the clock is before 1970"))?;
    let secs = i64::try_from(since_epoch.as_secs())
        .map_err(|_| Error::new(ErrorKind::InvalidOperation, "the clock is out of range"))?;
    Ok(DateTime::from_unix(secs))
}

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
fn now() -> Result<DateTime, Error> {
    let d = js_sys::Date::new_0();
    if d.get_time().is_nan() {
        return Err(Error::new(ErrorKind::InvalidOperation, "no clock"));
    }
    Ok(DateTime {
        year: i64::from(d.get_full_year()),
        month: d.get_month() + 1,
        day: d.get_date(),
        hour: d.get_hours(),
        minute: d.get_minutes(),
        second: d.get_seconds(),
    })
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl DateTime {
    /// UTC time of a Unix timestamp (seconds since 1970-01-01T00:00:00Z).
    #[cfg_attr(all(target_arch = "wasm32", target_os = "unknown"), allow(dead_code))]
    pub(super) fn from_unix(secs: i64) -> DateTime {
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400) as u32;
        // Count whole 400-year cycles (146097 days each) from 0000-03-01, then years, then
        // months starting in March, so that the leap day ends each counted year.
        let z = days + 719_468; // days from 0000-03-01 to 1970-01-01
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097); // day of era, 0..146096
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // year of era
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of year from March 1st
        let mp = (5 * doy + 2) / 153; // month from March, 0..11
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);
        DateTime {
            year,
            month,
            day,
            hour: rem / 3600,
            minute: rem / 60 % 60,
            second: rem % 60,
        }
    }

    /// 0 = Monday … 6 = Sunday.
    fn weekday(&self) -> usize {
        // Days since 1970-01-01 (a Thursday) of this civil date.
        let (y, m) = if self.month <= 2 {
            (self.year - 1, i64::from(self.month) + 9)
        } else {
            (self.year, i64::from(self.month) - 3)
        };
        let era = y.div_euclid(400);
        let yoe = y.rem_euclid(400);
        let doy = (153 * m + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let days = era * 146_097 + doe - 719_468;
        (days + 3).rem_euclid(7) as usize
    }

    /// 1..=366
    fn day_of_year(&self) -> u32 {
        (1..self.month)
            .map(|m| days_in_month(self.year, m))
            .sum::<u32>()
            + self.day
    }

    /// C-locale `strftime`, with glibc's `-` flag (`%-d`: no padding). Unknown directives are
    /// copied as they are, like glibc does; `%z`/`%Z` print nothing, as for Python's naive
    /// `datetime.now()`.
    pub(super) fn format(&self, format: &str) -> String {
        let mut out = String::new();
        let mut chars = format.chars().peekable();
        let month_name = MONTHS[(self.month as usize).clamp(1, 12) - 1];
        let day_name = WEEKDAYS[self.weekday()];
        let hour12 = match self.hour % 12 {
            0 => 12,
            h => h,
        };
        while let Some(c) = chars.next() {
            if c != '%' {
                out.push(c);
                continue;
            }
            let pad = chars.next_if_eq(&'-').is_none();
            let num = |out: &mut String, n: i64, width: usize, fill: char| {
                let s = n.to_string();
                if pad {
                    out.extend(std::iter::repeat_n(fill, width.saturating_sub(s.len())));
                }
                out.push_str(&s);
            };
            match chars.next() {
                Some('a') => out.push_str(&day_name[..3]),
                Some('A') => out.push_str(day_name),
                Some('b') | Some('h') => out.push_str(&month_name[..3]),
                Some('B') => out.push_str(month_name),
                Some('c') => out.push_str(&self.format("%a %b %e %H:%M:%S %Y")),
                Some('C') => num(&mut out, self.year.div_euclid(100), 2, '0'),
                Some('d') => num(&mut out, i64::from(self.day), 2, '0'),
                Some('D') | Some('x') => out.push_str(&self.format("%m/%d/%y")),
                Some('e') => num(&mut out, i64::from(self.day), 2, ' '),
                Some('F') => out.push_str(&self.format("%Y-%m-%d")),
                Some('H') => num(&mut out, i64::from(self.hour), 2, '0'),
                Some('I') => num(&mut out, i64::from(hour12), 2, '0'),
                Some('j') => num(&mut out, i64::from(self.day_of_year()), 3, '0'),
                Some('k') => num(&mut out, i64::from(self.hour), 2, ' '),
                Some('l') => num(&mut out, i64::from(hour12), 2, ' '),
                Some('m') => num(&mut out, i64::from(self.month), 2, '0'),
                Some('M') => num(&mut out, i64::from(self.minute), 2, '0'),
                Some('n') => out.push('\n'),
                Some('p') => out.push_str(if self.hour < 12 { "AM" } else { "PM" }),
                Some('R') => out.push_str(&self.format("%H:%M")),
                Some('S') => num(&mut out, i64::from(self.second), 2, '0'),
                Some('t') => out.push('\t'),
                Some('T') | Some('X') => out.push_str(&self.format("%H:%M:%S")),
                Some('u') => num(&mut out, self.weekday() as i64 + 1, 1, '0'),
                Some('w') => num(&mut out, (self.weekday() as i64 + 1) % 7, 1, '0'),
                Some('y') => num(&mut out, self.year.rem_euclid(100), 2, '0'),
                Some('Y') => num(&mut out, self.year, 1, '0'),
                // datetime.now() is naive: Python prints no zone.
                Some('z') | Some('Z') => {}
                Some('%') => out.push('%'),
                Some(other) => {
                    out.push('%');
                    if !pad {
                        out.push('-');
                    }
                    out.push(other);
                }
                None => out.push('%'),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_from_unix_time() {
        let d = DateTime::from_unix(0);
        assert_eq!((d.year, d.month, d.day, d.hour), (1970, 1, 1, 0));
        assert_eq!(d.format("%a %A %j %u %w"), "Thu Thursday 001 4 4");
        // 2024-02-29T13:05:09Z, a Thursday in a leap year.
        let d = DateTime::from_unix(1_709_211_909);
        assert_eq!(
            d.format("%d %b %Y|%-d %B %y|%H:%M:%S %I%p|%j|%F %T|%e|%%|%Q|%z%Z"),
            "29 Feb 2024|29 February 24|13:05:09 01PM|060|2024-02-29 13:05:09|29|%|%Q|"
        );
        // 1969-12-31T23:59:59Z, before the epoch; 2000-03-01 after a 400-year leap day.
        let d = DateTime::from_unix(-1);
        assert_eq!(d.format("%F %T %a"), "1969-12-31 23:59:59 Wed");
        assert_eq!(
            DateTime::from_unix(951_868_800).format("%F %a %j"),
            "2000-03-01 Wed 061"
        );
        assert_eq!(
            DateTime::from_unix(1_721_952_000).format("%d %b %Y"),
            "26 Jul 2024"
        );
    }

    #[test]
    fn every_day_round_trips_through_weekday_and_day_of_year() {
        let mut expected_weekday = 3; // 1970-01-01 is a Thursday
        let mut prev = DateTime::from_unix(-86_400);
        for day in 0..(366 * 450) {
            let d = DateTime::from_unix(day * 86_400);
            assert_eq!(d.weekday(), expected_weekday, "{d:?}");
            expected_weekday = (expected_weekday + 1) % 7;
            if d.year == prev.year {
                assert_eq!(d.day_of_year(), prev.day_of_year() + 1);
            } else {
                assert_eq!((d.month, d.day, d.day_of_year()), (1, 1, 1));
            }
            assert!(d.day <= days_in_month(d.year, d.month));
            prev = d;
        }
    }
}
