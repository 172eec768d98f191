//! Unit tests of the asset master and the shipped registry.

use super::*;

fn split<'a>(base: &'a str, quote: &'a str) -> SymbolParts<'a> {
    SymbolParts::Split {
        base,
        quote,
        market: Market::Spot,
        expiry: None,
    }
}

#[test]
fn kraken_aliases_map_to_canonical_codes() {
    let m = AssetMaster::default();
    let i = m.resolve("kraken", split("XBT", "USD")).unwrap();
    assert_eq!((i.base.as_str(), i.name.as_str()), ("BTC", "BTC-USD"));
    assert_eq!(m.canonical("kraken", "XDG").unwrap(), "DOGE");
    assert_eq!(m.canonical("kraken", "ZUSD").unwrap(), "USD");
    // Aliases are per venue: XBT means nothing on Coinbase.
    assert!(matches!(
        m.canonical("coinbase", "XBT"),
        Err(AssetError::UnknownAsset { .. })
    ));
}

#[test]
fn joined_symbols_split_against_known_assets() {
    let m = AssetMaster::default();
    let joined = |s| SymbolParts::Joined {
        symbol: s,
        market: Market::Spot,
        expiry: None,
    };
    assert_eq!(
        m.resolve("binance", joined("BTCUSDT")).unwrap().name,
        "BTC-USDT"
    );
    assert_eq!(
        m.resolve("binance", joined("ETHBTC")).unwrap().name,
        "ETH-BTC"
    );
    assert!(matches!(
        m.resolve("binance", joined("FOOUSDT")),
        Err(AssetError::Unsplittable { .. })
    ));
}

#[test]
fn an_ambiguous_split_is_refused_not_guessed() {
    let mut m = AssetMaster::default();
    // With both "BTCU" and "SDT" as assets, BTCUSDT splits two ways.
    let errs = m.extend(&["BTCU".into(), "SDT".into()], &[], &BTreeMap::new());
    assert!(errs.is_empty());
    let err = m
        .resolve(
            "binance",
            SymbolParts::Joined {
                symbol: "BTCUSDT",
                market: Market::Spot,
                expiry: None,
            },
        )
        .unwrap_err();
    assert!(
        matches!(&err, AssetError::Ambiguous { candidates, .. } if candidates == "BTC-USDT or BTCU-SDT"),
        "{err}"
    );
}

#[test]
fn config_aliases_are_checked() {
    let mut m = AssetMaster::default();
    let mut aliases = BTreeMap::new();
    aliases.insert(
        "bitgo".to_owned(),
        BTreeMap::from([
            ("tbtc".to_owned(), "BTC".to_owned()),
            ("x".to_owned(), "NOPE".to_owned()),
        ]),
    );
    let errs = m.extend(&["pepe".into()], &[], &aliases);
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert_eq!(m.canonical("bitgo", "tbtc").unwrap(), "BTC");
}

#[test]
fn perpetual_and_future_names() {
    assert_eq!(
        Instrument::new("BTC", "USD", Market::Perpetual).name,
        "BTC-USD-PERP"
    );
    assert_eq!(
        Instrument::with_expiry("BTC", "USD", Market::Future, Some("20261225")).name,
        "BTC-USD-20261225"
    );
}

#[test]
fn the_shipped_registry_loads_and_keeps_every_former_code() {
    let m = AssetMaster::from_toml(REGISTRY_TOML).unwrap_or_else(|e| panic!("{e:?}"));
    assert!(!m.version().is_empty());
    for code in [
        "USD", "EUR", "GBP", "BTC", "ETH", "SOL", "XRP", "DOGE", "ADA", "DOT", "LTC", "BNB",
        "AVAX", "LINK", "TRX", "BCH", "XLM", "ATOM", "UNI", "NEAR", "USDT", "USDC", "DAI", "FDUSD",
        "PYUSD", "TUSD", "USDE",
    ] {
        assert!(m.is_asset(code), "{code} missing from the registry");
    }
    assert!(m.is_stablecoin("USDT") && m.is_stablecoin("USDC"));
    assert_eq!(m.asset("BTC").unwrap().class, "btc");
    assert_eq!(m.asset("ETH").unwrap().class, "eth");
    assert_eq!(m.asset("USD").unwrap().class, "cash");
    // Every testnet coin is its own asset, never a mainnet one.
    for a in m.assets().filter(|a| a.class == TESTNET_CLASS) {
        for (venue, code, _) in m.codes_of(&a.code) {
            assert!(
                m.canonical(&venue, &code).is_ok_and(|c| m.is_testnet(&c)),
                "{venue}:{code}"
            );
        }
    }
}

#[test]
fn venue_rows_carry_the_network_and_win_over_identity() {
    let m = AssetMaster::default();
    let r = m.resolve_code("fireblocks", "USDC_POLYGON").unwrap();
    assert_eq!(
        (r.asset.as_str(), r.network.as_deref()),
        ("USDC", Some("POLYGON"))
    );
    // A canonical code with no row is itself, with no network.
    let r = m.resolve_code("binance", "BTC").unwrap();
    assert_eq!((r.asset.as_str(), r.network), ("BTC", None));
    // A testnet id is its own asset, never BTC.
    let t = m.resolve_code("fireblocks", "BTC_TEST").unwrap();
    assert_ne!(t.asset, "BTC");
    assert!(m.is_testnet(&t.asset));
}

#[test]
fn ambiguous_codes_are_refused_with_the_reason_unless_the_venue_maps_them() {
    let mut m = AssetMaster::default();
    let err = m.resolve_code("binance", "UST").unwrap_err();
    assert!(
        matches!(&err, AssetError::AmbiguousCode { reason, .. } if !reason.is_empty()),
        "{err}"
    );
    // A venue's own row wins over an ambiguity for every venue.
    let errs = m.merge(RegistryFile {
        code: vec![CodeEntry {
            venue: "bitfinex".into(),
            code: "UST".into(),
            asset: "USDT".into(),
            network: None,
        }],
        ..Default::default()
    });
    assert!(errs.is_empty(), "{errs:?}");
    assert_eq!(m.canonical("bitfinex", "UST").unwrap(), "USDT");
    assert!(m.canonical("binance", "UST").is_err());
}

#[test]
fn a_bad_registry_is_refused_with_every_problem() {
    let text = r#"
        version = "x"
        [[asset]]
        code = "btc"
        name = "lower"
        class = "btc"
        [[asset]]
        code = "FOO"
        name = "Foo"
        class = "meme"
        [[code]]
        venue = "kraken"
        code = "XFOO"
        asset = "NOPE"
    "#;
    let errs = AssetMaster::from_toml(text).unwrap_err();
    assert_eq!(errs.len(), 3, "{errs:?}");
    assert!(AssetMaster::from_toml("asset = 3").is_err());
}

#[test]
fn venue_defaults_only_fill_gaps() {
    let mut m = AssetMaster::default();
    let errs = m.add_venue_defaults("kraken", &[("XXBT", "ETH"), ("NEWCODE", "BTC")]);
    assert!(errs.is_empty());
    assert_eq!(m.canonical("kraken", "XXBT").unwrap(), "BTC");
    assert_eq!(m.canonical("kraken", "NEWCODE").unwrap(), "BTC");
}
