//! `--max-size` values: bytes with an optional binary suffix, or a media name.

use glassmaster::BLOCK_SIZE_U64;

/// Parses a size (`734003200`, `700M`, `4.3G`, `dvd5`) into whole 2048-byte blocks (rounded
/// down). Suffixes `K`, `M`, `G`, `T` (or `KiB`, ...) are binary (powers of 1024).
pub fn parse_max_size(s: &str) -> Result<u64, String> {
    let t = s.trim().to_ascii_lowercase();
    if t.is_empty() {
        return Err("empty size".into());
    }
    // Media capacities live in the library (`glassmaster::span::MEDIA`).
    if let Some(blocks) = glassmaster::span::media_blocks(&t) {
        return Ok(blocks);
    }
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, suffix) = t.split_at(split);
    let multiplier: u64 = match suffix.trim() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "t" | "tib" => 1 << 40,
        other => {
            return Err(format!(
                "unknown size suffix {other:?} in {s:?} (use bytes, K, M, G or T (powers of 1024), \
                 or a medium: cd74, cd80, dvd5, dvd9, bd25, bd50)"
            ))
        }
    };
    let bytes = scale(number, multiplier).map_err(|why| format!("invalid size {s:?}: {why}"))?;
    let blocks = bytes / BLOCK_SIZE_U64;
    if blocks == 0 {
        return Err(format!(
            "size {s:?} is smaller than one {BLOCK_SIZE_U64}-byte block"
        ));
    }
    Ok(blocks)
}

/// `number * multiplier` where `number` may have a decimal fraction; rounded down.
fn scale(number: &str, multiplier: u64) -> Result<u64, &'static str> {
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    if int.is_empty() && frac.is_empty() {
        return Err("no number");
    }
    if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err("not a number");
    }
    if !frac.is_empty() && multiplier == 1 {
        return Err("a byte count must be a whole number");
    }
    let int: u128 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| "too large")?
    };
    let mut total = int.checked_mul(u128::from(multiplier)).ok_or("too large")?;
    // At most 18 fraction digits matter for a 2^40 multiplier; the rest only round down.
    let frac = &frac[..frac.len().min(18)];
    if !frac.is_empty() {
        let digits: u128 = frac.parse().map_err(|_| "not a number")?;
        total += digits * u128::from(multiplier) / 10u128.pow(frac.len() as u32);
    }
    u64::try_from(total).map_err(|_| "too large")
}

#[cfg(test)]
mod tests {
    use super::parse_max_size as p;

    #[test]
    fn bytes_round_down_to_blocks() {
        assert_eq!(p("2048"), Ok(1));
        assert_eq!(p("4095"), Ok(1));
        assert_eq!(p("4096"), Ok(2));
        assert_eq!(p(" 681984000 "), Ok(333_000));
        assert_eq!(p("2048b"), Ok(1));
    }

    #[test]
    fn binary_suffixes() {
        assert_eq!(p("2K"), Ok(1));
        assert_eq!(p("2k"), Ok(1));
        assert_eq!(p("1M"), Ok(512));
        assert_eq!(p("1MiB"), Ok(512));
        assert_eq!(p("1G"), Ok(524_288));
        assert_eq!(p("1T"), Ok(536_870_912));
        assert_eq!(p("700M"), Ok(358_400));
        assert_eq!(p("4.5G"), Ok(2_359_296));
        assert_eq!(p(".5M"), Ok(256));
        assert_eq!(p("1.0000000000000000000001M"), Ok(512));
        assert_eq!(p("3 G"), Ok(3 * 524_288));
    }

    #[test]
    fn media_names() {
        assert_eq!(p("cd74"), Ok(333_000));
        assert_eq!(p("cd80"), Ok(360_000));
        assert_eq!(p("DVD5"), Ok(2_295_104));
        assert_eq!(p("dvd9"), Ok(4_173_824));
        assert_eq!(p("bd25"), Ok(12_219_392));
        assert_eq!(p("Bd50"), Ok(24_438_784));
    }

    #[test]
    fn rejects_bad_values() {
        for bad in [
            "", "  ", "0", "2047", "1K", "1.5K", "abc", "1X", "12KB", "-1", "1.2.3M", "1.5", ".",
            "M",
        ] {
            assert!(p(bad).is_err(), "{bad:?} should be rejected");
        }
        assert!(p("99999999999999999999999999999999999999999T").is_err());
        assert!(p("20000000T").is_err(), "more than u64 bytes");
        assert!(p("1K").unwrap_err().contains("smaller than one"));
        assert!(p("3X").unwrap_err().contains("unknown size suffix"));
    }
}
