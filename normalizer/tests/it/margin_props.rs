//! Invariants of the margin engine: the revaluation kernel is the valuation method exactly,
//! adding collateral never raises a call, every suggested top-up cures the call when it is
//! really added and revalued by the valuation, ES >= VaR, and ES never decreases when a loss
//! scenario (a loss at least the current ES) is added or a scenario's loss grows.

use crate::margin_support::{hold, kernel, prices, report_of};
use normalizer::margin::book::Book;
use normalizer::margin::calls::{exact_cv, margin_call, CallInputs};
use normalizer::margin::config::{AssetSteps, CsaTerms};
use normalizer::margin::risk::es_var;
use normalizer::valuation::Holding;
use proptest::prelude::*;
use rust_decimal::Decimal;
use schemas::{CallDirection, ReferencePrice};
use std::collections::HashMap;

const ASSETS: &[&str] = &["BTC", "ETH", "USDT", "USDC", "SOL", "FOO", "USD"];

fn holdings() -> impl Strategy<Value = Vec<Holding>> {
    prop::collection::vec(
        (0..ASSETS.len(), 0..3usize, -20_000i64..3_000_000, 0u32..=3),
        1..8,
    )
    .prop_map(|rows| {
        rows.into_iter()
            .map(|(a, s, m, sc)| hold(&format!("src-{s}"), ASSETS[a], Decimal::new(m, sc)))
            .collect()
    })
}

/// Prices that reach every tier, and stablecoins around and off the peg.
fn price_table() -> impl Strategy<Value = HashMap<String, ReferencePrice>> {
    (
        1_000_000i64..10_000_000,
        100_000i64..500_000,
        9_500i64..10_100,
        9_900i64..10_050,
        1_000i64..30_000,
        1i64..1_000,
    )
        .prop_map(|(btc, eth, usdt, usdc, sol, tail)| {
            prices(&[
                ("BTC", Decimal::new(btc, 2)),
                ("ETH", Decimal::new(eth, 2)),
                ("USDT", Decimal::new(usdt, 4)),
                ("USDC", Decimal::new(usdc, 4)),
                ("SOL", Decimal::new(sol, 2)),
                ("FOO", Decimal::new(tail, 2)),
            ])
        })
}

fn terms() -> impl Strategy<Value = CsaTerms> {
    (0i64..1_000_000, 0i64..500_000, 0usize..3, 100i64..130).prop_map(|(thr, mta, r, target)| {
        CsaTerms {
            threshold: Decimal::from(thr),
            minimum_transfer_amount: Decimal::from(mta),
            rounding: [
                Decimal::new(1, 2),
                Decimal::from(1000),
                Decimal::from(10_000),
            ][r],
            call_target: Decimal::new(target, 2),
            ..CsaTerms::default()
        }
    })
}

fn call_of(
    report: &schemas::CollateralReport,
    terms: &CsaTerms,
    prices: &HashMap<String, ReferencePrice>,
) -> schemas::MarginCallRecord {
    let steps = AssetSteps::new();
    let inp = CallInputs {
        report,
        terms,
        prices,
        steps: &steps,
        params_hash: "p",
        seq: 1,
    };
    margin_call(&kernel(), &inp, None).0
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn the_kernel_is_the_valuation_method(hs in holdings(), p in price_table()) {
        let report = report_of(&hs, &p, None);
        let k = kernel();
        let (book, p0) = Book::from_report(&k, &report);
        let (cv, excess) = k.cv_parts(&book, &p0, &mut Vec::new());
        prop_assert_eq!((cv, excess), exact_cv(&report));
        // From the raw rows of every source, summed before tiering: the same figure.
        let rows = Book::from_rows(&k, hs.iter().map(|h| (h.asset.as_str(), h.quantity)));
        prop_assert_eq!(rows, book);
    }

    #[test]
    fn adding_collateral_never_raises_a_call(
        hs in holdings(),
        p in price_table(),
        t in terms(),
        req in 1_000_000i64..200_000_000,
        extra in (0..ASSETS.len(), 1i64..1_000_000),
    ) {
        let req = Some(Decimal::from(req));
        let before = call_of(&report_of(&hs, &p, req), &t, &p);
        let mut more = hs.clone();
        more.push(hold("src-extra", ASSETS[extra.0], Decimal::new(extra.1, 1)));
        let after = call_of(&report_of(&more, &p, req), &t, &p);
        if after.direction == CallDirection::Call {
            prop_assert_eq!(before.direction, CallDirection::Call);
            prop_assert!(after.amount <= before.amount, "{} > {}", after.amount, before.amount);
            prop_assert!(after.raw_amount <= before.raw_amount);
        }
    }

    #[test]
    fn every_topup_cures_the_call_when_really_added(
        hs in holdings(),
        p in price_table(),
        t in terms(),
        req in 1_000_000i64..200_000_000,
    ) {
        let req = Some(Decimal::from(req));
        let call = call_of(&report_of(&hs, &p, req), &t, &p);
        prop_assume!(call.direction == CallDirection::Call);
        prop_assert!(!call.topups.is_empty());
        for topup in &call.topups {
            let mut cured = hs.clone();
            cured.push(hold("topup", &topup.asset, topup.quantity));
            let after = call_of(&report_of(&cured, &p, req), &t, &p);
            prop_assert_ne!(after.direction, CallDirection::Call, "{:?} does not cure", topup);
        }
    }

    #[test]
    fn es_is_at_least_var_and_a_tail_loss_never_lowers_it(
        raw in prop::collection::vec(-1_000_000i64..1_000_000, 1..300),
        alpha in 500i64..999,
        bump in (0usize..300, 1i64..1_000_000),
        extra in 0i64..1_000_000,
    ) {
        let losses: Vec<Decimal> = raw.iter().map(|l| Decimal::new(*l, 2)).collect();
        let alpha = Decimal::new(alpha, 3);
        let (es, var) = es_var(&losses, alpha).unwrap();
        prop_assert!(es >= var, "ES {} < VaR {}", es, var);
        // A scenario whose loss is at least the current ES added: ES does not fall.
        let mut more = losses.clone();
        more.push(es.max(Decimal::ZERO) + Decimal::new(extra, 2));
        let (es_more, _) = es_var(&more, alpha).unwrap();
        prop_assert!(es_more >= es - Decimal::new(1, 20), "{} < {}", es_more, es);
        // One scenario's loss grows: ES does not fall.
        let mut worse = losses.clone();
        let i = bump.0 % worse.len();
        worse[i] += Decimal::new(bump.1, 2);
        let (es_worse, _) = es_var(&worse, alpha).unwrap();
        prop_assert!(es_worse >= es, "{} < {}", es_worse, es);
    }
}
