//! Rounding once, at output, in the direction the spec gives (margin.md, collateral.md): what
//! is owed rounds up, collateral down, coverages are truncated. Every floor and ceiling of a
//! quotient is settled with exact multiplications, because a `Decimal` division keeps 28
//! significant digits and may land on the wrong side of a step.

use rust_decimal::{Decimal, RoundingStrategy};

fn cents(d: Decimal, strategy: RoundingStrategy) -> Decimal {
    let mut r = d.round_dp_with_strategy(2, strategy);
    r.rescale(2);
    r
}

/// Collateral: toward negative infinity, so rounding never adds collateral.
pub fn cents_down(d: Decimal) -> Decimal {
    cents(d, RoundingStrategy::ToNegativeInfinity)
}

/// Amounts owed (calls, deficits, ES, VaR, add-ons): toward positive infinity.
pub fn cents_up(d: Decimal) -> Decimal {
    cents(d, RoundingStrategy::ToPositiveInfinity)
}

/// Half-even to `dp` places, the scale kept at `dp` (`0.055470`, not `0.05547`).
pub fn half_even(d: Decimal, dp: u32) -> Decimal {
    let mut r = d.round_dp_with_strategy(dp, RoundingStrategy::MidpointNearestEven);
    r.rescale(dp);
    r
}

/// The largest integer k with `k x m <= x` (m > 0), exactly.
pub fn floor_div(x: Decimal, m: Decimal) -> Option<Decimal> {
    let mut k = x.checked_div(m)?.floor();
    while k.checked_mul(m)? > x {
        k -= Decimal::ONE;
    }
    while (k + Decimal::ONE).checked_mul(m)? <= x {
        k += Decimal::ONE;
    }
    Some(k)
}

/// The smallest integer k with `k x m >= x` (m > 0), exactly.
pub fn ceil_div(x: Decimal, m: Decimal) -> Option<Decimal> {
    let mut k = x.checked_div(m)?.ceil();
    while k.checked_mul(m)? < x {
        k += Decimal::ONE;
    }
    while (k - Decimal::ONE).checked_mul(m)? >= x {
        k -= Decimal::ONE;
    }
    Some(k)
}

/// `x` rounded up to a multiple of `m`.
pub fn up_to_multiple(x: Decimal, m: Decimal) -> Decimal {
    ceil_div(x, m)
        .and_then(|k| k.checked_mul(m))
        .unwrap_or(Decimal::MAX)
}

/// `x` rounded down to a multiple of `m` (never below 0 for a positive `x`).
pub fn down_to_multiple(x: Decimal, m: Decimal) -> Decimal {
    floor_div(x, m)
        .and_then(|k| k.checked_mul(m))
        .unwrap_or(Decimal::ZERO)
}

/// `n / d` truncated (toward negative infinity) to 4 dp, for `d > 0`.
pub fn ratio_4dp(n: Decimal, d: Decimal) -> Decimal {
    let step = Decimal::from(10_000);
    let mut r = n
        .checked_mul(step)
        .and_then(|s| floor_div(s, d))
        .map(|k| k / step)
        .unwrap_or_else(|| {
            n.checked_div(d).map_or(Decimal::MAX, |q| {
                q.round_dp_with_strategy(4, RoundingStrategy::ToNegativeInfinity)
            })
        });
    r.rescale(4);
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn multiples_round_the_right_way() {
        assert_eq!(
            up_to_multiple(dec!(329974.21875), dec!(10000)),
            dec!(330000)
        );
        assert_eq!(
            down_to_multiple(dec!(3670025.78125), dec!(10000)),
            dec!(3670000)
        );
        assert_eq!(up_to_multiple(dec!(30000), dec!(10000)), dec!(30000));
        assert_eq!(down_to_multiple(dec!(30000), dec!(10000)), dec!(30000));
        // A step that is no power of ten: 1/3 is inexact as a Decimal quotient.
        assert_eq!(up_to_multiple(dec!(1), dec!(3)), dec!(3));
        assert_eq!(down_to_multiple(dec!(9), dec!(3)), dec!(9));
        assert_eq!(up_to_multiple(dec!(0.01), dec!(0.01)), dec!(0.01));
    }

    #[test]
    fn ratios_truncate_and_cents_go_their_way() {
        assert_eq!(ratio_4dp(dec!(8670025.78125), dec!(5000000)), dec!(1.7340));
        assert_eq!(ratio_4dp(dec!(2), dec!(3)).to_string(), "0.6666");
        assert_eq!(ratio_4dp(dec!(-1), dec!(3)).to_string(), "-0.3334");
        assert_eq!(cents_down(dec!(1828874.84375)).to_string(), "1828874.84");
        assert_eq!(cents_up(dec!(329974.21875)).to_string(), "329974.22");
        assert_eq!(half_even(dec!(0.0554695), 6).to_string(), "0.055470");
        assert_eq!(half_even(dec!(0.0000005), 6).to_string(), "0.000000");
    }
}
