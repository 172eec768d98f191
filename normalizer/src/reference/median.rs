//! The order statistics of the method, free of any calculator state so they can be tested alone.

use rust_decimal::Decimal;

/// `(a + b) / 2`, exact for any two prices a venue can send. Only when the sum leaves `Decimal`'s
/// range does it halve first (and may then round in the 28th digit) rather than panic.
pub fn mean2(a: Decimal, b: Decimal) -> Decimal {
    match a.checked_add(b) {
        Some(sum) => sum / Decimal::TWO,
        None => a / Decimal::TWO + b / Decimal::TWO,
    }
}

/// Plain median: the middle value, or the mean of the two middle values for an even count.
/// `None` for an empty input.
pub fn median(values: &[Decimal]) -> Option<Decimal> {
    median_mut(&mut values.to_vec())
}

/// [`median`] without a copy: sorts `values` in place.
pub fn median_mut(v: &mut [Decimal]) -> Option<Decimal> {
    v.sort_unstable();
    let n = v.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(v[n / 2]),
        _ => Some(mean2(v[n / 2 - 1], v[n / 2])),
    }
}

/// Weighted median of `(price, weight)` pairs already sorted by price (ties in any fixed order).
///
/// The first price whose cumulative weight exceeds half the total; when the cumulative weight
/// equals half exactly at element k, the mean of p_k and p_k+1. Entries of weight <= 0 carry no
/// weight, so they are skipped rather than allowed to become the "next" price of a tie.
/// `None` when nothing has positive weight or the total leaves `Decimal`'s range.
pub fn weighted_median(sorted: &[(Decimal, Decimal)]) -> Option<Decimal> {
    let positive = |&&(_, w): &&(Decimal, Decimal)| w > Decimal::ZERO;
    let total = sorted
        .iter()
        .filter(positive)
        .try_fold(Decimal::ZERO, |acc, (_, w)| acc.checked_add(*w))?;
    let mut cum = Decimal::ZERO;
    for (k, (p, w)) in sorted.iter().enumerate() {
        if *w <= Decimal::ZERO {
            continue;
        }
        cum += *w;
        // `cum` against `total - cum` instead of `total / 2`: halving an odd 28-digit total
        // would round, and a rounded H could turn an exact tie into a strict crossing.
        let rest = total - cum;
        if cum > rest {
            return Some(*p);
        }
        if cum == rest {
            return Some(match sorted[k + 1..].iter().find(positive) {
                Some((next, _)) => mean2(*p, *next),
                None => *p,
            });
        }
    }
    None
}

/// Confidence half-width: with survivors sorted ascending (`v`, n of them) and k = floor(n / 4),
/// `max(P - v[k], v[n-1-k] - P)`. Never negative, since `v[k] <= v[n-1-k]`.
pub fn confidence(price: Decimal, sorted: &[Decimal]) -> Option<Decimal> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let k = n / 4;
    Some((price - sorted[k]).max(sorted[n - 1 - k] - price))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn exact_half_takes_the_mean_of_the_neighbours() {
        let eq: Vec<_> = ["100.00", "100.10", "100.20", "100.40"]
            .iter()
            .map(|p| (d(p), Decimal::ONE))
            .collect();
        assert_eq!(weighted_median(&eq), Some(d("100.15")));
    }

    #[test]
    fn zero_weights_are_not_neighbours() {
        let v = [
            (d("1"), Decimal::ONE),
            (d("2.8"), Decimal::ZERO),
            (d("3"), Decimal::ONE),
        ];
        assert_eq!(weighted_median(&v), Some(d("2")));
        assert_eq!(weighted_median(&[(d("1"), Decimal::ZERO)]), None);
    }

    #[test]
    fn median_of_even_count() {
        assert_eq!(median(&[d("4"), d("1"), d("3"), d("2")]), Some(d("2.5")));
        assert_eq!(median(&[]), None);
    }
}
