//! Encumbrance (compliance.md section 3) through the valuer: mirrors count once (H3), pledges
//! (H2), the reuse cap (H1). Figures from compliance.md's worked examples.

use normalizer::valuation::encumbrance::{Encumbrance, Mirror, Pledge};
use normalizer::valuation::{AccountValuer, ValuationParams};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use schemas::{
    BalanceSchema, BalanceSnapshot, CollateralReport, PriceStatus, ReferencePrice,
    ReferencePriceSchema, SourceKind, Ts,
};
use std::collections::{BTreeMap, HashMap};

fn t0() -> Ts {
    Ts::parse_rfc3339("2026-12-04T12:00:00Z").unwrap()
}

fn bal(source: &str, kind: SourceKind, total: Decimal, locked: Decimal) -> BalanceSnapshot {
    BalanceSnapshot {
        schema: BalanceSchema,
        account: "fund-a".into(),
        source: source.into(),
        source_kind: kind,
        venue: source.into(),
        sub_account: None,
        wallet: None,
        asset: "BTC".into(),
        venue_asset: "BTC".into(),
        network: None,
        total,
        available: total - locked,
        locked,
        borrowed: None,
        pending: None,
        as_of: t0(),
        received_at: t0(),
        unrealized_pnl: None,
    }
}

fn btc_price() -> HashMap<String, ReferencePrice> {
    let p = dec!(64000);
    HashMap::from([(
        "BTC".to_owned(),
        ReferencePrice {
            schema: ReferencePriceSchema,
            base: "BTC".into(),
            quote: "USD".into(),
            price: Some(p),
            status: PriceStatus::Ok,
            reasons: vec![],
            calc_time: t0(),
            seq: 1,
            conf: None,
            price_low: None,
            price_high: None,
            n_configured: 1,
            n_fresh: 1,
            n_valid: 1,
            last_good_price: Some(p),
            last_good_time: Some(t0()),
            method_version: "median-v1".into(),
            params_hash: String::new(),
            input_digest: String::new(),
            constituents: vec![],
        },
    )])
}

fn report(balances: &[BalanceSnapshot], e: Encumbrance) -> CollateralReport {
    let mut v = AccountValuer::new(ValuationParams::default());
    v.set_encumbrance("fund-a", e);
    for b in balances {
        v.on_balance(b);
    }
    v.value(t0().plus_millis(1000), &btc_price(), &BTreeMap::new())
        .into_iter()
        .find(|r| r.account == "fund-a")
        .expect("a report")
}

fn mirror() -> Encumbrance {
    Encumbrance {
        mirrors: vec![Mirror {
            custodian: "copper-main".into(),
            exchange: "binance-main".into(),
            assets: vec!["BTC".into()],
        }],
        ..Default::default()
    }
}

fn has(flags: &[String], f: &str) -> bool {
    flags.iter().any(|x| x == f)
}

#[test]
fn h3_mirrored_coins_count_once() {
    let custodian = bal("copper-main", SourceKind::Custodian, dec!(100), dec!(100));
    // The exchange shows 102: counted 102, not 202; 2 held at the exchange's risk.
    let r = report(
        &[
            custodian.clone(),
            bal("binance-main", SourceKind::Exchange, dec!(102), dec!(0)),
        ],
        mirror(),
    );
    let a = &r.assets[0];
    assert_eq!(a.quantity, dec!(102));
    assert_eq!(a.mirrored, Some(dec!(100)));
    assert_eq!(a.exchange_exposure, Some(dec!(2)));
    assert_eq!(a.mirror_shortfall, Some(dec!(0)));
    assert!(
        has(&a.flags, "UNSETTLED_PNL") && has(&r.flags, "UNSETTLED_PNL"),
        "{:?}",
        a.flags
    );
    assert_eq!(a.market_value, dec!(6528000));
    // 98: counted 98, a shortfall of 2 the locked coins will settle.
    let r = report(
        &[
            custodian.clone(),
            bal("binance-main", SourceKind::Exchange, dec!(98), dec!(0)),
        ],
        mirror(),
    );
    let a = &r.assets[0];
    assert_eq!(a.quantity, dec!(98));
    assert_eq!(a.mirror_shortfall, Some(dec!(2)));
    assert_eq!(a.exchange_exposure, Some(dec!(0)));
    assert!(has(&a.flags, "MIRROR_SHORTFALL"));
    assert!(!has(&a.flags, "UNSETTLED_PNL"));
    // Without the mirror the same balances count twice (what the mirror prevents).
    let r = report(
        &[
            custodian,
            bal("binance-main", SourceKind::Exchange, dec!(102), dec!(0)),
        ],
        Encumbrance::default(),
    );
    assert_eq!(r.assets[0].quantity, dec!(202));
    assert_eq!(r.assets[0].mirrored, None);
}

#[test]
fn a_custodians_unlocked_coins_count_beside_the_mirror() {
    // 150 at the custodian, 100 of them locked for the exchange, which shows 100: 150.
    let r = report(
        &[
            bal("copper-main", SourceKind::Custodian, dec!(150), dec!(100)),
            bal("binance-main", SourceKind::Exchange, dec!(100), dec!(0)),
        ],
        mirror(),
    );
    assert_eq!(r.assets[0].quantity, dec!(150));
    assert!(r.assets[0].flags.is_empty(), "{:?}", r.assets[0].flags);
}

#[test]
fn h2_overpledged() {
    let e = Encumbrance {
        pledges: vec![
            Pledge {
                asset: "BTC".into(),
                quantity: dec!(60),
                counterparty: "lender-1".into(),
                reuse: false,
            },
            Pledge {
                asset: "BTC".into(),
                quantity: dec!(50),
                counterparty: "lender-2".into(),
                reuse: false,
            },
        ],
        ..Default::default()
    };
    let r = report(
        &[bal(
            "copper-main",
            SourceKind::Custodian,
            dec!(100),
            dec!(0),
        )],
        e,
    );
    let a = &r.assets[0];
    assert_eq!(a.pledged, Some(dec!(110)));
    assert_eq!(a.unencumbered, Some(dec!(0)));
    assert_eq!(a.overpledged, Some(dec!(10)));
    assert!(has(&a.flags, "OVERPLEDGED") && has(&r.flags, "OVERPLEDGED"));
    // No reuse terms: the account's reuse fields stay null.
    assert_eq!(r.reuse_value, None);
}

#[test]
fn h1_reuse_cap_breach() {
    // 2.5 BTC at 64,000 re-usable by the lender: 160,000 against 140 % of 100,000.
    let e = Encumbrance {
        pledges: vec![Pledge {
            asset: "BTC".into(),
            quantity: dec!(2.5),
            counterparty: "lender-1".into(),
            reuse: true,
        }],
        debit_balance: Some(dec!(100000)),
        ..Default::default()
    };
    let r = report(
        &[bal(
            "copper-main",
            SourceKind::Custodian,
            dec!(100),
            dec!(0),
        )],
        e.clone(),
    );
    assert_eq!(r.reuse_value, Some(dec!(160000.0)));
    assert_eq!(r.reuse_cap, Some(dec!(140000.00)));
    assert_eq!(r.reuse_excess, Some(dec!(20000.00)));
    assert!(has(&r.flags, "REUSE_CAP_BREACH"));
    assert_eq!(r.assets[0].pledged, Some(dec!(2.5)));
    assert_eq!(r.assets[0].unencumbered, Some(dec!(97.5)));
    // Within the cap: no breach, no excess.
    let within = Encumbrance {
        reuse_cap_pct: Some(dec!(200)),
        ..e
    };
    let r = report(
        &[bal(
            "copper-main",
            SourceKind::Custodian,
            dec!(100),
            dec!(0),
        )],
        within,
    );
    assert_eq!(r.reuse_cap, Some(dec!(200000.00)));
    assert_eq!(r.reuse_excess, None);
    assert!(!has(&r.flags, "REUSE_CAP_BREACH"));
}

#[test]
fn accounts_without_terms_report_nulls_and_unchanged_digests() {
    let b = [bal(
        "copper-main",
        SourceKind::Custodian,
        dec!(100),
        dec!(40),
    )];
    let plain = report(&b, Encumbrance::default());
    assert_eq!(plain.assets[0].pledged, None);
    assert_eq!(plain.assets[0].mirrored, None);
    assert_eq!(plain.reuse_cap, None);
    let with = report(&b, mirror());
    // Terms are inputs: they change the digest.
    assert_ne!(plain.input_digest, with.input_digest);
}
