//! Document metadata beyond title and author (PDF Info dictionary): subject, keywords, dates, producer.
//! PDF dates (`D:YYYYMMDDHHmmSSOHH'mm'`) become ISO 8601 strings so that front ends need not parse them.

/// Subject, keywords, dates and producer of a document; every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct DocInfo {
    pub subject: Option<String>,
    pub keywords: Option<String>,
    /// ISO 8601 where the date parses, else the raw value.
    pub created: Option<String>,
    /// As `created`.
    pub modified: Option<String>,
    pub producer: Option<String>,
}

/// Trim whitespace and NULs; `None` for what is left empty.
pub(crate) fn clean(s: &str) -> Option<String> {
    let s = s.trim_matches(|c: char| c.is_whitespace() || c == '\0');
    (!s.is_empty()).then(|| s.to_string())
}

/// A PDF date as ISO 8601 (`2023-04-05T06:07:08+02:00`; only the date when no time is given), or the
/// trimmed raw value when it is not a PDF date. Fields past the year are optional (PDF 1.7, 7.9.4).
pub(crate) fn iso_date(raw: &str) -> Option<String> {
    let raw = clean(raw)?;
    Some(parse_pdf_date(&raw).unwrap_or(raw))
}

fn parse_pdf_date(raw: &str) -> Option<String> {
    let s = raw.strip_prefix("D:").unwrap_or(raw);
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    if digits < 4 || digits % 2 != 0 || digits > 14 {
        return None;
    }
    let num = |at: usize, default: u32| -> Option<u32> {
        if at + 2 <= digits {
            s.get(at..at + 2)?.parse().ok()
        } else {
            Some(default)
        }
    };
    let year: u32 = s.get(0..4)?.parse().ok()?;
    let (month, day) = (num(4, 1)?, num(6, 1)?);
    let (hour, minute, second) = (num(8, 0)?, num(10, 0)?, num(12, 0)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let date = format!("{year:04}-{month:02}-{day:02}");
    if digits <= 8 {
        return Some(date);
    }
    let zone = zone(s.get(digits..)?)?;
    Some(format!("{date}T{hour:02}:{minute:02}:{second:02}{zone}"))
}

/// The time-zone suffix: `Z`, `+HH'mm'` (apostrophes optional), or nothing (local time, left unmarked).
fn zone(rest: &str) -> Option<String> {
    let rest = rest.trim_end_matches('\'');
    let Some(sign) = rest.chars().next() else { return Some(String::new()) };
    match sign {
        'Z' | 'z' => Some("Z".into()),
        '+' | '-' => {
            let nums: String = rest[1..].chars().filter(char::is_ascii_digit).collect();
            let hours: u32 = nums.get(0..2)?.parse().ok()?;
            let minutes: u32 = nums.get(2..4).map_or(Some(0), |m| m.parse().ok())?;
            if hours > 23 || minutes > 59 {
                return None;
            }
            if hours == 0 && minutes == 0 {
                return Some("Z".into());
            }
            Some(format!("{sign}{hours:02}:{minutes:02}"))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pdf_dates_become_iso_8601() {
        assert_eq!(iso_date("D:20230405060708+02'00'").as_deref(), Some("2023-04-05T06:07:08+02:00"));
        assert_eq!(iso_date("D:20230405060708-05'30").as_deref(), Some("2023-04-05T06:07:08-05:30"));
        assert_eq!(iso_date("D:20230405060708Z00'00'").as_deref(), Some("2023-04-05T06:07:08Z"));
        assert_eq!(iso_date("D:20230405060708").as_deref(), Some("2023-04-05T06:07:08"));
        assert_eq!(iso_date("D:202304").as_deref(), Some("2023-04-01"));
        assert_eq!(iso_date("20230405").as_deref(), Some("2023-04-05"));
        assert_eq!(iso_date("last Tuesday").as_deref(), Some("last Tuesday"));
        assert_eq!(iso_date("D:20231399").as_deref(), Some("D:20231399"));
        assert_eq!(iso_date("  "), None);
    }
}
