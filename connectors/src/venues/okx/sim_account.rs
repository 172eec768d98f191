//! The simulated OKX account's derivatives: positions whose mark price, unrealized P&L and
//! margin move with the simulators' shared price path ([`PriceModel`]), and the account-level
//! margin the balance response and the `account` push carry (multi-currency margin mode: every
//! figure in USD, `mgnRatio` = `adjEq` / `mmr` as OKX defines it). Shared by the REST and the
//! private-stream simulators so both tell the same story; the balances themselves
//! ([`super::sim::SIM_BALANCES`]) do not move.
//!
//! Figures are illustrative but computed the way OKX's docs state them: linear upl =
//! (markPx - avgPx) x pos x ctVal, IM = notional / lever, MM = notional x a maintenance rate,
//! `adjEq` = USD equity after a discount on BTC and ETH; `liqPx` is a rough estimate.

use super::account::contract_value;
use super::sim::SIM_BALANCES;
use crate::sim::PriceModel;
use rust_decimal::Decimal;
use schemas::Ts;
use serde_json::{json, Value};

/// One simulated position row: instId, instType, mgnMode, signed `pos` (contracts), `avgPx`,
/// margin currency, leverage.
pub struct SimPosition {
    pub inst_id: &'static str,
    pub inst_type: &'static str,
    pub mgn_mode: &'static str,
    pub pos: &'static str,
    pub avg_px: &'static str,
    pub ccy: &'static str,
    pub lever: i64,
}

/// A perpetual long, a perpetual short, and a dormant isolated row with `pos` 0 (what OKX keeps
/// after a manual margin transfer or a close).
pub const SIM_POSITIONS: &[SimPosition] = &[
    SimPosition {
        inst_id: "BTC-USDT-SWAP",
        inst_type: "SWAP",
        mgn_mode: "cross",
        pos: "150",
        avg_px: "62000.5",
        ccy: "USDT",
        lever: 10,
    },
    SimPosition {
        inst_id: "ETH-USDT-SWAP",
        inst_type: "SWAP",
        mgn_mode: "cross",
        pos: "-200",
        avg_px: "3120.25",
        ccy: "USDT",
        lever: 10,
    },
    SimPosition {
        inst_id: "BTC-USD-SWAP",
        inst_type: "SWAP",
        mgn_mode: "isolated",
        pos: "0",
        avg_px: "",
        ccy: "BTC",
        lever: 5,
    },
];

fn d(s: &str) -> Decimal {
    s.parse().unwrap_or_default()
}

/// OKX writes decimals without trailing zeros.
fn num(x: Decimal) -> String {
    x.normalize().to_string()
}

fn usd(asset: &str, now: Ts) -> Decimal {
    PriceModel.usd(asset, now).unwrap_or(Decimal::ONE)
}

/// Maintenance margin rate of the first tier (illustrative).
fn mm_rate(inst_id: &str) -> Decimal {
    if inst_id.starts_with("BTC-") {
        Decimal::new(4, 3)
    } else {
        Decimal::new(5, 3)
    }
}

/// The mark price of `inst_id` at `now`: base / quote on the shared path, at OKX's tick
/// (0.1 above 1,000, 0.01 below).
pub fn mark(inst_id: &str, now: Ts) -> Decimal {
    let mut parts = inst_id.split('-');
    let (base, quote) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let px = usd(base, now) / usd(quote, now);
    px.round_dp(if px >= Decimal::from(1000) { 1 } else { 2 })
}

/// One position's figures at `now`: (row, upl in `ccy`, IM and MM in USD).
fn figures(p: &SimPosition, now: Ts, u_time: &str) -> (Value, Decimal, Decimal, Decimal) {
    let pos = d(p.pos);
    let mark = mark(p.inst_id, now);
    let (ct_val, inverse) = contract_value(p.inst_type, p.inst_id).unwrap_or((Decimal::ONE, false));
    let quote = p.inst_id.split('-').nth(1).unwrap_or("USD");
    let (upl, notional_usd) = if pos.is_zero() {
        (Decimal::ZERO, Decimal::ZERO)
    } else if inverse {
        let avg = d(p.avg_px);
        let upl = (Decimal::ONE / avg - Decimal::ONE / mark) * pos * ct_val;
        (upl.round_dp(12), pos.abs() * ct_val)
    } else {
        let notional = pos.abs() * ct_val * mark;
        (
            (mark - d(p.avg_px)) * pos * ct_val,
            notional * usd(quote, now),
        )
    };
    let lever = Decimal::from(p.lever);
    let imr = (notional_usd / lever).round_dp(8);
    let mmr = (notional_usd * mm_rate(p.inst_id)).round_dp(8);
    let band = Decimal::ONE / lever - mm_rate(p.inst_id);
    let liq = match pos.cmp(&Decimal::ZERO) {
        std::cmp::Ordering::Greater => num((mark * (Decimal::ONE - band)).round_dp(1)),
        std::cmp::Ordering::Less => num((mark * (Decimal::ONE + band)).round_dp(1)),
        std::cmp::Ordering::Equal => String::new(),
    };
    let row = json!({
        "adl": if pos.is_zero() { "" } else { "1" },
        "availPos": "",
        "avgPx": p.avg_px,
        "cTime": "1733000000000",
        "ccy": p.ccy,
        "imr": if p.mgn_mode == "cross" { num(imr) } else { String::new() },
        "instId": p.inst_id,
        "instType": p.inst_type,
        "last": num(mark),
        "lever": p.lever.to_string(),
        "liqPx": liq,
        "margin": if p.mgn_mode == "isolated" { "0" } else { "" },
        "markPx": num(mark),
        "mgnMode": p.mgn_mode,
        "mgnRatio": "",
        "mmr": num(mmr),
        "notionalUsd": num(notional_usd.round_dp(8)),
        "pos": p.pos,
        "posCcy": "",
        "posId": format!("17528105698014{:05}", p.inst_id.len() * 7919 % 100_000),
        "posSide": "net",
        "uTime": u_time,
        "upl": num(upl),
        "usdPx": num(usd(p.ccy, now).round_dp(4)),
    });
    (row, upl, imr, mmr)
}

/// Every row of `GET /api/v5/account/positions` at `now` (`u_time`: the rows' `uTime`).
pub fn position_rows(now: Ts, u_time: &str) -> Vec<Value> {
    SIM_POSITIONS
        .iter()
        .map(|p| figures(p, now, u_time).0)
        .collect()
}

/// Discount of a currency's USD equity in `adjEq` (multi-currency margin haircut).
fn haircut(ccy: &str) -> Decimal {
    match ccy {
        "BTC" => Decimal::new(2, 2),
        "ETH" => Decimal::new(3, 2),
        _ => Decimal::ZERO,
    }
}

/// The margin fields of the balance response at `now`: per currency `(ccy, upl, eq)` and the
/// account-level `totalEq`, `adjEq`, `imr`, `mmr`, `mgnRatio`, `upl` (USD, OKX's strings).
pub fn account_fields(now: Ts) -> (Vec<(String, String, String)>, Value) {
    let mut upl_by_ccy: Vec<(&str, Decimal)> = Vec::new();
    let (mut imr, mut mmr) = (Decimal::ZERO, Decimal::ZERO);
    for p in SIM_POSITIONS {
        let (_, upl, i, m) = figures(p, now, "");
        imr += i;
        mmr += m;
        match upl_by_ccy.iter_mut().find(|(c, _)| *c == p.ccy) {
            Some((_, u)) => *u += upl,
            None => upl_by_ccy.push((p.ccy, upl)),
        }
    }
    let (mut total_eq, mut adj_eq, mut upl_usd) = (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
    let mut details = Vec::new();
    for (ccy, cash, _, _) in SIM_BALANCES {
        let upl = upl_by_ccy
            .iter()
            .find(|(c, _)| c == ccy)
            .map_or(Decimal::ZERO, |(_, u)| *u);
        let eq = d(cash) + upl;
        let px = usd(ccy, now);
        total_eq += eq * px;
        adj_eq += eq * px * (Decimal::ONE - haircut(ccy));
        upl_usd += upl * px;
        details.push(((*ccy).to_owned(), num(upl), num(eq)));
    }
    let (total_eq, adj_eq, upl_usd) = (
        total_eq.round_dp(8),
        adj_eq.round_dp(8),
        upl_usd.round_dp(8),
    );
    let ratio = if mmr.is_zero() {
        String::new()
    } else {
        num((adj_eq / mmr).round_dp(8))
    };
    let account = json!({
        "adjEq": num(adj_eq), "imr": num(imr), "mgnRatio": ratio, "mmr": num(mmr),
        "totalEq": num(total_eq), "upl": num(upl_usd), "notionalUsd": num((imr * Decimal::from(10)).round_dp(8)),
    });
    (details, account)
}
