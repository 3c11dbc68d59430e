//! DynamoDB's `N` type as an exact decimal.
//!
//! A [`Number`] is `sign × coefficient × 10^exponent` with a coefficient of at most 38
//! decimal digits, kept normalised (no trailing zeros in the coefficient, one zero) so that
//! numerically equal spellings (`"1"`, `"1.0"`, `"10E-1"`, `"-0"`) have one representation
//! and the derived `Eq`/`Hash` are numeric. Parsing, comparison, [`Number::checked_add`] and
//! [`Number::checked_sub`] are exact; nothing here ever goes through `f64`.
//!
//! DynamoDB's limits: at most 38 significant digits, magnitude between `1E-130` and
//! `9.9999999999999999999999999999999999999E+125` (or zero). The checks run in the order
//! DynamoDB (and dynalite, which mirrors it) reports them: syntax, overflow, underflow,
//! then the digit count.
//!
//! This module depends on nothing but `std` and `thiserror`.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// The most significant digits a DynamoDB number may carry.
pub const MAX_DIGITS: usize = 38;
/// The largest allowed power of ten of the leading digit (`9.99…E+125`).
pub const MAX_ADJUSTED_EXPONENT: i32 = 125;
/// The smallest allowed power of ten of the leading digit (`1E-130`).
pub const MIN_ADJUSTED_EXPONENT: i32 = -130;

/// Why a string or a computation did not yield a valid DynamoDB number.
///
/// `Display` is the exact `ValidationException` message DynamoDB returns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    /// Not a decimal number (empty, letters, `NaN`, `Infinity`, hex, stray spaces, ...), with
    /// the text given. DynamoDB's message quotes a non-empty text after a colon (recorded from
    /// DynamoDB by SDK users: "The parameter cannot be converted to a numeric value: NaN").
    #[error("The parameter cannot be converted to a numeric value{}", quoted_text(.0))]
    Invalid(String),
    /// More than 38 significant digits (leading and trailing zeros do not count).
    #[error("Attempting to store more than 38 significant digits in a Number")]
    TooManyDigits,
    /// Magnitude above `9.99…E+125`.
    #[error(
        "Number overflow. Attempting to store a number with magnitude larger than supported range"
    )]
    Overflow,
    /// Non-zero magnitude below `1E-130`.
    #[error(
        "Number underflow. Attempting to store a number with magnitude smaller than supported range"
    )]
    Underflow,
}

/// `: text`, or nothing for an empty text (DynamoDB then ends the message at "value").
fn quoted_text(text: &str) -> String {
    if text.is_empty() {
        String::new()
    } else {
        format!(": {text}")
    }
}

/// An exact DynamoDB number; see the module docs for its invariants.
///
/// ```
/// use binderdb_model::Number;
/// let a = Number::parse("10E-1").unwrap();
/// assert_eq!(a, Number::parse("1.0").unwrap());
/// assert_eq!(a.to_string(), "1");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Number {
    /// True only for values below zero (zero is never negative).
    negative: bool,
    /// The significant digits; no trailing zeros unless the value is zero.
    coefficient: u128,
    /// Power of ten of the coefficient's last digit (0 for zero).
    exponent: i32,
    /// Count of decimal digits in `coefficient` (1 for zero).
    digits: u8,
}

/// 10^n for n in 0..=38.
fn pow10(n: u32) -> u128 {
    10u128.pow(n)
}

/// Consumes an optional `+`/`-` at `bytes[*i]`; true for `-`.
fn take_sign(bytes: &[u8], i: &mut usize) -> bool {
    match bytes.get(*i) {
        Some(b'-') => {
            *i += 1;
            true
        }
        Some(b'+') => {
            *i += 1;
            false
        }
        _ => false,
    }
}

/// Decimal digit count of `c` (1 for 0).
fn digit_count(mut c: u128) -> u8 {
    let mut n = 1;
    while c >= 10 {
        c /= 10;
        n += 1;
    }
    n
}

impl Number {
    /// Parses DynamoDB's textual number form.
    ///
    /// Accepts an optional sign, digits with an optional fraction (`"5."`, `".5"`), and an
    /// optional `e`/`E` exponent with an optional sign. Leading and trailing zeros are not
    /// significant. Rejects empty strings, whitespace, `NaN`, `Infinity` and hex.
    ///
    /// # Errors
    /// [`NumberError::Invalid`] for bad syntax, then [`NumberError::Overflow`],
    /// [`NumberError::Underflow`] and [`NumberError::TooManyDigits`], in that order.
    pub fn parse(s: &str) -> Result<Number, NumberError> {
        let bytes = s.as_bytes();
        let mut i = 0;
        let negative = take_sign(bytes, &mut i);
        // Mantissa digits, integer part then fraction; remember where the point sits.
        let mantissa_start = i;
        let mut int_len = 0usize;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
            int_len += 1;
        }
        let mut frac_len = 0usize;
        if i < bytes.len() && bytes[i] == b'.' {
            i += 1;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
                frac_len += 1;
            }
        }
        if int_len + frac_len == 0 {
            return Err(NumberError::Invalid(s.to_owned()));
        }
        let mantissa_end = i;
        let mut exp10: i64 = 0;
        if i < bytes.len() && (bytes[i] == b'e' || bytes[i] == b'E') {
            i += 1;
            let exp_negative = take_sign(bytes, &mut i);
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                // Saturate: anything this large is out of range whatever the mantissa.
                exp10 = (exp10 * 10 + i64::from(bytes[i] - b'0')).min(1_000_000_000_000);
                i += 1;
            }
            if i == start {
                return Err(NumberError::Invalid(s.to_owned()));
            }
            if exp_negative {
                exp10 = -exp10;
            }
        }
        if i != bytes.len() {
            return Err(NumberError::Invalid(s.to_owned()));
        }
        let digits = bytes[mantissa_start..mantissa_end]
            .iter()
            .copied()
            .filter(u8::is_ascii_digit);
        // Position (index among mantissa digits) of the first and last non-zero digits.
        let mut first = None;
        let mut last = 0usize;
        for (k, d) in digits.clone().enumerate() {
            if d != b'0' {
                first.get_or_insert(k);
                last = k;
            }
        }
        let Some(first) = first else {
            return Ok(Number::zero());
        };
        let sig = last - first + 1;
        // Power of ten of the leading significant digit.
        let adjusted = int_len as i64 - 1 - first as i64 + exp10;
        Self::check_range(adjusted, sig)?;
        let mut coefficient: u128 = 0;
        for d in digits.skip(first).take(sig) {
            coefficient = coefficient * 10 + u128::from(d - b'0');
        }
        Ok(Number {
            negative,
            coefficient,
            exponent: (adjusted - (sig as i64 - 1)) as i32,
            digits: sig as u8,
        })
    }

    /// DynamoDB's range and precision checks, in DynamoDB's order.
    fn check_range(adjusted: i64, sig: usize) -> Result<(), NumberError> {
        if adjusted > i64::from(MAX_ADJUSTED_EXPONENT) {
            Err(NumberError::Overflow)
        } else if adjusted < i64::from(MIN_ADJUSTED_EXPONENT) {
            Err(NumberError::Underflow)
        } else if sig > MAX_DIGITS {
            Err(NumberError::TooManyDigits)
        } else {
            Ok(())
        }
    }

    /// Builds a number from parts, normalising and range-checking them.
    ///
    /// `coefficient` may have trailing zeros and any number of digits up to 38 after they
    /// are stripped.
    ///
    /// # Errors
    /// The same range errors as [`Number::parse`].
    pub fn from_parts(
        negative: bool,
        coefficient: u128,
        exponent: i32,
    ) -> Result<Number, NumberError> {
        if coefficient == 0 {
            return Ok(Number::zero());
        }
        let mut c = coefficient;
        let mut e = i64::from(exponent);
        while c % 10 == 0 {
            c /= 10;
            e += 1;
        }
        let digits = digit_count(c);
        Self::check_range(e + i64::from(digits) - 1, usize::from(digits))?;
        Ok(Number {
            negative,
            coefficient: c,
            exponent: e as i32,
            digits,
        })
    }

    /// The number zero.
    pub fn zero() -> Number {
        Number {
            negative: false,
            coefficient: 0,
            exponent: 0,
            digits: 1,
        }
    }

    /// True for values below zero; `-0` parses to zero, which is not negative.
    pub fn is_negative(&self) -> bool {
        self.negative
    }

    /// True for zero.
    pub fn is_zero(&self) -> bool {
        self.coefficient == 0
    }

    /// Significant digits, leading and trailing zeros excluded; zero counts as one digit
    /// (its single `0`), as in DynamoDB's size rules.
    pub fn significant_digits(&self) -> usize {
        usize::from(self.digits)
    }

    /// The significant digits as an integer (no trailing zeros; 0 for zero).
    pub fn coefficient(&self) -> u128 {
        self.coefficient
    }

    /// Power of ten of the coefficient's last digit: `self == ±coefficient × 10^exponent`.
    pub fn exponent(&self) -> i32 {
        self.exponent
    }

    /// Power of ten of the leading digit (`"123.4"` → 2); 0 for zero.
    pub fn adjusted_exponent(&self) -> i32 {
        self.exponent + i32::from(self.digits) - 1
    }

    /// The same magnitude with the opposite sign (zero stays zero).
    pub fn negated(&self) -> Number {
        let mut n = self.clone();
        n.negative = !n.is_zero() && !n.negative;
        n
    }

    /// Exact `self + other`.
    ///
    /// # Errors
    /// [`NumberError::Overflow`] / [`NumberError::Underflow`] when the exact result leaves
    /// DynamoDB's range, [`NumberError::TooManyDigits`] when it needs more than 38 digits
    /// (DynamoDB never rounds).
    pub fn checked_add(&self, other: &Number) -> Result<Number, NumberError> {
        if other.is_zero() {
            return Ok(self.clone());
        }
        if self.is_zero() {
            return Ok(other.clone());
        }
        let low = self.exponent.min(other.exponent);
        let high = self.adjusted_exponent().max(other.adjusted_exponent());
        // Digits of both operands aligned at `low`, plus one for a carry. Past this width
        // the operands do not overlap and the exact result cannot fit in 38 digits.
        let width = (high - low + 2) as usize;
        if width > 2 * MAX_DIGITS + 4 {
            return Err(NumberError::TooManyDigits);
        }
        let a = Digits::aligned(self, low, width);
        let b = Digits::aligned(other, low, width);
        let (negative, magnitude) = if self.negative == other.negative {
            (self.negative, a.add(&b))
        } else {
            match a.cmp_magnitude(&b) {
                Ordering::Equal => return Ok(Number::zero()),
                Ordering::Greater => (self.negative, a.sub(&b)),
                Ordering::Less => (other.negative, b.sub(&a)),
            }
        };
        magnitude.into_number(negative, low)
    }

    /// Exact `self - other`.
    ///
    /// # Errors
    /// As for [`Number::checked_add`].
    pub fn checked_sub(&self, other: &Number) -> Result<Number, NumberError> {
        self.checked_add(&other.negated())
    }

    /// Compares magnitudes, ignoring signs.
    fn cmp_magnitude(&self, other: &Number) -> Ordering {
        match (self.is_zero(), other.is_zero()) {
            (true, true) => return Ordering::Equal,
            (true, false) => return Ordering::Less,
            (false, true) => return Ordering::Greater,
            (false, false) => {}
        }
        self.adjusted_exponent()
            .cmp(&other.adjusted_exponent())
            .then_with(|| {
                // Left-align both coefficients to 38 digits; both stay below 10^38.
                let a = self.coefficient * pow10(MAX_DIGITS as u32 - u32::from(self.digits));
                let b = other.coefficient * pow10(MAX_DIGITS as u32 - u32::from(other.digits));
                a.cmp(&b)
            })
    }

    /// The significant digits as ASCII (`"0"` for zero).
    pub fn digit_string(&self) -> String {
        self.coefficient.to_string()
    }
}

/// Little-endian decimal digits used by exact addition (at most ~80 of them).
struct Digits(Vec<u8>);

impl Digits {
    /// `n`'s magnitude as digits where index 0 has weight 10^`low`.
    fn aligned(n: &Number, low: i32, width: usize) -> Digits {
        let mut v = vec![0u8; width];
        let mut c = n.coefficient;
        let mut k = (n.exponent - low) as usize;
        while c > 0 {
            if let Some(slot) = v.get_mut(k) {
                *slot = (c % 10) as u8;
            }
            c /= 10;
            k += 1;
        }
        Digits(v)
    }

    fn add(&self, other: &Digits) -> Digits {
        let mut carry = 0u8;
        let v = self
            .0
            .iter()
            .zip(&other.0)
            .map(|(a, b)| {
                let s = a + b + carry;
                carry = s / 10;
                s % 10
            })
            .collect();
        Digits(v)
    }

    /// `self - other`, requiring `self >= other`.
    fn sub(&self, other: &Digits) -> Digits {
        let mut borrow = 0i8;
        let v = self
            .0
            .iter()
            .zip(&other.0)
            .map(|(a, b)| {
                let mut d = *a as i8 - *b as i8 - borrow;
                borrow = 0;
                if d < 0 {
                    d += 10;
                    borrow = 1;
                }
                d as u8
            })
            .collect();
        Digits(v)
    }

    fn cmp_magnitude(&self, other: &Digits) -> Ordering {
        self.0.iter().rev().cmp(other.0.iter().rev())
    }

    /// Normalises and range-checks the digits (weight of index 0 is 10^`low`).
    fn into_number(self, negative: bool, low: i32) -> Result<Number, NumberError> {
        let Some(top) = self.0.iter().rposition(|d| *d != 0) else {
            return Ok(Number::zero());
        };
        let bottom = self.0.iter().position(|d| *d != 0).unwrap_or(top);
        let sig = top - bottom + 1;
        Number::check_range(i64::from(low) + top as i64, sig)?;
        let coefficient = self.0[bottom..=top]
            .iter()
            .rev()
            .fold(0u128, |c, d| c * 10 + u128::from(*d));
        Ok(Number {
            negative,
            coefficient,
            exponent: low + bottom as i32,
            digits: sig as u8,
        })
    }
}

impl PartialOrd for Number {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Number {
    /// Exact numeric order.
    fn cmp(&self, other: &Self) -> Ordering {
        match (self.negative, other.negative) {
            (false, true) => Ordering::Greater,
            (true, false) => Ordering::Less,
            (false, false) => self.cmp_magnitude(other),
            (true, true) => other.cmp_magnitude(self),
        }
    }
}

impl fmt::Display for Number {
    /// DynamoDB's output form: plain decimal notation, no exponent, no trailing fractional
    /// zeros, no `+`, zero as `"0"` (`"1e3"` → `"1000"`, `"1E-5"` → `"0.00001"`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.digit_string();
        let mut out = String::with_capacity(digits.len() + 8);
        if self.negative {
            out.push('-');
        }
        if self.exponent >= 0 {
            out.push_str(&digits);
            if !self.is_zero() {
                out.extend(std::iter::repeat_n('0', self.exponent as usize));
            }
        } else {
            let frac = self.exponent.unsigned_abs() as usize;
            if frac < digits.len() {
                let (int_part, frac_part) = digits.split_at(digits.len() - frac);
                out.push_str(int_part);
                out.push('.');
                out.push_str(frac_part);
            } else {
                out.push_str("0.");
                out.extend(std::iter::repeat_n('0', frac - digits.len()));
                out.push_str(&digits);
            }
        }
        f.write_str(&out)
    }
}

impl FromStr for Number {
    type Err = NumberError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Number::parse(s)
    }
}

impl From<i64> for Number {
    fn from(v: i64) -> Self {
        let mut n = Number::from(v.unsigned_abs());
        n.negative = v < 0;
        n
    }
}

impl From<u64> for Number {
    fn from(v: u64) -> Self {
        // 20 digits at most, far inside the range: normalisation cannot fail.
        Number::from_parts(false, u128::from(v), 0).unwrap_or_else(|_| Number::zero())
    }
}

impl serde::Serialize for Number {
    /// Serialises as DynamoDB's string form (the `Display` output).
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Number {
        Number::parse(s).unwrap()
    }

    #[test]
    fn display_normalises() {
        for (input, shown) in [
            ("1.0", "1"),
            ("10E-1", "1"),
            ("1e3", "1000"),
            ("0.010", "0.01"),
            ("1E-5", "0.00001"),
            ("-0", "0"),
            ("-0.0e7", "0"),
            ("+5", "5"),
            (".5", "0.5"),
            ("5.", "5"),
            ("-123.4500", "-123.45"),
            ("000123", "123"),
            ("1E+2", "100"),
            ("0.1e1", "1"),
        ] {
            assert_eq!(n(input).to_string(), shown, "{input}");
        }
    }

    #[test]
    fn invalid_text_is_quoted_in_dynamodbs_words() {
        let message = |s: &str| Number::parse(s).unwrap_err().to_string();
        assert_eq!(
            message("NaN"),
            "The parameter cannot be converted to a numeric value: NaN"
        );
        assert_eq!(
            message(" 1"),
            "The parameter cannot be converted to a numeric value:  1"
        );
        assert_eq!(
            message(""),
            "The parameter cannot be converted to a numeric value"
        );
    }

    #[test]
    fn rejects_bad_syntax() {
        for bad in [
            "", "abc", "1e", "--1", " 1", "1 ", "Infinity", "NaN", "0x10", ".", "-", "1e+",
            "1.2.3", "e5", "1e5.0", "+-1", "1_000",
        ] {
            assert_eq!(
                Number::parse(bad),
                Err(NumberError::Invalid(bad.to_owned())),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn range_and_digit_limits() {
        assert_eq!(Number::parse("1e126"), Err(NumberError::Overflow));
        assert_eq!(Number::parse("-1e126"), Err(NumberError::Overflow));
        assert_eq!(Number::parse("1e-131"), Err(NumberError::Underflow));
        assert_eq!(Number::parse("-1e-131"), Err(NumberError::Underflow));
        assert_eq!(
            Number::parse("1e99999999999999999999"),
            Err(NumberError::Overflow)
        );
        assert_eq!(
            Number::parse("1e-99999999999999999999"),
            Err(NumberError::Underflow)
        );
        assert_eq!(n("0e99999999999999999999"), Number::zero());
        assert!(Number::parse("1e-130").is_ok());
        assert!(Number::parse("9.9999999999999999999999999999999999999e125").is_ok());
        assert_eq!(
            Number::parse("123456789012345678901234567890123456789"),
            Err(NumberError::TooManyDigits)
        );
        assert_eq!(
            Number::parse("-1.23456789012345678901234567890123456789"),
            Err(NumberError::TooManyDigits)
        );
        // Overflow is reported before the digit count.
        assert_eq!(
            Number::parse("1.23456789012345678901234567890123456789e200"),
            Err(NumberError::Overflow)
        );
        // Leading and trailing zeros are not significant.
        assert!(Number::parse("0000.12345678901234567890123456789012345678000000").is_ok());
    }

    #[test]
    fn equality_and_order() {
        assert_eq!(n("1"), n("1.0"));
        assert_eq!(n("1"), n("10E-1"));
        assert_eq!(n("-0"), n("0"));
        assert!(n("-1") < n("0"));
        assert!(n("-2") < n("-1"));
        assert!(n("0.5") < n("1"));
        assert!(n("99") < n("100"));
        assert!(n("1.05") > n("1"));
        assert!(n("-1.05") < n("-1"));
    }

    #[test]
    fn arithmetic() {
        assert_eq!(n("1").checked_add(&n("2")).unwrap(), n("3"));
        assert_eq!(n("0.1").checked_add(&n("0.2")).unwrap(), n("0.3"));
        assert_eq!(n("5").checked_sub(&n("7")).unwrap(), n("-2"));
        assert_eq!(n("-5").checked_add(&n("5")).unwrap(), Number::zero());
        assert_eq!(n("1000").checked_sub(&n("999.9")).unwrap(), n("0.1"));
        assert_eq!(
            n("9.9999999999999999999999999999999999999e125").checked_add(&n("1e125")),
            Err(NumberError::Overflow)
        );
        assert_eq!(
            n("1e125").checked_add(&n("1e-130")),
            Err(NumberError::TooManyDigits)
        );
        assert_eq!(
            n("99999999999999999999999999999999999999")
                .checked_add(&n("1"))
                .unwrap(),
            n("1e38")
        );
        assert_eq!(n("1e-130").checked_sub(&n("2e-130")).unwrap(), n("-1e-130"));
        assert_eq!(
            n("1.5e-130").checked_sub(&n("1.4e-130")),
            Err(NumberError::Underflow)
        );
    }

    #[test]
    fn conversions() {
        assert_eq!(Number::from(-120i64).to_string(), "-120");
        assert_eq!(Number::from(0i64), Number::zero());
        assert_eq!(Number::from(u64::MAX).to_string(), u64::MAX.to_string());
        assert_eq!(n("123.4").adjusted_exponent(), 2);
        assert_eq!(n("0").significant_digits(), 1);
        assert_eq!(n("120").significant_digits(), 2);
    }
}
