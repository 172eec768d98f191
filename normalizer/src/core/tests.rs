//! Unit tests of the parent module.

mod quotes {
    use super::super::*;
    use crate::reference::{PairCalculator, PairParams, SourceSpec};
    use rust_decimal::Decimal;
    use schemas::{Market, PriceStatus, SourceRef};

    fn normalizer() -> Normalizer {
        let venues = ["a", "b", "c"];
        let connectors: Vec<ConnectorInfo> = venues
            .iter()
            .enumerate()
            .map(|(i, v)| ConnectorInfo {
                id: format!("{v}-spot"),
                venue: (*v).into(),
                account: None,
                source_kind: SourceKind::Exchange,
                reports_balances: false,
                sources: vec![SourceInfo {
                    venue_symbol: "BTC-USD".into(),
                    instrument: Instrument::new("BTC", "USD", Market::Spot),
                    slot: i,
                }],
            })
            .collect();
        let sources = connectors
            .iter()
            .enumerate()
            .map(|(i, c)| SourceSpec {
                venue: c.venue.clone(),
                connector: c.id.clone(),
                instrument: "BTC-USD".into(),
                quote_asset: "USD".into(),
                static_weight: None,
                slot: i,
            })
            .collect();
        let engine = ReferenceEngine::new(vec![PairCalculator::new(
            PairParams::new("BTC", "USD", false),
            sources,
        )])
        .unwrap();
        Normalizer::new(connectors, engine, 1000)
    }

    fn quote(connector: u32, mid: i64, at_ms: i64, epoch: u64) -> Observation {
        Observation::Quote(QuoteObs {
            source: SourceRef {
                connector,
                instrument: 0,
            },
            bid: Some(Decimal::from(mid) - Decimal::new(1, 2)),
            ask: Some(Decimal::from(mid) + Decimal::new(1, 2)),
            bid_size: None,
            ask_size: None,
            last: None,
            mark: None,
            index: None,
            volume_24h: None,
            exchange_ts: None,
            received_at: Ts::from_millis(at_ms),
            sequence: None,
            epoch,
        })
    }

    fn prices(out: &[Record]) -> Vec<(i64, Option<Decimal>, PriceStatus)> {
        out.iter()
            .filter_map(|r| match r {
                Record::ReferencePrice(p) => Some((p.calc_time.millis(), p.price, p.status)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn quotes_become_price_ticks_and_ticks_cut_at_received_at() {
        let mut n = normalizer();
        let mut out = Vec::new();
        n.start_clock(Ts::from_millis(10_500));
        assert_eq!(n.next_tick(), Some(Ts::from_millis(11_000)));
        for (c, mid, at) in [
            (0, 10_000, 10_600),
            (1, 10_002, 10_700),
            (2, 10_004, 11_000),
        ] {
            n.run_ticks_before(Ts::from_millis(at), &mut out);
            n.apply(quote(c, mid, at, 1), &mut out);
        }
        // A quote received at exactly T belongs to tick T.
        n.run_ticks_before(Ts::from_millis(11_001), &mut out);
        assert_eq!(
            prices(&out),
            vec![(11_000, Some(Decimal::from(10_002)), PriceStatus::Ok)]
        );
        let ticks: Vec<&PriceTick> = out
            .iter()
            .filter_map(|r| match r {
                Record::PriceTick(t) => Some(t),
                _ => None,
            })
            .collect();
        assert_eq!(ticks.len(), 3);
        assert_eq!(ticks[0].connector, "a-spot");
        assert_eq!(ticks[0].instrument, "BTC-USD");
        assert_eq!(ticks[0].bid, Some(Decimal::new(999_999, 2)));
    }

    /// The live loop's order (every price tick at once, state updates held until their cut is
    /// computed) gives the same reference prices and the same price ticks as replay's order
    /// (cuts before each quote, then the whole quote).
    #[test]
    fn deferred_state_updates_give_the_reference_prices_of_replay_order() {
        // (connector, mid, received_at ms, epoch); cuts every 1 s from 11 s.
        let arrivals = [
            (0, 10_000, 10_600, 1),
            (1, 10_002, 10_700, 1),
            (2, 10_004, 11_000, 1), // at the cut: belongs to it
            (0, 10_010, 11_200, 1), // after the 11 s cut: waits for it
            (1, 10_012, 10_900, 1), // late arrival behind a waiting one: waits too
            (2, 10_020, 11_900, 1),
            (0, 10_030, 12_300, 2),
            (0, 99_999, 12_400, 1), // older epoch: dropped in both
            (1, 10_040, 13_500, 1), // two cuts later
            (2, 10_050, 13_600, 1),
        ];
        let obs = |&(c, mid, at, epoch): &(u32, i64, i64, u64)| quote(c, mid, at, epoch);

        let mut replay = normalizer();
        let mut replayed = Vec::new();
        replay.start_clock(Ts::from_millis(10_500));
        for a in &arrivals {
            let o = obs(a);
            replay.run_ticks_before(Ts::from_millis(a.2), &mut replayed);
            replay.apply(o, &mut replayed);
        }
        replay.run_ticks_until(Ts::from_millis(14_000), &mut replayed);

        // Live: the cut for T is computed when a later quote shows up (as the clock would),
        // held updates are applied after it in arrival order, up to the next cut.
        let mut live = normalizer();
        let mut published = Vec::new();
        live.start_clock(Ts::from_millis(10_500));
        let mut held: std::collections::VecDeque<QuoteUpdate> = Default::default();
        let run_due = |n: &mut Normalizer,
                       held: &mut std::collections::VecDeque<QuoteUpdate>,
                       now: Ts,
                       out: &mut Vec<Record>| {
            while let Some(t) = n.next_tick().filter(|&t| t < now) {
                n.run_ticks_until(t, out);
                let next = t.plus_millis(1000);
                while held.front().is_some_and(|u| u.received_at() <= next) {
                    n.apply_quote_state(held.pop_front().unwrap());
                }
            }
        };
        for a in &arrivals {
            let Observation::Quote(q) = obs(a) else {
                unreachable!()
            };
            let r = q.received_at;
            let wait = live.next_tick().is_some_and(|t| r > t) || !held.is_empty();
            if let Some((tick, update)) = live.quote_record(q) {
                published.push(Record::PriceTick(tick));
                if wait {
                    held.push_back(update);
                } else {
                    live.apply_quote_state(update);
                }
            }
            // The clock runs the cuts already passed by the latest arrival.
            run_due(&mut live, &mut held, r, &mut published);
        }
        run_due(
            &mut live,
            &mut held,
            Ts::from_millis(14_001),
            &mut published,
        );
        assert!(held.is_empty());

        let of = |out: &[Record], reference: bool| -> Vec<Record> {
            out.iter()
                .filter(|r| matches!(r, Record::ReferencePrice(_)) == reference)
                .cloned()
                .collect()
        };
        assert_eq!(of(&published, true), of(&replayed, true));
        assert_eq!(of(&published, true).len(), 4, "cuts 11 s to 14 s");
        assert_eq!(of(&published, false), of(&replayed, false));
        assert_eq!(
            of(&published, false).len(),
            9,
            "one tick dropped (older epoch)"
        );
        // The orders differ across topics: live published the 11.2 s tick before the 11 s cut.
        assert_ne!(published, replayed);
        assert_eq!(live.stats(), replay.stats());
    }

    #[test]
    fn a_quote_from_an_older_epoch_is_dropped() {
        let mut n = normalizer();
        let mut out = Vec::new();
        n.apply(quote(0, 100, 1_000, 2), &mut out);
        n.apply(quote(0, 999, 1_001, 1), &mut out);
        assert_eq!(n.stats().stale_epoch_dropped, 1);
        assert_eq!(out.len(), 1, "only the epoch-2 quote became a price tick");
        // Another connector's epochs are its own.
        n.apply(quote(1, 100, 1_002, 1), &mut out);
        assert_eq!(out.len(), 2);
        // Unknown sources are counted, not trusted.
        n.apply(quote(7, 100, 1_003, 1), &mut out);
        assert_eq!(n.stats().unknown_source_dropped, 1);
    }
}

mod valuation_tests {
    use super::super::*;
    use crate::reference::ReferenceEngine;
    use rust_decimal_macros::dec;
    use schemas::{BalanceObs, CollateralStatus, SourceKind};

    fn usd(total: rust_decimal::Decimal, at_ms: i64) -> Observation {
        Observation::Balance(BalanceObs {
            unrealized_pnl: None,
            connector: 0,
            venue_asset: "ZUSD".into(),
            total,
            available: None,
            locked: None,
            borrowed: None,
            pending: None,
            sub_account: None,
            wallet: None,
            as_of: None,
            received_at: Ts::from_millis(at_ms),
            poll_started: None,
            network: None,
        })
    }

    fn reports(out: &[Record]) -> Vec<(u64, CollateralStatus, i64)> {
        out.iter()
            .filter_map(|r| match r {
                Record::CollateralReport(c) => Some((c.seq, c.status, c.calc_time.millis())),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn one_asset_in_several_wallets_of_a_source_counts_in_full() {
        let conn = ConnectorInfo {
            id: "kraken-main".into(),
            venue: "kraken".into(),
            sources: vec![],
            account: Some("fund-a".into()),
            source_kind: SourceKind::Exchange,
            reports_balances: false,
        };
        let mut n = Normalizer::new(vec![conn], ReferenceEngine::new(vec![]).unwrap(), 1000)
            .with_valuation(
                crate::valuation::ValuationParams::default(),
                BTreeMap::from([("fund-a".to_owned(), dec!(150))]),
            );
        let mut out = Vec::new();
        n.start_clock(Ts::from_millis(1_000));
        n.apply(usd(dec!(100), 900), &mut out);
        let mut staked = usd(dec!(60), 950);
        if let Observation::Balance(b) = &mut staked {
            b.wallet = Some("staked".into());
        }
        n.apply(staked, &mut out);
        out.clear();
        n.run_ticks_until(Ts::from_millis(1_000), &mut out);
        let report = out
            .iter()
            .find_map(|r| match r {
                Record::CollateralReport(c) => Some(c),
                _ => None,
            })
            .unwrap();
        assert_eq!(report.assets[0].quantity, dec!(160));
        assert_eq!(report.status, CollateralStatus::Ok);
    }

    #[test]
    fn reports_every_tick_and_at_once_on_a_status_change() {
        let conn = ConnectorInfo {
            id: "kraken-main".into(),
            venue: "kraken".into(),
            sources: vec![],
            account: Some("fund-a".into()),
            source_kind: SourceKind::Exchange,
            reports_balances: false,
        };
        let mut n = Normalizer::new(vec![conn], ReferenceEngine::new(vec![]).unwrap(), 1000)
            .with_valuation(
                crate::valuation::ValuationParams::default(),
                BTreeMap::from([("fund-a".to_owned(), dec!(100))]),
            );
        let mut out = Vec::new();
        n.start_clock(Ts::from_millis(1_000));
        n.apply(usd(dec!(150), 1_000), &mut out);
        n.run_ticks_until(Ts::from_millis(1_000), &mut out);
        assert_eq!(reports(&out), vec![(1, CollateralStatus::Ok, 1_000)]);
        out.clear();
        // Between ticks the cash drops below the requirement: reported at once, not at 2 s.
        n.apply(usd(dec!(50), 1_400), &mut out);
        assert_eq!(
            reports(&out),
            vec![(2, CollateralStatus::MarginCall, 1_400)]
        );
        out.clear();
        // Still short: no extra report until the tick.
        n.apply(usd(dec!(40), 1_500), &mut out);
        assert!(reports(&out).is_empty());
        n.run_ticks_until(Ts::from_millis(2_000), &mut out);
        assert_eq!(
            reports(&out),
            vec![(3, CollateralStatus::MarginCall, 2_000)]
        );
    }
}
