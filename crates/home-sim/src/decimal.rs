//! Plain decimal numbers (`12`, `-0.25`, `2000.5`) read into `f64`.
//!
//! The simulation's numbers come from people (a rate typed in a form, a
//! speed picked from a list) and from links it wrote itself, never in
//! exponent form. Reading them here rather than with `str::parse::<f64>`
//! keeps the general float parser and its 11 kB table of powers of five out
//! of the dashboard's wasm (about 10 kB gzipped).
//!
//! The result is exactly what `str::parse` gives for every text this
//! accepts: at most 15 significant digits make an integer below 2⁵³, which,
//! divided by a power of ten up to 10²², is one correctly rounded operation
//! on two exact values. `f64`'s `Display` writes every value the
//! simulation holds back in that form, so a link round-trips exactly.

/// Most significant digits read: below 2⁵³ (≈ 9.007 × 10¹⁵), so exact.
const MAX_DIGITS: u32 = 15;

/// Reads `[-+]digits[.digits]` (surrounding spaces allowed; `.5` and `5.`
/// too). `None` for anything else: an exponent, `inf`, `NaN`, more than 15
/// significant digits, or no digits at all.
pub fn parse(text: &str) -> Option<f64> {
    let text = text.trim();
    let (negative, rest) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (whole, fraction) = rest.split_once('.').unwrap_or((rest, ""));
    // Trailing zeros of the fraction change nothing (`2.50` is `2.5`).
    let fraction =
        if whole.is_empty() && fraction.bytes().all(|b| b == b'0') { fraction } else { fraction.trim_end_matches('0') };
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    let (mut mantissa, mut significant) = (0u64, 0u32);
    for byte in whole.bytes().chain(fraction.bytes()) {
        if !byte.is_ascii_digit() {
            return None;
        }
        if mantissa > 0 || byte != b'0' {
            significant += 1;
        }
        mantissa = mantissa * 10 + u64::from(byte - b'0');
        if significant > MAX_DIGITS {
            return None;
        }
    }
    let scale = i32::try_from(fraction.len()).ok().filter(|&n| n <= 22)?;
    let value = mantissa as f64 / 10f64.powi(scale);
    Some(if negative { -value } else { value })
}

#[cfg(test)]
mod tests {
    use super::parse;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test(unsupported = test)]
    fn reads_what_people_type_and_what_links_carry() {
        for (text, want) in [
            ("12", 12.0),
            ("-0.25", -0.25),
            (" 2000.5 ", 2000.5),
            (".5", 0.5),
            ("5.", 5.0),
            ("+3", 3.0),
            ("0", 0.0),
            ("0.50000000000000000", 0.5),
            (".0", 0.0),
        ] {
            assert_eq!(parse(text), Some(want), "{text}");
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn refuses_what_is_not_a_plain_decimal() {
        for text in ["", "-", ".", "1e3", "inf", "NaN", "1.2.3", "1,5", "0x10", "--1", "1234567890123456"] {
            assert_eq!(parse(text), None, "{text:?}");
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn agrees_with_the_standard_parser_bit_for_bit() {
        // Every value Display writes with up to 15 significant digits, from
        // tidy ones to the awkward ones that are not exact in binary.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for step in 0..20_000u64 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let digits = 1 + (step % 15) as u32;
            let mantissa = state % 10u64.pow(digits);
            let scale = (state >> 40) % 12;
            let value = mantissa as f64 / 10f64.powi(scale as i32);
            let text = value.to_string();
            let want: f64 = text.parse().expect("Display writes a number");
            assert_eq!(parse(&text).map(f64::to_bits), Some(want.to_bits()), "{text}");
        }
        for text in ["0.1", "0.3", "0.7", "2.675", "1.005", "123456.789012345", "999999999999999", "0.000000000000001"]
        {
            let want = text.parse::<f64>().expect("a number");
            assert_eq!(parse(text).map(f64::to_bits), Some(want.to_bits()), "{text}");
        }
    }
}
