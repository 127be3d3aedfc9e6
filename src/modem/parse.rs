//! Pure parsers for the information lines the driver reads (+CSQ, +COPS, +CPMS, +CMGL/+CMGR
//! headers, +CREG, +CPIN). Tolerant of the vendor variants in at-modem.md section 8: spaces,
//! missing quotes, empty fields.

/// Splits the fields after `prefix:` on commas outside quotes, trims them and drops the quotes.
pub fn fields<'a>(line: &'a str, prefix: &str) -> Option<Vec<&'a str>> {
    let rest = line.strip_prefix(prefix)?.trim_start();
    let rest = rest.strip_prefix(':')?.trim();
    let mut out = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    for (i, c) in rest.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.push(unquote(&rest[start..i]));
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(unquote(&rest[start..]));
    Some(out)
}

fn unquote(s: &str) -> &str {
    let s = s.trim();
    s.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(s)
}

/// +CSQ: <rssi>,<ber> -> rssi 0..31, None for 99 (unknown).
pub fn csq(line: &str) -> Option<Option<u8>> {
    let f = fields(line, "+CSQ")?;
    let rssi: u8 = f.first()?.parse().ok()?;
    Some(if rssi <= 31 { Some(rssi) } else { None })
}

/// Signal bars 0-5 from the CSQ rssi, as a phone shows them.
pub fn bars(rssi: Option<u8>) -> u8 {
    match rssi {
        None | Some(0..=1) => 0,
        Some(2..=9) => 1,
        Some(10..=14) => 2,
        Some(15..=19) => 3,
        Some(20..=24) => 4,
        Some(_) => 5,
    }
}

/// +COPS: 0,0,"CHINA MOBILE",7 -> the operator name.
pub fn cops(line: &str) -> Option<String> {
    let f = fields(line, "+COPS")?;
    f.get(2).filter(|s| !s.is_empty()).map(|s| s.to_string())
}

/// +CREG: <n>,<stat>[,...] (response form) -> stat.
pub fn creg_stat(line: &str) -> Option<u8> {
    let prefix = ["+CREG", "+CGREG", "+CEREG"]
        .into_iter()
        .find(|p| line.starts_with(p))?;
    let f = fields(line, prefix)?;
    // The response has <n> first; a URC form (one field, or a quoted LAC second) has stat first.
    let stat = if f.len() >= 2 && !f[1].is_empty() && f[1].chars().all(|c| c.is_ascii_digit()) {
        f[1]
    } else {
        f[0]
    };
    stat.parse().ok()
}

pub fn registration_name(stat: u8) -> &'static str {
    match stat {
        0 => "not registered",
        1 => "home",
        2 => "searching",
        3 => "denied",
        5 => "roaming",
        _ => "unknown",
    }
}

/// +CPMS: <used1>,<total1>,... (set form) or +CPMS: "SM",<used>,<total>,... (query form).
pub fn cpms(line: &str) -> Option<(u32, u32)> {
    let f = fields(line, "+CPMS")?;
    let nums: Vec<u32> = f.iter().filter_map(|s| s.parse().ok()).collect();
    Some((*nums.first()?, *nums.get(1)?))
}

/// +CMGL: <index>,<stat>,[<alpha>],<length> -> index.
pub fn cmgl_index(line: &str) -> Option<u32> {
    fields(line, "+CMGL")?.first()?.parse().ok()
}

/// +CPIN: READY / SIM PIN / ...
pub fn cpin(line: &str) -> Option<String> {
    Some(line.strip_prefix("+CPIN:")?.trim().to_string())
}

/// +CMGS: <mr>
pub fn cmgs(line: &str) -> Option<u8> {
    let f = fields(line, "+CMGS")?;
    let mr: u16 = f.first()?.parse().ok()?;
    Some((mr % 256) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_variants() {
        assert_eq!(csq("+CSQ: 20,99"), Some(Some(20)));
        assert_eq!(csq("+CSQ: 99,99"), Some(None));
        assert_eq!(
            cops("+COPS: 0,0,\"CHINA MOBILE\",7").as_deref(),
            Some("CHINA MOBILE")
        );
        assert_eq!(cops("+COPS: 0"), None);
        assert_eq!(creg_stat("+CREG: 2,1,\"1A2B\",\"00C3\""), Some(1));
        assert_eq!(creg_stat("+CREG: 0,5"), Some(5));
        assert_eq!(creg_stat("+CREG: 1,\"1A2B\",\"00C3\""), Some(1));
        assert_eq!(creg_stat("+CREG: 2, 1, 1A2B, 00C3"), Some(1));
        assert_eq!(cpms("+CPMS: 3,30,3,30,3,30"), Some((3, 30)));
        assert_eq!(
            cpms("+CPMS: \"SM\",3,30,\"SM\",3,30,\"SM\",3,30"),
            Some((3, 30))
        );
        assert_eq!(cmgl_index("+CMGL: 12,0,,23"), Some(12));
        assert_eq!(cmgl_index("+CMGL: 1,1,\"\",40"), Some(1));
        assert_eq!(cpin("+CPIN: SIM PIN").as_deref(), Some("SIM PIN"));
        assert_eq!(cmgs("+CMGS: 44"), Some(44));
        assert_eq!(bars(Some(31)), 5);
        assert_eq!(bars(None), 0);
    }

    #[test]
    fn garbage_is_none() {
        assert_eq!(csq("+CSQ"), None);
        assert_eq!(cmgl_index("+CMGL: x"), None);
        assert_eq!(cpms("+CPMS: "), None);
    }
}
