//! The simulated Deribit account's derivatives: a BTC perpetual long, an ETH perpetual short
//! (inverse, sized in USD), a short BTC call, and a closed BTC future (`direction` `zero`, as
//! Deribit keeps listing recently traded instruments), whose marks, P&L and margins move with
//! the simulators' shared price path ([`PriceModel`]); and the account summaries built from
//! them (segregated margin: each currency on its own). The balances ([`super::sim::SIM_SUMMARIES`]
//! `balance` and `available_withdrawal_funds`) do not move; equity, margin balance, session P&L
//! and margins do. Shared by the REST and the private-stream simulators.
//!
//! Illustrative, computed as Deribit states its figures: inverse P&L = size x (1/avg - 1/mark)
//! in the coin, `size_currency` = size / mark, option P&L = (mark - avg) x size in the coin;
//! margins at flat rates (futures IM 2 %, MM 1 % of the coin amount; short options 15 % / 7.5 %
//! plus the option's value).

use super::sim::SIM_SUMMARIES;
use crate::sim::PriceModel;
use chrono::Datelike;
use rust_decimal::Decimal;
use schemas::Ts;

/// One position: instrument, kind, signed size (USD for inverse futures, the coin for options),
/// average price.
pub struct SimPosition {
    pub name: fn(Ts) -> String,
    pub kind: &'static str,
    pub size: &'static str,
    pub average_price: &'static str,
}

pub const SIM_POSITIONS: &[SimPosition] = &[
    SimPosition {
        name: |_| "BTC-PERPETUAL".to_owned(),
        kind: "future",
        size: "50000",
        average_price: "61500.5",
    },
    SimPosition {
        name: |_| "ETH-PERPETUAL".to_owned(),
        kind: "future",
        size: "-30000",
        average_price: "3150.25",
    },
    SimPosition {
        name: |t| format!("BTC-{}-70000-C", expiry(t)),
        kind: "option",
        size: "-2",
        average_price: "0.0125",
    },
    SimPosition {
        name: |t| format!("BTC-{}", expiry(t)),
        kind: "future",
        size: "0",
        average_price: "0",
    },
];

fn d(s: &str) -> Decimal {
    s.parse().unwrap_or_default()
}

/// Deribit writes JSON numbers; integers without a fraction.
fn num(x: Decimal) -> String {
    x.normalize().to_string()
}

/// The last Friday of the month three months after `t`'s, as Deribit writes it (`26MAR27`).
pub fn expiry(t: Ts) -> String {
    let now = t.to_datetime().date_naive();
    let (y, m) = match now.month() + 3 {
        m if m > 12 => (now.year() + 1, m - 12),
        m => (now.year(), m),
    };
    let next = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    let mut day =
        chrono::NaiveDate::from_ymd_opt(next.0, next.1, 1).unwrap_or(now) - chrono::Days::new(1);
    while day.weekday() != chrono::Weekday::Fri {
        day = day - chrono::Days::new(1);
    }
    let months = [
        "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
    ];
    format!(
        "{}{}{:02}",
        day.day(),
        months[day.month0() as usize],
        day.year() % 100
    )
}

/// The index of `coin` at `t` in USD, at Deribit's 2 decimals.
fn index(coin: &str, t: Ts) -> Decimal {
    PriceModel.usd(coin, t).unwrap_or(Decimal::ONE).round_dp(2)
}

/// One position's figures at `t`: (row JSON, coin, P&L, IM, MM) in the coin.
fn figures(p: &SimPosition, t: Ts) -> (String, &'static str, Decimal, Decimal, Decimal) {
    let name = (p.name)(t);
    let coin = if name.starts_with("ETH") {
        "ETH"
    } else {
        "BTC"
    };
    let spot = index(coin, t);
    let size = d(p.size);
    let avg = d(p.average_price);
    let (mark, upl, im, mm, size_currency, direction) = if p.kind == "option" {
        // Intrinsic value plus a flat 0.01 of time value, in the coin, at 0.0001.
        let strike = d(name.split('-').nth(2).unwrap_or("0"));
        let mark = ((spot - strike).max(Decimal::ZERO) / spot + Decimal::new(1, 2)).round_dp(4);
        let upl = ((mark - avg) * size).round_dp(8);
        let a = size.abs();
        let im = (a * Decimal::new(15, 2) + mark * a).round_dp(8);
        let mm = (a * Decimal::new(75, 3) + mark * a).round_dp(8);
        (
            mark,
            upl,
            im,
            mm,
            None,
            if size.is_sign_negative() {
                "sell"
            } else {
                "buy"
            },
        )
    } else if size.is_zero() {
        (
            spot,
            Decimal::ZERO,
            Decimal::ZERO,
            Decimal::ZERO,
            Some(Decimal::ZERO),
            "zero",
        )
    } else {
        let upl = (size * (Decimal::ONE / avg - Decimal::ONE / spot)).round_dp(9);
        let coins = (size / spot).round_dp(9);
        let im = (coins.abs() * Decimal::new(2, 2)).round_dp(9);
        let mm = (coins.abs() * Decimal::new(1, 2)).round_dp(9);
        (
            spot,
            upl,
            im,
            mm,
            Some(coins),
            if size.is_sign_negative() {
                "sell"
            } else {
                "buy"
            },
        )
    };
    let size_currency =
        size_currency.map_or(String::new(), |c| format!(r#""size_currency":{},"#, num(c)));
    let row = format!(
        r#"{{"average_price":{avg},"direction":"{direction}","estimated_liquidation_price":null,"floating_profit_loss":{upl},"index_price":{spot},"initial_margin":{im},"instrument_name":"{name}","kind":"{kind}","maintenance_margin":{mm},"mark_price":{mark},"realized_profit_loss":0,"settlement_price":{mark},"size":{size},{size_currency}"total_profit_loss":{upl}}}"#,
        avg = num(avg),
        upl = num(upl),
        spot = num(spot),
        im = num(im),
        mm = num(mm),
        kind = p.kind,
        mark = num(mark),
        size = num(size),
    );
    (row, coin, upl, im, mm)
}

/// A `private/get_positions` reply at `t`, numbers written raw.
pub fn positions_body(t: Ts) -> String {
    let rows: Vec<String> = SIM_POSITIONS.iter().map(|p| figures(p, t).0).collect();
    let us = t.micros();
    format!(
        r#"{{"jsonrpc":"2.0","result":[{}],"testnet":false,"usIn":{us},"usOut":{us},"usDiff":0}}"#,
        rows.join(",")
    )
}

/// One summary's fields, as Deribit writes them: currency, balance, equity, available_funds,
/// margin_balance, initial_margin, maintenance_margin, available_withdrawal_funds, session_upl.
pub fn summaries(t: Ts) -> Vec<[String; 9]> {
    let figs: Vec<_> = SIM_POSITIONS.iter().map(|p| figures(p, t)).collect();
    SIM_SUMMARIES
        .iter()
        .map(|[cur, bal, _eq, avail, _margin, im0, mm0, withdraw]| {
            let mine = figs.iter().filter(|f| f.1 == *cur);
            let (upl, im, mm) = mine.fold((Decimal::ZERO, d(im0), d(mm0)), |(u, i, m), f| {
                (u + f.2, i + f.3, m + f.4)
            });
            let equity = d(bal) + upl;
            let available = if im.is_zero() { d(avail) } else { equity - im };
            [
                (*cur).to_owned(),
                (*bal).to_owned(),
                num(equity),
                num(available),
                num(equity),
                num(im),
                num(mm),
                (*withdraw).to_owned(),
                num(upl),
            ]
        })
        .collect()
}

/// One summary object, fields in the order of Deribit's replies.
pub fn summary_json(s: &[String; 9]) -> String {
    let [cur, bal, eq, avail, margin, im, mm, withdraw, upl] = s;
    format!(
        r#"{{"currency":"{cur}","margin_balance":{margin},"available_withdrawal_funds":{withdraw},"maintenance_margin":{mm},"available_funds":{avail},"balance":{bal},"equity":{eq},"session_upl":{upl},"total_pl":{upl},"estimated_liquidation_ratio":0,"fee_balance":0,"initial_margin":{im},"spot_reserve":0,"margin_model":"segregated_sm","portfolio_margining_enabled":false,"cross_collateral_enabled":false}}"#
    )
}
