//! The simulators' market: one deterministic price path per asset, a function of wall time, so
//! every simulated venue quotes near the same price without sharing state. Integer triangle
//! waves, no floats (house rule 1 holds even for synthetic money).

use crate::traits::{StreamingVenue, SymbolSpec};
use rand::Rng;
use rust_decimal::Decimal;
use schemas::Ts;

#[derive(Clone, Debug, PartialEq)]
pub struct SimQuote {
    pub bid: Decimal,
    pub ask: Decimal,
    pub bid_size: Decimal,
    pub ask_size: Decimal,
    pub last: Decimal,
    pub volume_24h: Decimal,
    /// Decimal places the venue would use for this price.
    pub dp: u32,
}

#[derive(Clone, Debug, Default)]
pub struct PriceModel;

/// Quote assets tried, longest first, when a venue glues base and quote (`BTCUSDT`).
const QUOTES: [&str; 6] = ["USDT", "USDC", "USD", "EUR", "BTC", "ETH"];

fn canonical(code: &str) -> &str {
    match code {
        "XBT" | "XXBT" => "BTC",
        "XDG" | "XXDG" => "DOGE",
        "XETH" => "ETH",
        "ZUSD" => "USD",
        other => other,
    }
}

/// Anchor USD price and wave amplitude (bps) of each simulated asset.
fn anchor(asset: &str) -> Option<(Decimal, i64)> {
    Some(match asset {
        "BTC" => (Decimal::new(64_000, 0), 60),
        "ETH" => (Decimal::new(3_000, 0), 80),
        "SOL" => (Decimal::new(150, 0), 120),
        "DOGE" => (Decimal::new(15, 2), 150),
        "XRP" => (Decimal::new(6, 1), 120),
        "DOT" => (Decimal::new(6, 0), 150),
        "USDT" => (Decimal::new(10002, 4), 1),
        "USDC" => (Decimal::new(9999, 4), 1),
        "EUR" => (Decimal::new(108, 2), 5),
        "USD" => (Decimal::ONE, 0),
        // Synthetic assets `SIM<n>` let a soak or load test configure any number of
        // instruments (scripts/gen-config.py); their anchors spread over 10..1000 USD.
        other => {
            let n: u32 = other.strip_prefix("SIM")?.parse().ok()?;
            (Decimal::from(10 + n % 990), 100)
        }
    })
}

/// A triangle wave in [-amp, amp] bps with the given period.
fn tri(t_ms: i64, period_ms: i64, amp_bps: i64, phase_ms: i64) -> Decimal {
    let x = Decimal::from((t_ms + phase_ms).rem_euclid(period_ms)) / Decimal::from(period_ms);
    let half = Decimal::new(5, 1);
    Decimal::from(amp_bps) * (Decimal::from(4) * (x - half).abs() - Decimal::ONE)
}

impl PriceModel {
    /// The simulated USD price of `asset` at `t`.
    pub fn usd(&self, asset: &str, t: Ts) -> Option<Decimal> {
        self.usd_any(asset, t, false)
    }

    /// `synthetic` (load mode): an asset without an anchor gets one from a hash of its name
    /// (1 to ~1,000 USD) instead of no price.
    fn usd_any(&self, asset: &str, t: Ts, synthetic: bool) -> Option<Decimal> {
        let (anchor, amp) = anchor(asset).or_else(|| {
            let h = asset
                .bytes()
                .fold(17u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
            synthetic.then(|| (Decimal::new(100 + (h % 100_000) as i64, 2), 100))
        })?;
        let phase = asset.bytes().map(i64::from).sum::<i64>() * 7_919;
        let t = t.millis();
        let bps = tri(t, 600_000, amp, phase)
            + tri(t, 37_000, amp / 4, phase)
            + tri(t, 7_000, amp / 16, phase);
        Some(anchor * (Decimal::ONE + bps / Decimal::from(10_000)))
    }

    /// Splits a venue symbol into canonical base and quote.
    pub fn assets(venue: &dyn StreamingVenue, symbol: &str) -> Option<(String, String)> {
        match venue.split_symbol(symbol) {
            SymbolSpec::Split { base, quote, .. } => {
                Some((canonical(base).to_owned(), canonical(quote).to_owned()))
            }
            SymbolSpec::Joined { symbol, .. } => QUOTES.iter().find_map(|q| {
                let base = symbol.strip_suffix(q)?;
                (!base.is_empty()).then(|| (canonical(base).to_owned(), (*q).to_owned()))
            }),
            SymbolSpec::Invalid(_) => None,
        }
    }

    /// A two-sided quote for a venue symbol, shifted by `deviation_bps`, with a little
    /// per-venue noise and a one-basis-point spread.
    pub fn quote_for(
        &self,
        venue: &dyn StreamingVenue,
        symbol: &str,
        t: Ts,
        deviation_bps: i64,
    ) -> Option<SimQuote> {
        self.quote_any(venue, symbol, t, deviation_bps, false)
    }

    /// [`Self::quote_for`], also for assets without an anchor when `synthetic` (load mode).
    pub fn quote_any(
        &self,
        venue: &dyn StreamingVenue,
        symbol: &str,
        t: Ts,
        deviation_bps: i64,
        synthetic: bool,
    ) -> Option<SimQuote> {
        let (base, quote) = Self::assets(venue, symbol)?;
        let mid = self.usd_any(&base, t, synthetic)? / self.usd_any(&quote, t, synthetic)?;
        let mut rng = rand::thread_rng();
        let noise = Decimal::new(rng.gen_range(-5..=5), 1); // +-0.5 bp
        let bps = Decimal::from(deviation_bps) + noise;
        let mid = mid * (Decimal::ONE + bps / Decimal::from(10_000));
        let dp = if mid >= Decimal::from(1000) {
            2
        } else if mid >= Decimal::from(10) {
            3
        } else if mid >= Decimal::ONE {
            5
        } else {
            6
        };
        let half_spread = (mid / Decimal::from(20_000)).max(Decimal::new(1, dp));
        let bid = (mid - half_spread).round_dp(dp);
        let mut ask = (mid + half_spread).round_dp(dp);
        if ask <= bid {
            ask = bid + Decimal::new(1, dp);
        }
        Some(SimQuote {
            bid,
            ask,
            bid_size: Decimal::new(rng.gen_range(1..50_000), 4),
            ask_size: Decimal::new(rng.gen_range(1..50_000), 4),
            last: bid,
            volume_24h: Decimal::new(123_456_789, 4),
            dp,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_stay_near_their_anchor_and_move() {
        let m = PriceModel;
        let a = m.usd("BTC", Ts::from_millis(1_000)).unwrap();
        let b = m.usd("BTC", Ts::from_millis(200_000)).unwrap();
        assert_ne!(a, b);
        for p in [a, b] {
            let dev = ((p - Decimal::from(64_000)) / Decimal::from(64_000)).abs();
            assert!(dev < Decimal::new(1, 2), "{p}");
        }
        assert!(m.usd("NOPE", Ts::from_millis(0)).is_none());
        assert!(m.usd("SIMX", Ts::from_millis(0)).is_none());
        let sim7 = m.usd("SIM7", Ts::from_millis(0)).unwrap();
        assert!(
            sim7 > Decimal::from(16) && sim7 < Decimal::from(18),
            "{sim7}"
        );
    }
}
