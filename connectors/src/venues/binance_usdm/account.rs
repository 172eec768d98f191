//! Binance USDⓈ-M futures: the account's margin and its open positions (margin.md section 1),
//! from two signed account pages polled after the balance page. Pure: no clock, no I/O.
//!
//! # Margin (`GET /fapi/v3/account`, weight 5)
//!
//! Docs "Account Information V3"
//! (<https://developers.binance.com/docs/derivatives/usds-margined-futures/account/rest-api/Account-Information-V3>).
//! One [`ParsedMargin`] from the account totals:
//! - `equity` = `totalMarginBalance` ("total margin balance": wallet balance plus unrealized
//!   P&L, after the multi-assets haircuts): what Binance compares with the maintenance margin;
//! - `wallet_balance` = `totalWalletBalance`, `unrealized_pnl` = `totalUnrealizedProfit`,
//!   `initial_margin` = `totalInitialMargin`, `maintenance_margin` = `totalMaintMargin`;
//! - `venue_margin_ratio` = `totalMaintMargin / totalMarginBalance`, kind
//!   [`MarginRatioKind::MmOverEquity`]: Binance's "Account Margin Ratio = Account Maintenance
//!   Margin / Account Equity" (announcement "How to calculate margin ratio in the Multi-Assets
//!   Mode"); liquidation at 1, healthy near 0. Binance does not send it, so it is computed here
//!   in `Decimal`, exact when the quotient terminates within 12 decimals and otherwise rounded
//!   **up** at the 12th (towards more risk). With `totalMarginBalance <= 0` there is no ratio
//!   (the account is at or past liquidation; the normalizer's coverage says so);
//! - `as_of`: none (v3 gives no time for the totals; freshness is `received_at`).
//!
//! **Currency of the totals.** In single-asset mode they are "only for USDT asset" (docs); in
//! multi-assets mode they are "in USD" ("the sum of USD value of all cross positions
//! maintenance margin", "total margin balance in USD"). V2 said which mode was on
//! (`multiAssetsMargin`); v3 no longer does, and asking `GET /fapi/v1/multiAssetsMargin`
//! (weight 30) in a separate response could not be read by a pure parser of this one. So:
//! `multiAssetsMargin: true` -> `USD`, `false` -> `USDT`, absent (v3) -> `USDT`. Labelling
//! USD figures `USDT` values them at USDT's reference price, which the collateral method
//! de-pegs and haircuts: a USDT below 1 USD lowers the equity shown, never raises it (a USDT
//! above par would raise it by that premium, basis points at most); the ratio and the
//! maintenance coverage are unit-free and unaffected. In single-asset mode USDC- or
//! BTC-margined contracts are margined apart and are NOT in these totals: their positions
//! still come from `positionRisk`, their margin does not (a limit, stated in the report).
//! The `assets[]` and `positions[]` of this response are not read (positions come from
//! `positionRisk`, which has prices).
//!
//! # Positions (`GET /fapi/v3/positionRisk`, weight 5)
//!
//! Docs "Position Information V3"
//! (<https://developers.binance.com/docs/derivatives/usds-margined-futures/trade/rest-api/Position-Information-V3>):
//! only symbols with a position or open orders are listed; the list is complete, so it ends
//! with [`AccountItem::PositionsEnd`] scope `all` (also when empty) and rows with
//! `positionAmt` 0 (open orders only, or the idle side of a hedge pair) are not positions.
//! Per row:
//! - `positionAmt` is signed (negative = short); a USDⓈ-M contract is one unit of the base
//!   asset (perpetuals and quarterlies alike), so `size` = `contracts` = `|positionAmt|`;
//! - `positionSide` `BOTH` is one-way mode (`hedge_side` none); `LONG` / `SHORT` is hedge mode;
//! - `entryPrice`, `markPrice`, `unRealizedProfit` (in `marginAsset`, the `pnl_currency`);
//!   `liquidationPrice` "0" means none (docs example of a cross position far from it);
//! - margin mode: v2's `marginType` (`cross` / `isolated`) when sent; v3 dropped it, and an
//!   isolated position is the one with an isolated wallet (`isolatedWallet` > 0), so
//!   otherwise `isolated` when `isolatedWallet` or `isolatedMargin` is above 0, else `cross`;
//! - instrument: `BTCUSDT` -> `BTC-USDT-PERP`, `BTCUSDT_250926` -> `BTC-USDT-20250926`;
//!   `as_of` = `updateTime` when above 0.
//!
//! The balance page (`/fapi/v3/balance`) carries no margin: nothing is emitted for it.

use crate::account::{side_of, AccountItem, ParsedMargin, ParsedPosition};
use crate::decimal::{opt_cow, opt_str};
use crate::error::ParseError;
use rust_decimal::{Decimal, RoundingStrategy};
use schemas::{MarginRatioKind, Market, PositionSide, Ts};
use serde::Deserialize;
use std::borrow::Cow;

const KIND: &str = super::KIND;

/// Account information V3: the totals.
pub const ACCOUNT_PATH: &str = "/fapi/v3/account";
/// Position information V3: the open positions.
pub const POSITIONS_PATH: &str = "/fapi/v3/positionRisk";
/// The account pages, in the order polled.
pub const PAGES: &[&str] = &[ACCOUNT_PATH, POSITIONS_PATH];
/// The scope of the positions list: every position of the account.
pub const SCOPE: &str = "all";

/// Decimals kept of the computed margin ratio (rounded up beyond them).
const RATIO_DP: u32 = 12;

/// `GET /fapi/v3/account` (or v2), the fields read; an error body has `code` and `msg`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AccountInfo<'a> {
    code: Option<i64>,
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    msg: Option<Cow<'a, str>>,
    multi_assets_margin: Option<bool>,
    #[serde(default, deserialize_with = "opt_str")]
    total_initial_margin: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_str")]
    total_maint_margin: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_str")]
    total_wallet_balance: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_str")]
    total_unrealized_profit: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_str")]
    total_margin_balance: Option<Decimal>,
}

/// One row of `GET /fapi/v3/positionRisk` (v2 rows parse too).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PositionRisk<'a> {
    #[serde(borrow)]
    symbol: Cow<'a, str>,
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    position_side: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "opt_str")]
    position_amt: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_str")]
    entry_price: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_str")]
    mark_price: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_str")]
    un_realized_profit: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_str")]
    liquidation_price: Option<Decimal>,
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    margin_asset: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "opt_cow")]
    margin_type: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "opt_str")]
    isolated_wallet: Option<Decimal>,
    #[serde(default, deserialize_with = "opt_str")]
    isolated_margin: Option<Decimal>,
    update_time: Option<i64>,
}

/// Pure: the margin or positions in the response to `path` (module doc).
pub fn parse_account(
    path: &str,
    body: &str,
    emit: &mut dyn FnMut(AccountItem<'_>),
) -> Result<(), ParseError> {
    match path {
        ACCOUNT_PATH | "/fapi/v2/account" => {
            emit(AccountItem::Margin(parse_margin(body)?));
            Ok(())
        }
        POSITIONS_PATH | "/fapi/v2/positionRisk" => {
            for p in parse_positions(body)? {
                emit(AccountItem::Position(p));
            }
            emit(AccountItem::PositionsEnd {
                scope: Cow::Borrowed(SCOPE),
            });
            Ok(())
        }
        _ => Ok(()),
    }
}

fn venue_error(code: i64, msg: Option<&str>) -> ParseError {
    ParseError::Venue {
        venue: KIND,
        message: format!("code {code}: {}", msg.unwrap_or("")),
    }
}

/// `GET /fapi/v3/account` -> the account's margin (module doc).
pub fn parse_margin(body: &str) -> Result<ParsedMargin, ParseError> {
    let a: AccountInfo<'_> =
        serde_json::from_str(body).map_err(|e| ParseError::malformed(KIND, e, body))?;
    if let Some(code) = a.code {
        return Err(venue_error(code, a.msg.as_deref()));
    }
    let (Some(equity), Some(mm)) = (a.total_margin_balance, a.total_maint_margin) else {
        return Err(ParseError::malformed(
            KIND,
            "account without totalMarginBalance or totalMaintMargin",
            body,
        ));
    };
    let currency = if a.multi_assets_margin == Some(true) {
        "USD"
    } else {
        "USDT"
    };
    let mut m = ParsedMargin::new(currency);
    m.equity = Some(equity);
    m.wallet_balance = a.total_wallet_balance;
    m.unrealized_pnl = a.total_unrealized_profit;
    m.initial_margin = a.total_initial_margin;
    m.maintenance_margin = Some(mm);
    m.venue_margin_ratio = mm_over_equity(mm, equity);
    m.venue_margin_ratio_kind = MarginRatioKind::MmOverEquity;
    Ok(m)
}

/// Maintenance margin / equity, rounded up at [`RATIO_DP`]; none without positive equity.
pub fn mm_over_equity(mm: Decimal, equity: Decimal) -> Option<Decimal> {
    if equity <= Decimal::ZERO {
        return None;
    }
    mm.checked_div(equity)
        .map(|r| r.round_dp_with_strategy(RATIO_DP, RoundingStrategy::AwayFromZero))
}

/// `GET /fapi/v3/positionRisk` -> the open positions (module doc). Everything is checked
/// before anything is returned, so a bad row does not leave half a list.
pub fn parse_positions(body: &str) -> Result<Vec<ParsedPosition>, ParseError> {
    if body.trim_start().starts_with('{') {
        let a: AccountInfo<'_> =
            serde_json::from_str(body).map_err(|e| ParseError::malformed(KIND, e, body))?;
        return Err(match a.code {
            Some(code) => venue_error(code, a.msg.as_deref()),
            None => ParseError::malformed(KIND, "positionRisk is not a list", body),
        });
    }
    let rows: Vec<PositionRisk<'_>> =
        serde_json::from_str(body).map_err(|e| ParseError::malformed(KIND, e, body))?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let Some(amt) = r.position_amt else {
            return Err(ParseError::malformed(KIND, "row without positionAmt", body));
        };
        if amt.is_zero() {
            continue;
        }
        let Some((instrument, market, quote)) = instrument_of(&r.symbol) else {
            return Err(ParseError::malformed(KIND, "unknown symbol form", body));
        };
        let hedge_side = match r.position_side.as_deref() {
            Some("LONG") => Some(PositionSide::Long),
            Some("SHORT") => Some(PositionSide::Short),
            Some("BOTH") | None => None,
            Some(_) => return Err(ParseError::malformed(KIND, "unknown positionSide", body)),
        };
        let isolated = match r.margin_type.as_deref() {
            Some(t) => t.eq_ignore_ascii_case("isolated"),
            None => [r.isolated_wallet, r.isolated_margin]
                .into_iter()
                .flatten()
                .any(|v| v > Decimal::ZERO),
        };
        out.push(ParsedPosition {
            venue_symbol: r.symbol.clone().into_owned(),
            instrument,
            market,
            hedge_side,
            side: side_of(amt),
            size: amt.abs(),
            contracts: amt.abs(),
            entry_price: r.entry_price,
            mark_price: r.mark_price,
            unrealized_pnl: r.un_realized_profit,
            pnl_currency: Some(r.margin_asset.map_or(quote, Cow::into_owned)),
            liquidation_price: r.liquidation_price.filter(|p| !p.is_zero()),
            margin_mode: Some(if isolated { "isolated" } else { "cross" }.to_owned()),
            as_of: r.update_time.filter(|t| *t > 0).map(Ts::from_millis),
            scope: Some(Cow::Borrowed(SCOPE)),
        });
    }
    Ok(out)
}

/// Quote assets of USDⓈ-M symbols, longest first.
const QUOTES: [&str; 5] = ["FDUSD", "USDT", "USDC", "BUSD", "BTC"];

/// `BTCUSDT` -> (`BTC-USDT-PERP`, perpetual, `USDT`); `BTCUSDT_250926` -> (`BTC-USDT-20250926`,
/// future, `USDT`); `None` for any other form.
pub fn instrument_of(symbol: &str) -> Option<(String, Market, String)> {
    let (pair, date) = match symbol.split_once('_') {
        Some((pair, date)) => (pair, Some(super::expiry(date)?)),
        None => (symbol, None),
    };
    let (base, quote) = QUOTES.iter().find_map(|q| {
        let base = pair.strip_suffix(q)?;
        (!base.is_empty() && base.bytes().all(|b| b.is_ascii_alphanumeric())).then_some((base, *q))
    })?;
    Some(match date {
        None => (
            format!("{base}-{quote}-PERP"),
            Market::Perpetual,
            quote.into(),
        ),
        Some(d) => (format!("{base}-{quote}-{d}"), Market::Future, quote.into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn instruments_of_symbols() {
        assert_eq!(
            instrument_of("BTCUSDT"),
            Some(("BTC-USDT-PERP".into(), Market::Perpetual, "USDT".into()))
        );
        assert_eq!(
            instrument_of("ETHUSDC"),
            Some(("ETH-USDC-PERP".into(), Market::Perpetual, "USDC".into()))
        );
        assert_eq!(
            instrument_of("BTCUSDT_250926"),
            Some(("BTC-USDT-20250926".into(), Market::Future, "USDT".into()))
        );
        assert_eq!(instrument_of("BTCUSDT_250231"), None);
        assert_eq!(instrument_of("USDT"), None);
        assert_eq!(instrument_of("BTCEUR"), None);
    }

    #[test]
    fn the_ratio_rounds_up_and_needs_positive_equity() {
        assert_eq!(mm_over_equity(dec!(1), dec!(4)), Some(dec!(0.25)));
        assert_eq!(mm_over_equity(dec!(1), dec!(3)), Some(dec!(0.333333333334)));
        assert_eq!(mm_over_equity(dec!(0), dec!(3)), Some(dec!(0)));
        assert_eq!(mm_over_equity(dec!(1), dec!(0)), None);
        assert_eq!(mm_over_equity(dec!(1), dec!(-2)), None);
    }
}
