//! The simulated unified account's positions and account-level margin, shared by the REST
//! simulator (`/v5/position/list`, the totals of `/v5/account/wallet-balance`) and the private
//! stream (`position` and `wallet` pushes), so REST and WS agree. Pure: a function of the time
//! given.
//!
//! Positions: a long BTCUSDT and a short ETHUSDT perpetual (linear, USDT) and a short BTCUSD
//! inverse perpetual (20,000 contracts of 1 USD, settled in BTC), marked at the simulators'
//! shared prices ([`crate::sim::PriceModel`]). Maintenance margin 0.5 % and initial margin 10 %
//! of notional (Bybit's first risk tier, simplified). Account totals are in USD with every coin
//! at its full simulated price (no collateral haircuts), so `totalEquity` =
//! `totalMarginBalance` = `totalWalletBalance` + `totalPerpUPL`.

use crate::sim::{fixed, PriceModel};
use rust_decimal::Decimal;
use schemas::Ts;
use serde_json::{json, Value};

/// (category, symbol, base, side, size, entry): linear sizes in the base coin, inverse in USD.
pub const SIM_POSITIONS: &[(&str, &str, &str, &str, &str, &str)] = &[
    ("linear", "BTCUSDT", "BTC", "Buy", "1.5", "63500"),
    ("linear", "ETHUSDT", "ETH", "Sell", "10", "3050"),
    ("inverse", "BTCUSD", "BTC", "Sell", "20000", "62000"),
];

const MMR: Decimal = Decimal::from_parts(5, 0, 0, false, 3);
const IMR: Decimal = Decimal::from_parts(1, 0, 0, false, 1);

/// One position at one instant, figures as Bybit writes them.
#[derive(Clone, Debug, PartialEq)]
pub struct SimPosition {
    pub category: &'static str,
    pub symbol: &'static str,
    pub side: &'static str,
    pub size: Decimal,
    pub entry: Decimal,
    pub mark: Decimal,
    /// In the base coin for inverse, USDT for linear.
    pub value: Decimal,
    pub upnl: Decimal,
    pub mm: Decimal,
    pub im: Decimal,
    /// The coin `upnl`, `mm` and `im` are in.
    pub settle: &'static str,
}

fn usd(asset: &str, t: Ts) -> Decimal {
    PriceModel.usd(asset, t).unwrap_or_default()
}

/// The positions at `t`.
pub fn positions(t: Ts) -> Vec<SimPosition> {
    SIM_POSITIONS
        .iter()
        .map(|(category, symbol, base, side, size, entry)| {
            let size: Decimal = size.parse().unwrap_or_default();
            let entry: Decimal = entry.parse().unwrap_or_default();
            let sign = if *side == "Buy" {
                Decimal::ONE
            } else {
                -Decimal::ONE
            };
            if *category == "inverse" {
                let mark = usd(base, t).round_dp(2);
                let value = (size / entry).round_dp(8);
                // Inverse P&L in the base coin: contracts x (1/entry - 1/mark) for a long.
                let upnl = (sign * size * (Decimal::ONE / entry - Decimal::ONE / mark)).round_dp(8);
                let at_mark = size / mark;
                SimPosition {
                    category,
                    symbol,
                    side,
                    size,
                    entry,
                    mark,
                    value,
                    upnl,
                    mm: (at_mark * MMR).round_dp(8),
                    im: (at_mark * IMR).round_dp(8),
                    settle: base,
                }
            } else {
                let mark = (usd(base, t) / usd("USDT", t)).round_dp(2);
                SimPosition {
                    category,
                    symbol,
                    side,
                    size,
                    entry,
                    mark,
                    value: (size * entry).round_dp(4),
                    upnl: (sign * size * (mark - entry)).round_dp(4),
                    mm: (size * mark * MMR).round_dp(4),
                    im: (size * mark * IMR).round_dp(4),
                    settle: "USDT",
                }
            }
        })
        .collect()
}

/// The unrealised P&L of the positions settled in `coin`.
pub fn coin_upnl(positions: &[SimPosition], coin: &str) -> Decimal {
    positions
        .iter()
        .filter(|p| p.settle == coin)
        .map(|p| p.upnl)
        .sum()
}

/// The account-level figures at `t` of a wallet of (coin, walletBalance) with `order_im` USDT
/// of open-order margin: the fields of Bybit's account object, in USD.
pub fn totals(wallet: &[(&str, &str)], order_im: Decimal, t: Ts) -> Vec<(&'static str, String)> {
    let ps = positions(t);
    let wallet_usd: Decimal = wallet
        .iter()
        .map(|(coin, w)| w.parse::<Decimal>().unwrap_or_default() * usd(coin, t))
        .sum();
    let in_usd = |p: &SimPosition, d: Decimal| d * usd(p.settle, t);
    let upl: Decimal = ps.iter().map(|p| in_usd(p, p.upnl)).sum();
    let mm: Decimal = ps.iter().map(|p| in_usd(p, p.mm)).sum();
    let im: Decimal =
        ps.iter().map(|p| in_usd(p, p.im)).sum::<Decimal>() + order_im * usd("USDT", t);
    let (wallet_usd, upl, mm, im) = (
        wallet_usd.round_dp(8),
        upl.round_dp(8),
        mm.round_dp(8),
        im.round_dp(8),
    );
    let equity = wallet_usd + upl;
    let rate = |x: Decimal| {
        if equity > Decimal::ZERO {
            fixed(x / equity, 4)
        } else {
            String::new()
        }
    };
    vec![
        ("totalEquity", fixed(equity, 8)),
        ("totalWalletBalance", fixed(wallet_usd, 8)),
        ("totalMarginBalance", fixed(equity, 8)),
        (
            "totalAvailableBalance",
            fixed((equity - im).max(Decimal::ZERO), 8),
        ),
        ("totalPerpUPL", fixed(upl, 8)),
        ("totalInitialMargin", fixed(im, 8)),
        ("totalMaintenanceMargin", fixed(mm, 8)),
        ("accountIMRate", rate(im)),
        ("accountMMRate", rate(mm)),
    ]
}

/// One row in the shape of `GET /v5/position/list` (docs' example field order); `push` adds
/// the stream's `category` and `entryPrice`.
pub fn row(p: &SimPosition, now_ms: i64, push: bool) -> Value {
    let dp = if p.category == "inverse" { 8 } else { 4 };
    let mut v = json!({
        "positionIdx": 0, "riskId": 1, "riskLimitValue": "2000000", "symbol": p.symbol,
        "side": p.side, "size": p.size.to_string(), "avgPrice": fixed(p.entry, 2),
        "positionValue": fixed(p.value, dp), "tradeMode": 0, "positionStatus": "Normal",
        "autoAddMargin": 0, "adlRankIndicator": 2, "leverage": "10",
        "positionBalance": fixed(p.im, dp), "markPrice": fixed(p.mark, 2), "liqPrice": "",
        "bustPrice": "", "positionMM": fixed(p.mm, dp), "positionIM": fixed(p.im, dp),
        "tpslMode": "Full", "takeProfit": "0.00", "stopLoss": "0.00", "trailingStop": "0.00",
        "unrealisedPnl": fixed(p.upnl, dp), "curRealisedPnl": "0", "cumRealisedPnl": "0",
        "seq": 8_327_597_863_i64, "isReduceOnly": false, "mmrSysUpdateTime": "",
        "leverageSysUpdatedTime": "", "sessionAvgPrice": "",
        "createdTime": (now_ms - 86_400_000).to_string(), "updatedTime": (now_ms - 60_000).to_string()
    });
    if push {
        v["category"] = json!(p.category);
        v["entryPrice"] = json!(fixed(p.entry, 2));
    }
    v
}

/// The `result` of `GET /v5/position/list` for `category` (and `settleCoin`, linear) at `t`.
pub fn position_list(category: &str, settle_coin: Option<&str>, t: Ts) -> Value {
    let now = t.millis();
    let list: Vec<Value> = positions(t)
        .iter()
        .filter(|p| p.category == category)
        .filter(|p| category != "linear" || settle_coin == Some(p.settle))
        .map(|p| row(p, now, false))
        .collect();
    json!({"list": list, "nextPageCursor": "", "category": category})
}

/// A `position` push of every simulated position at `t`.
pub fn position_push(id: &str, t: Ts) -> String {
    let now = t.millis();
    let data: Vec<Value> = positions(t).iter().map(|p| row(p, now, true)).collect();
    json!({"id": id, "topic": "position", "creationTime": now, "data": data}).to_string()
}

/// A coin's `equity` (wallet + the P&L of the positions settled in it) and `unrealisedPnl`.
pub fn coin_equity(positions: &[SimPosition], coin: &str, wallet: &str) -> (String, String) {
    let upnl = coin_upnl(positions, coin);
    if upnl.is_zero() {
        return (wallet.to_owned(), "0".to_owned());
    }
    let w: Decimal = wallet.parse().unwrap_or_default();
    ((w + upnl).to_string(), upnl.to_string())
}

/// The account-level figures of the simulated account at `t` (USD).
pub fn account_totals(t: schemas::Ts) -> Vec<(&'static str, String)> {
    let wallet: Vec<(&str, &str)> = super::sim::SIM_BALANCES
        .iter()
        .map(|(c, w, _, _)| (*c, *w))
        .collect();
    let order_im: Decimal = super::sim::SIM_MARGIN
        .iter()
        .map(|(_, o, _)| o.parse::<Decimal>().unwrap_or_default())
        .sum();
    totals(&wallet, order_im, t)
}

/// `GET /v5/position/list`: `category` linear (with `settleCoin`) or inverse.
pub fn position_list_response(
    req: &crate::sim::rest::SimHttpRequest,
    t: schemas::Ts,
) -> crate::sim::rest::SimHttpResponse {
    let now = t.millis();
    let category = req.param("category").unwrap_or("");
    let settle = req.param("settleCoin");
    match category {
        "linear" if settle.is_none() && req.param("symbol").is_none() => super::sim::refusal(
            10001,
            "Missing some parameters that must be filled in, symbol or settleCoin",
            now,
        ),
        "linear" | "inverse" => crate::sim::rest::SimHttpResponse::json(
            200,
            serde_json::json!({
                "retCode": 0, "retMsg": "OK",
                "result": position_list(category, settle, t),
                "retExtInfo": {}, "time": now
            })
            .to_string(),
        ),
        _ => super::sim::refusal(10001, "category is invalid", now),
    }
}
