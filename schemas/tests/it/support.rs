//! Sample records shared by the golden and JSON Schema tests.

use rust_decimal_macros::dec;
use schemas::*;

pub fn t(s: &str) -> Ts {
    Ts::parse_rfc3339(s).unwrap()
}

pub fn price_tick() -> PriceTick {
    PriceTick {
        schema: PriceTickSchema,
        venue: "binance".into(),
        connector: "binance-spot".into(),
        venue_symbol: "BTCUSDT".into(),
        instrument: "BTC-USDT".into(),
        base: "BTC".into(),
        quote: "USDT".into(),
        market: Market::Spot,
        bid: Some(dec!(64003.25000000)),
        ask: Some(dec!(64003.26)),
        bid_size: Some(dec!(0.00100000)),
        ask_size: Some(dec!(1.5)),
        last: None,
        mark: None,
        index: None,
        exchange_ts: None,
        received_at: t("2026-11-24T11:00:00.123456Z"),
        sequence: Some(400900217),
        epoch: 1,
    }
}

pub fn balance() -> BalanceSnapshot {
    BalanceSnapshot {
        unrealized_pnl: None,
        schema: BalanceSchema,
        account: "fund-a".into(),
        source: "kraken-main".into(),
        source_kind: SourceKind::Exchange,
        venue: "kraken".into(),
        sub_account: None,
        wallet: None,
        asset: "BTC".into(),
        venue_asset: "XXBT".into(),
        network: None,
        total: dec!(1.2500000000),
        available: dec!(1.0000000000),
        locked: dec!(0.2500000000),
        borrowed: None,
        pending: None,
        as_of: t("2026-11-24T11:00:01.000000Z"),
        received_at: t("2026-11-24T11:00:01.000000Z"),
    }
}

pub fn reference_price() -> ReferencePrice {
    ReferencePrice {
        schema: ReferencePriceSchema,
        base: "BTC".into(),
        quote: "USD".into(),
        price: Some(dec!(64003.25)),
        status: PriceStatus::Ok,
        reasons: vec![],
        calc_time: t("2026-11-24T11:00:02.000000Z"),
        seq: 7,
        conf: Some(dec!(2.75)),
        price_low: Some(dec!(64000.50)),
        price_high: Some(dec!(64006.00)),
        n_configured: 2,
        n_fresh: 2,
        n_valid: 1,
        last_good_price: Some(dec!(64003.25)),
        last_good_time: Some(t("2026-11-24T11:00:02.000000Z")),
        method_version: "median-v1".into(),
        params_hash: "0f".repeat(32),
        input_digest: "a1".repeat(32),
        constituents: vec![
            Constituent {
                venue: "binance".into(),
                connector: "binance-spot".into(),
                instrument: "BTC-USDT".into(),
                bid: Some(dec!(64000.00)),
                ask: Some(dec!(64001.00)),
                last: None,
                source_price: Some(dec!(64000.50)),
                price_type: Some(PriceType::Mid),
                fx_rate: Some(dec!(1.0001)),
                price: Some(dec!(64006.900050)),
                weight: Some(dec!(1)),
                exchange_ts: None,
                received_at: Some(t("2026-11-24T11:00:01.900000Z")),
                age_ms: Some(100),
                dev_bps: Some(dec!(0.00)),
                included: true,
                exclusion_reason: None,
            },
            Constituent {
                venue: "kraken".into(),
                connector: "kraken-spot".into(),
                instrument: "BTC-USD".into(),
                bid: None,
                ask: None,
                last: None,
                source_price: None,
                price_type: None,
                fx_rate: None,
                price: None,
                weight: None,
                exchange_ts: None,
                received_at: None,
                age_ms: None,
                dev_bps: None,
                included: false,
                exclusion_reason: Some(ExclusionReason::NoData),
            },
        ],
    }
}

pub fn collateral_report() -> CollateralReport {
    CollateralReport {
        reuse_value: None,
        reuse_cap: None,
        reuse_excess: None,
        schema: CollateralReportSchema,
        account: "fund-a".into(),
        calc_time: t("2026-11-24T11:00:02.000000Z"),
        seq: 3,
        assets: vec![AssetValuation {
            mirrored: None,
            exchange_exposure: None,
            mirror_shortfall: None,
            pledged: None,
            unencumbered: None,
            overpledged: None,
            asset: "BTC".into(),
            quantity: dec!(100),
            by_source: vec![SourceQuantity {
                unrealized_pnl: None,
                source: "kraken-main".into(),
                quantity: dec!(100),
                as_of: t("2026-11-24T11:00:01.000000Z"),
                stale: false,
                network: None,
                venue_asset: "XXBT".into(),
                confirmed_at: t("2026-11-24T11:00:01.500000Z"),
            }],
            price: Some(dec!(64003.25)),
            price_status: PriceStatus::Ok,
            market_value: dec!(6400325.00),
            tiers: vec![
                TierSlice {
                    from: dec!(0),
                    to: Some(dec!(5000000)),
                    haircut: dec!(0.05),
                    market_value: dec!(5000000),
                    collateral_value: dec!(4750000.00),
                },
                TierSlice {
                    from: dec!(5000000),
                    to: Some(dec!(20000000)),
                    haircut: dec!(0.075),
                    market_value: dec!(1400325.00),
                    collateral_value: dec!(1295300.625),
                },
            ],
            collateral_value_pre_cap: dec!(6045300.625),
            cap_excess: dec!(0),
            collateral_value: dec!(6045300.62),
            flags: vec![],
        }],
        market_value_total: dec!(6400325.00),
        collateral_value_total: dec!(6045300.62),
        requirement: Some(dec!(5000000)),
        coverage: Some(dec!(1.2090)),
        deficit: None,
        status: CollateralStatus::Ok,
        flags: vec![],
        method_version: "collateral-v1".into(),
        params_hash: "0f".repeat(32),
        input_digest: "b2".repeat(32),
        unmapped: vec![UnmappedHolding {
            source: "kraken-main".into(),
            venue: "kraken".into(),
            venue_asset: "ZZZDUST".into(),
            quantity: dec!(12.5),
            as_of: t("2026-11-24T11:00:01.000000Z"),
            confirmed_at: t("2026-11-24T11:00:01.500000Z"),
            stale: false,
            reason: "unknown asset code \"ZZZDUST\" on kraken".into(),
        }],
        missing_sources: vec![MissingSource {
            source: "fireblocks-main".into(),
            source_kind: SourceKind::Custodian,
            reason: "AWAITING_BALANCES".into(),
        }],
    }
}

pub fn feed_status() -> FeedStatus {
    FeedStatus {
        schema: FeedStatusSchema,
        connector: "kraken-spot".into(),
        venue: "kraken".into(),
        stream: "ticker:BTC-USD".into(),
        state: FeedState::Stale,
        epoch: 2,
        since: t("2026-11-24T11:00:12.000000Z"),
        last_data_at: Some(t("2026-11-24T11:00:00.000000Z")),
        reason: Some("no data for 12.0 s (expected every 5.0 s)".into()),
    }
}

/// A Bybit unified account in WARN: equity 16,000 USD against 10,000 maintenance margin.
pub fn venue_margin() -> VenueMarginRecord {
    VenueMarginRecord {
        schema: VenueMarginSchema,
        account: "fund-b".into(),
        source: "bybit-account".into(),
        venue: "bybit".into(),
        currency: "USD".into(),
        per_currency: false,
        equity: Some(Decimal::new(1_600_025, 2)),
        wallet_balance: Some(Decimal::new(17_500, 0)),
        unrealized_pnl: Some(Decimal::new(-149_975, 2)),
        initial_margin: Some(Decimal::new(12_000, 0)),
        maintenance_margin: Some(Decimal::new(10_000, 0)),
        venue_margin_ratio: Some(Decimal::new(6249, 4)),
        venue_margin_ratio_kind: MarginRatioKind::MmOverEquity,
        maintenance_coverage: Some(Decimal::new(16_000, 4)),
        status: MarginStatus::Warn,
        usd_price: Some(Decimal::ONE),
        equity_usd: Some(Decimal::new(1_600_025, 2)),
        maintenance_margin_usd: Some(Decimal::new(10_000, 0)),
        as_of: t("2026-11-24T11:00:00.000000Z"),
        received_at: t("2026-11-24T11:00:00.120000Z"),
        seq: 42,
    }
}

/// A short BTC perpetual at Binance USD-M, hedge mode.
pub fn position() -> PositionRecord {
    PositionRecord {
        schema: PositionSchema,
        account: "fund-a".into(),
        source: "binance-usdm-account".into(),
        venue: "binance_usdm".into(),
        venue_symbol: "BTCUSDT".into(),
        instrument: "BTC-USDT-PERP".into(),
        market: Market::Perpetual,
        side: PositionSide::Short,
        hedge_side: Some(PositionSide::Short),
        size: Decimal::new(125, 3),
        contracts: Decimal::new(125, 3),
        entry_price: Some(Decimal::new(6_400_325, 2)),
        mark_price: Some(Decimal::new(65_000, 0)),
        unrealized_pnl: Some(Decimal::new(-12_459_375, 5)),
        pnl_currency: Some("USDT".into()),
        liquidation_price: Some(Decimal::new(985_005, 1)),
        margin_mode: Some("cross".into()),
        as_of: t("2026-11-24T11:00:00.000000Z"),
        received_at: t("2026-11-24T11:00:00.120000Z"),
        seq: 7,
    }
}

pub fn all() -> Vec<(&'static str, Record)> {
    vec![
        ("price_tick", Record::PriceTick(price_tick())),
        ("balance", Record::Balance(balance())),
        ("reference_price", Record::ReferencePrice(reference_price())),
        (
            "collateral_report",
            Record::CollateralReport(collateral_report()),
        ),
        ("feed_status", Record::FeedStatus(feed_status())),
        ("venue_margin", Record::VenueMargin(venue_margin())),
        ("position", Record::Position(position())),
    ]
}
