//! Exchange balance parsers on responses and pushes we did not write: the venues' own doc
//! examples and test data published by other open-source projects that consume these APIs
//! (nautilus_trader), copied byte for byte into `tests/fixtures/<venue>/` with provenance in
//! `tests/fixtures/README.md`. No fixture here is edited.
//!
//! Every expected figure is computed by hand from the payload and the rule in the venue's
//! `parse.rs` header (the split rule of `venues::split_held`: available = min(venue's free
//! figure, total − held), clamped to `[0, total]`; locked = total − available), never copied
//! from a run. Each case also checks `available + locked == total` and that `available` never
//! exceeds `total − held` (nothing held is available).

use crate::support::balance_stream::parse_owned;
use connectors::registry;
use connectors::traits::FrameKind;
use connectors::transport::rest::{ParsedBalance, PollingVenue};
use connectors::venues::bybit::BybitWalletStream;
use connectors::venues::okx::stream::OkxAccountStream;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use schemas::Ts;

fn polling(kind: &str) -> &'static dyn PollingVenue {
    registry::polling(kind).unwrap_or_else(|| panic!("{kind} is a polling venue"))
}

fn parse(kind: &str, body: &str) -> Vec<ParsedBalance<'static>> {
    let mut out = Vec::new();
    let next = polling(kind)
        .parse_balances(body, &mut |b| {
            out.push(ParsedBalance {
                venue_asset: b.venue_asset.into_owned().into(),
                sub_account: b.sub_account.map(|s| s.into_owned().into()),
                wallet: b.wallet.map(|s| s.into_owned().into()),
                network: b.network.map(|s| s.into_owned().into()),
                ..b
            })
        })
        .unwrap_or_else(|e| panic!("{kind}: {e}"));
    assert_eq!(next, None, "{kind}: one page");
    out
}

/// One expected row: asset, total, available, locked.
type Row = (&'static str, Decimal, Decimal, Decimal);

/// The rows' asset, total, available and locked, exactly (by value and by text, so the venue's
/// scale is kept), and the two invariants. `held` gives, per asset, the venue's held parts
/// summed by hand: available may never exceed total − held.
#[track_caller]
fn assert_rows(got: &[ParsedBalance<'_>], want: &[Row], held: &[(&str, Decimal)]) {
    let got_rows: Vec<_> = got
        .iter()
        .map(|b| {
            (
                b.venue_asset.to_string(),
                b.total,
                b.available.expect("available"),
                b.locked.expect("locked"),
            )
        })
        .collect();
    let want_rows: Vec<_> = want
        .iter()
        .map(|(a, t, av, l)| (a.to_string(), *t, *av, *l))
        .collect();
    assert_eq!(got_rows, want_rows);
    for (g, w) in got_rows.iter().zip(want) {
        assert_eq!(g.1.to_string(), w.1.to_string(), "{}: total as sent", g.0);
        assert_eq!(g.2 + g.3, g.1, "{}: available + locked == total", g.0);
        assert!(
            g.2 >= Decimal::ZERO && g.2 <= g.1.max(Decimal::ZERO),
            "{}",
            g.0
        );
    }
    for (asset, h) in held {
        let g = got_rows
            .iter()
            .find(|g| g.0 == *asset)
            .unwrap_or_else(|| panic!("{asset} missing"));
        assert!(
            g.2 <= (g.1 - h).max(Decimal::ZERO),
            "{asset}: held {h} must not be available"
        );
        assert!(g.3 >= (*h).min(g.1), "{asset}: held {h} is locked");
    }
}

// ---------------------------------------------------------------------------------------------
// binance (spot, `GET /api/v3/account`)

const BINANCE_ACCOUNT: &str =
    include_str!("../../fixtures/binance/rest_account_GET_api_v3_account_docs_example.json");

/// Binance's docs example is a dormant account: `updateTime` 123456789 ms is 1970-01-02, and
/// that is still its balance (as_of is the venue's last change, never dropped for its age).
/// `free` is available, `locked` locked, the total their sum.
#[test]
fn binance_docs_account_is_a_dormant_account_kept_exactly() {
    let b = parse("binance", BINANCE_ACCOUNT);
    assert_rows(
        &b,
        &[
            (
                "BTC",
                dec!(4723846.89208129),
                dec!(4723846.89208129),
                dec!(0.00000000),
            ),
            (
                "LTC",
                dec!(4763368.68006011),
                dec!(4763368.68006011),
                dec!(0.00000000),
            ),
        ],
        &[],
    );
    for r in &b {
        assert_eq!(r.as_of, Some(Ts::from_millis(123_456_789)));
        assert_eq!((r.borrowed, r.pending), (None, None));
        assert_eq!(
            (r.wallet.as_deref(), r.sub_account.as_deref()),
            (None, None)
        );
    }
    // The total keeps Binance's 8 decimals (free + locked = 4723846.89208129 + 0.00000000).
    assert_eq!(b[0].total.to_string(), "4723846.89208129");
}

// ---------------------------------------------------------------------------------------------
// binance_usdm (`GET /fapi/v3/balance`; nautilus publishes the v2 reply, same fields)

const USDM_BALANCE_NAUTILUS: &str =
    include_str!("../../fixtures/binance_usdm/rest_balance_fapi_nautilus.json");

/// `balance` 122.12345678, `availableBalance` = `maxWithdrawAmount` = 122.12345678: nothing
/// held. `as_of` = `updateTime` 1617939110373 (2021-04-09), a wallet idle since then.
#[test]
fn binance_usdm_nautilus_balance_unused_wallet() {
    let b = parse("binance_usdm", USDM_BALANCE_NAUTILUS);
    assert_rows(
        &b,
        &[("USDT", dec!(122.12345678), dec!(122.12345678), dec!(0))],
        &[],
    );
    assert_eq!(b[0].as_of, Some(Ts::from_millis(1_617_939_110_373)));
    // `accountAlias` is not an account name we publish.
    assert_eq!(b[0].sub_account, None);
}

// ---------------------------------------------------------------------------------------------
// bybit (`GET /v5/account/wallet-balance` and the private `wallet` topic)

const BYBIT_WALLET: &str =
    include_str!("../../fixtures/bybit/http_get_wallet_balance_nautilus.json");
const BYBIT_SPOT_SHORT: &str =
    include_str!("../../fixtures/bybit/http_get_wallet_balance_spot_short_nautilus.json");
const BYBIT_SPOT_BORROW: &str =
    include_str!("../../fixtures/bybit/http_get_wallet_balance_with_spot_borrow_nautilus.json");
const BYBIT_WS_WALLET: &str = include_str!("../../fixtures/bybit/ws_account_wallet_nautilus.json");
const BYBIT_WS_SMALL_ORDER: &str =
    include_str!("../../fixtures/bybit/ws_account_wallet_small_order_nautilus.json");
const BYBIT_WS_LOCKED_EXCEEDS: &str =
    include_str!("../../fixtures/bybit/ws_account_wallet_locked_exceeds_total_nautilus.json");

fn bybit_stream(frame: &str) -> Vec<ParsedBalance<'static>> {
    let (kind, b) = parse_owned(&BybitWalletStream, frame).unwrap();
    assert_eq!(kind, FrameKind::Data);
    b
}

/// A zero BTC row (everything "0", `borrowAmount` "0.0") next to USDT 1000.50 with no order or
/// position margin fields at all (held = `locked` 0 only) and `availableToWithdraw` 1000.50,
/// and an ETH spot short (`walletBalance` 0, `borrowAmount` 0.06142).
#[test]
fn bybit_nautilus_wallet_zero_coin_and_free_usdt() {
    let b = parse("bybit", BYBIT_WALLET);
    assert_rows(
        &b,
        &[
            ("BTC", dec!(0), dec!(0), dec!(0)),
            ("USDT", dec!(1000.50), dec!(1000.50), dec!(0)),
            ("ETH", dec!(0), dec!(0), dec!(0)),
        ],
        &[("BTC", dec!(0)), ("USDT", dec!(0)), ("ETH", dec!(0))],
    );
    assert_eq!(b[0].borrowed, Some(dec!(0.0)));
    assert_eq!(b[1].borrowed, Some(dec!(0)));
    // ETH is a spot short: nothing held, 0.06142 owed.
    assert_eq!(b[2].borrowed, Some(dec!(0.06142)));
    for r in &b {
        assert_eq!(r.wallet.as_deref(), Some("UNIFIED"));
        // `time` 1234567890 ms: Bybit's time of the snapshot, however old.
        assert_eq!(r.as_of, Some(Ts::from_millis(1_234_567_890)));
    }
}

/// A spot short: ETH `walletBalance` 0 with `borrowAmount` 0.06142 (the debt is `borrowed`,
/// never a negative holding); USDT 2500.00 all free.
#[test]
fn bybit_nautilus_spot_short_is_zero_held_with_the_debt_borrowed() {
    let b = parse("bybit", BYBIT_SPOT_SHORT);
    assert_rows(
        &b,
        &[
            ("ETH", dec!(0), dec!(0), dec!(0)),
            ("USDT", dec!(2500.00), dec!(2500.00), dec!(0)),
        ],
        &[],
    );
    assert_eq!(b[0].borrowed, Some(dec!(0.06142)));
    assert_eq!(b[1].borrowed, Some(dec!(0)));
}

/// USDT `walletBalance` 1200.00, `locked` 0 and no margin fields, but Bybit says only 800.00
/// can be withdrawn (200.00 borrowed): the smaller figure wins, 400.00 is held.
#[test]
fn bybit_nautilus_spot_borrow_caps_available_at_what_bybit_lets_out() {
    let b = parse("bybit", BYBIT_SPOT_BORROW);
    assert_rows(
        &b,
        &[("USDT", dec!(1200.00), dec!(800.00), dec!(400.00))],
        &[],
    );
    assert_eq!(b[0].borrowed, Some(dec!(200.00)));
}

/// The `wallet` push: BTC with an open order (`totalOrderIM` 0.00010000, held) and USDT with
/// margin in use (`totalPositionIM` 127.8573161, held). Bybit's `availableToWithdraw` agrees
/// with total − held in both: 0.00102964 − 0.0001 = 0.00092964 and 9647.75537647 −
/// 127.8573161 = 9519.89806037. The push names no `accountType`: `wallet` is None.
#[test]
fn bybit_nautilus_wallet_push_open_order_and_position_margin_are_held() {
    let b = bybit_stream(BYBIT_WS_WALLET);
    assert_rows(
        &b,
        &[
            ("BTC", dec!(0.00102964), dec!(0.00092964), dec!(0.00010000)),
            (
                "USDT",
                dec!(9647.75537647),
                dec!(9519.89806037),
                dec!(127.8573161),
            ),
        ],
        &[("BTC", dec!(0.00010000)), ("USDT", dec!(127.8573161))],
    );
    for r in &b {
        assert_eq!(r.as_of, Some(Ts::from_millis(1_700_034_722_104)));
        assert_eq!(r.wallet, None);
        assert_eq!(r.borrowed, Some(dec!(0)));
    }
}

/// USDT 51333.82543837 with a 50.028 order margin, and `availableToWithdraw` "0": Bybit says
/// nothing can leave, so nothing is available although total − held is 51283.79743837.
#[test]
fn bybit_nautilus_wallet_push_withdrawable_zero_means_nothing_free() {
    let b = bybit_stream(BYBIT_WS_SMALL_ORDER);
    assert_rows(
        &b,
        &[("USDT", dec!(51333.82543837), dec!(0), dec!(51333.82543837))],
        &[("USDT", dec!(50.028))],
    );
    assert_eq!(b[0].as_of, Some(Ts::from_millis(1_762_960_669_000)));
}

/// Order and position margin (80.0 + 40.0 = 120.0) above the 100.0 wallet (cross margin drawn
/// from other collateral): nothing is free, all 100.0 is locked, never a negative available.
#[test]
fn bybit_nautilus_wallet_push_margin_beyond_the_balance_locks_it_all() {
    let b = bybit_stream(BYBIT_WS_LOCKED_EXCEEDS);
    assert_rows(
        &b,
        &[("USDT", dec!(100.0), dec!(0), dec!(100.0))],
        &[("USDT", dec!(120.0))],
    );
}

// ---------------------------------------------------------------------------------------------
// kraken (`POST /0/private/BalanceEx`, `POST /0/private/Balance`)

const KRAKEN_BALANCE_EX: &str = include_str!("../../fixtures/kraken/rest_BalanceEx_nautilus.json");
const KRAKEN_BALANCE: &str = include_str!("../../fixtures/kraken/rest_Balance_nautilus.json");

fn by_asset(mut b: Vec<ParsedBalance<'static>>) -> Vec<ParsedBalance<'static>> {
    b.sort_by(|x, y| x.venue_asset.cmp(&y.venue_asset));
    b
}

/// Open orders hold 1500.00 ZUSD and 0.1 XXBT (`hold_trade`); no credit fields, so Kraken's
/// available figure is `balance − hold_trade` too. Kraken's own codes (`ZUSD`, `XXBT`) and
/// the newer `ETH` pass through unmapped; no time in the reply, `as_of` None.
#[test]
fn kraken_nautilus_balance_ex_open_orders_are_held() {
    let b = by_asset(parse("kraken", KRAKEN_BALANCE_EX));
    assert_rows(
        &b,
        &[
            ("ETH", dec!(2.0), dec!(2.0), dec!(0)),
            ("XXBT", dec!(0.5), dec!(0.4), dec!(0.1)),
            ("ZUSD", dec!(200000.00), dec!(198500.00), dec!(1500.00)),
        ],
        &[
            ("XXBT", dec!(0.1)),
            ("ZUSD", dec!(1500.00)),
            ("ETH", dec!(0)),
        ],
    );
    for r in &b {
        assert_eq!((r.as_of, r.wallet.as_deref()), (None, None));
    }
}

/// The older `Balance` gives totals only: available and locked stay unknown (None), never the
/// total taken as free.
#[test]
fn kraken_nautilus_balance_totals_only() {
    let b = by_asset(parse("kraken", KRAKEN_BALANCE));
    let rows: Vec<_> = b
        .iter()
        .map(|r| (r.venue_asset.to_string(), r.total, r.available, r.locked))
        .collect();
    assert_eq!(
        rows,
        vec![
            ("ETH".to_string(), dec!(2.0), None, None),
            ("XXBT".to_string(), dec!(0.5), None, None),
            ("ZUSD".to_string(), dec!(200000.00), None, None),
        ]
    );
    assert_eq!(b[2].total.to_string(), "200000.00");
}

// ---------------------------------------------------------------------------------------------
// deribit (`private/get_account_summaries`)

const DERIBIT_CROSS_PM: &str = include_str!(
    "../../fixtures/deribit/rest_private_get_account_summaries_cross_margin_nautilus.json"
);

/// A live-looking cross portfolio-margin account (`testnet` false, `usIn`/`usOut`): dust
/// balances in exponent notation (BTC 2.288e-5, ETH 8.6e-5), a zero SOL balance carrying
/// margin (`initial_margin` 0.00924785), and `available_withdrawal_funds` a hair under the
/// balance (USDT 23.618645 of 23.61869: 0.000045 held; ETH 8.5e-5 of 8.6e-5: 0.000001 held).
/// `as_of` = `usOut` 1778048572538862 µs.
#[test]
fn deribit_nautilus_cross_margin_dust_zero_and_margin_in_use() {
    let b = parse("deribit", DERIBIT_CROSS_PM);
    let rows: Vec<_> = b
        .iter()
        .map(|r| {
            (
                r.venue_asset.to_string(),
                r.total,
                r.available.unwrap(),
                r.locked.unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            ("BTC".into(), dec!(0.00002288), dec!(0.00002288), dec!(0)),
            (
                "USDT".into(),
                dec!(23.61869),
                dec!(23.618645),
                dec!(0.000045)
            ),
            ("SOL".into(), dec!(0), dec!(0), dec!(0)),
            ("ETH".into(), dec!(0.000086), dec!(0.000085), dec!(0.000001)),
        ]
    );
    for (_, t, a, l) in &rows {
        assert_eq!(a + l, *t);
    }
    for r in &b {
        assert_eq!(r.as_of, Some(Ts::from_micros(1_778_048_572_538_862)));
    }
}

// ---------------------------------------------------------------------------------------------
// okx (private `account` channel)

const OKX_ACCOUNT_EMPTY: &str =
    include_str!("../../fixtures/okx/ws_private_account_empty_nautilus.json");

/// An account push with no currency (`details` []: an empty or never funded account) is
/// data, and gives no balance row: nothing is invented, no zero row for an unnamed asset.
#[test]
fn okx_nautilus_empty_account_push_gives_no_balance() {
    let (kind, b) = parse_owned(&OkxAccountStream, OKX_ACCOUNT_EMPTY).unwrap();
    assert_eq!(kind, FrameKind::Data);
    assert!(b.is_empty(), "{b:?}");
}
