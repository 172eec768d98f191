//! The simulated USDⓈ-M account behind the REST simulator's margin pages: a long BTCUSDT and a
//! short ETHUSDT perpetual on the USDT wallet of [`super::sim::SIM_BALANCES`], marked at the
//! simulators' shared prices ([`crate::sim::PriceModel`]), plus an idle SOLUSDT row (an open
//! order, no position) as Binance lists one. Pure: every figure is a function of the time
//! given, so tests inject time instead of sleeping.
//!
//! **The margin cycle** (on in the demo, off for tests that want steady figures): every
//! [`CYCLE_MS`] from the simulator's start, the BTCUSDT mark makes a scripted excursion below
//! the simulated price so that the account's maintenance coverage (equity / maintenance
//! margin) goes from its resting level (about 3, `OK`) down to [`WARN_COVERAGE`] (`WARN`,
//! below 2.0), on to [`DANGER_COVERAGE`] (`DANGER`, below 1.25, never at or below 1), and back.
//! The excursion is solved from the target coverage at the current prices, so the simulated
//! price's own moves cannot push the account into liquidation. Schedule within a period (s):
//! 0-20 rest, 20-30 down to WARN, 30-45 hold, 45-55 down to DANGER, 55-70 hold, 70-90 back up,
//! 90-100 rest.
//!
//! Maintenance margin is a flat 5 % of notional and initial margin 10 % (leverage 10): Binance's
//! tiered brackets, simplified. Figures are written with Binance's 8 decimals.

use crate::sim::PriceModel;
use rust_decimal::Decimal;
use schemas::Ts;

/// Period of the margin cycle.
pub const CYCLE_MS: i64 = 100_000;
/// The coverage the cycle holds in its WARN phase.
pub const WARN_COVERAGE: Decimal = Decimal::from_parts(16, 0, 0, false, 1);
/// The coverage the cycle holds in its DANGER phase.
pub const DANGER_COVERAGE: Decimal = Decimal::from_parts(115, 0, 0, false, 2);
/// Maintenance margin rate of every simulated position.
pub const MMR: Decimal = Decimal::from_parts(5, 0, 0, false, 2);
/// Initial margin rate (leverage 10).
pub const IMR: Decimal = Decimal::from_parts(1, 0, 0, false, 1);
/// The USDT wallet the positions are margined from (the `balance` of USDT in `SIM_BALANCES`).
pub const WALLET: Decimal = Decimal::from_parts(250_000, 0, 0, false, 0);

/// One simulated position: (symbol, base asset, signed amount, entry price).
pub const POSITIONS: &[(&str, &str, Decimal, Decimal)] = &[
    (
        "BTCUSDT",
        "BTC",
        Decimal::from_parts(22, 0, 0, false, 0),
        Decimal::from_parts(64_000, 0, 0, false, 0),
    ),
    (
        "ETHUSDT",
        "ETH",
        Decimal::from_parts(100, 0, 0, true, 0),
        Decimal::from_parts(3_000, 0, 0, false, 0),
    ),
    // An open order and no position: listed by positionRisk with positionAmt 0.
    ("SOLUSDT", "SOL", Decimal::ZERO, Decimal::ZERO),
];

/// One position row at one instant.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub symbol: &'static str,
    pub amt: Decimal,
    pub entry: Decimal,
    pub mark: Decimal,
    pub upnl: Decimal,
    pub mm: Decimal,
    pub im: Decimal,
    /// The mark at which the account's coverage would reach 1, other marks unchanged.
    pub liquidation: Option<Decimal>,
}

/// The account at one instant, every figure as Binance writes it (8 decimals).
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    pub rows: Vec<Row>,
    pub wallet: Decimal,
    pub upnl: Decimal,
    pub equity: Decimal,
    pub mm: Decimal,
    pub im: Decimal,
}

/// The simulated account; `cycle_start` None: no margin cycle.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SimAccount {
    pub cycle_start: Option<Ts>,
}

fn r8(d: Decimal) -> Decimal {
    d.round_dp(8)
}

/// The simulated USDT mark of `base` at `t`.
fn market_mark(base: &str, t: Ts) -> Decimal {
    let m = PriceModel;
    match (m.usd(base, t), m.usd("USDT", t)) {
        (Some(b), Some(q)) if !q.is_zero() => r8(b / q),
        _ => Decimal::ZERO,
    }
}

/// The target coverage of the cycle at `phase_ms` given the resting coverage `rest`; `None`
/// when the cycle rests.
fn target(phase_ms: i64, rest: Decimal) -> Option<Decimal> {
    let lerp = |from: Decimal, to: Decimal, t0: i64, t1: i64| {
        from + (to - from) * Decimal::from(phase_ms - t0) / Decimal::from(t1 - t0)
    };
    let c = match phase_ms {
        20_000..=29_999 => lerp(rest, WARN_COVERAGE, 20_000, 30_000),
        30_000..=44_999 => WARN_COVERAGE,
        45_000..=54_999 => lerp(WARN_COVERAGE, DANGER_COVERAGE, 45_000, 55_000),
        55_000..=69_999 => DANGER_COVERAGE,
        70_000..=89_999 => lerp(DANGER_COVERAGE, rest, 70_000, 90_000),
        _ => return None,
    };
    (c < rest).then_some(c)
}

impl SimAccount {
    /// Figures that follow the simulated prices only.
    pub fn steady() -> Self {
        SimAccount { cycle_start: None }
    }
    /// With the margin cycle, counted from `start`.
    pub fn cycling(start: Ts) -> Self {
        SimAccount {
            cycle_start: Some(start),
        }
    }

    /// The account at `t`.
    pub fn snapshot(&self, t: Ts) -> Snapshot {
        let mut marks: Vec<Decimal> = POSITIONS.iter().map(|p| market_mark(p.1, t)).collect();
        if let Some(start) = self.cycle_start {
            let phase = (t.millis() - start.millis()).rem_euclid(CYCLE_MS);
            let rest = coverage(&marks);
            if let Some(c) = rest.and_then(|rest| target(phase, rest)) {
                if let Some(m) = solve_mark(&marks, 0, c) {
                    marks[0] = r8(m);
                }
            }
        }
        build(&marks)
    }
}

/// (equity, maintenance margin) of the account at `marks`, unrounded.
fn totals(marks: &[Decimal]) -> (Decimal, Decimal) {
    let mut equity = WALLET;
    let mut mm = Decimal::ZERO;
    for ((_, _, amt, entry), mark) in POSITIONS.iter().zip(marks) {
        equity += *amt * (*mark - *entry);
        mm += amt.abs() * *mark * MMR;
    }
    (equity, mm)
}

fn coverage(marks: &[Decimal]) -> Option<Decimal> {
    let (equity, mm) = totals(marks);
    (!mm.is_zero()).then(|| equity / mm)
}

/// The mark of position `i` at which coverage is `c`, the other marks unchanged:
/// `c (MM_o + |a| r m) = E_o + a (m - e)`, linear in `m`. `None` when there is no such
/// positive mark.
fn solve_mark(marks: &[Decimal], i: usize, c: Decimal) -> Option<Decimal> {
    let (_, _, a, e) = POSITIONS[i];
    let mut others = marks.to_vec();
    others[i] = e; // no P&L and, below, the position's own MM taken out
    let (equity_o, mm_all) = totals(&others);
    let mm_o = mm_all - a.abs() * e * MMR;
    let den = a - c * a.abs() * MMR;
    if den.is_zero() {
        return None;
    }
    let m = (c * mm_o - equity_o + a * e) / den;
    (m > Decimal::ZERO).then_some(m)
}

fn build(marks: &[Decimal]) -> Snapshot {
    let mut rows = Vec::with_capacity(POSITIONS.len());
    for (i, ((symbol, _, amt, entry), mark)) in POSITIONS.iter().zip(marks).enumerate() {
        let liquidation = if amt.is_zero() {
            None
        } else {
            solve_mark(marks, i, Decimal::ONE).map(|m| m.round_dp(2))
        };
        rows.push(Row {
            symbol,
            amt: *amt,
            entry: *entry,
            mark: *mark,
            upnl: r8(*amt * (*mark - *entry)),
            mm: r8(amt.abs() * *mark * MMR),
            im: r8(amt.abs() * *mark * IMR),
            liquidation,
        });
    }
    let upnl = rows.iter().map(|r| r.upnl).sum();
    let mm = rows.iter().map(|r| r.mm).sum();
    let im = rows.iter().map(|r| r.im).sum();
    Snapshot {
        rows,
        wallet: WALLET,
        upnl,
        equity: WALLET + upnl,
        mm,
        im,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn the_resting_account_covers_about_three_times() {
        for s in [0, 7_000, 123_456, 600_000] {
            let snap = SimAccount::steady().snapshot(Ts::from_millis(1_700_000_000_000 + s));
            let c = snap.equity / snap.mm;
            assert!(c > dec!(2.5) && c < dec!(3.5), "{c}");
            assert_eq!(snap.rows[0].amt, dec!(22));
        }
    }

    #[test]
    fn the_cycle_holds_its_targets() {
        let start = Ts::from_millis(1_700_000_000_000);
        let a = SimAccount::cycling(start);
        for (at, want) in [(35_000, WARN_COVERAGE), (60_000, DANGER_COVERAGE)] {
            let snap = a.snapshot(Ts::from_millis(start.millis() + at));
            let c = snap.equity / snap.mm;
            assert!((c - want).abs() < dec!(0.0001), "{at}: {c}");
        }
    }
}
