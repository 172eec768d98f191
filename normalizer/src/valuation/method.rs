//! The method of collateral.md for one account: stale balances, market value, progressive
//! haircuts, stablecoin de-peg, concentration caps, coverage. The choices behind each step are
//! listed in the module doc of `valuation`.

use super::digest;
use super::encumbrance::{flags as enc_flags, Encumbrance};
use super::{
    flags, AccountExtras, Holding, Tier, ValuationParams, CASH_ASSET, METHOD_VERSION, TESTNET_CLASS,
};
use rust_decimal::{Decimal, RoundingStrategy};
use schemas::{
    AssetValuation, CollateralReport, CollateralReportSchema, CollateralStatus, PriceStatus,
    ReferencePrice, SourceQuantity, TierSlice, Ts,
};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The reference record of `<asset>-USD`, if the table holds one that really is that pair.
pub(super) fn reference_for<'a>(
    asset: &str,
    prices: &'a HashMap<String, ReferencePrice>,
) -> Option<&'a ReferencePrice> {
    prices
        .get(asset)
        .filter(|r| r.base == asset && r.quote == CASH_ASSET)
}

/// The price the method uses for one asset, and the flag it raises on a non-zero holding.
struct UsedPrice {
    price: Option<Decimal>,
    status: PriceStatus,
    flag: Option<&'static str>,
}

fn price_for(asset: &str, prices: &HashMap<String, ReferencePrice>) -> UsedPrice {
    if asset == CASH_ASSET {
        return UsedPrice {
            price: Some(Decimal::ONE),
            status: PriceStatus::Ok,
            flag: None,
        };
    }
    let Some(rp) = reference_for(asset, prices) else {
        return UsedPrice {
            price: None,
            status: PriceStatus::Unavailable,
            flag: Some(flags::NO_PRICE),
        };
    };
    // A zero or negative price is no price: it would value a holding at nothing or less.
    let positive = |p: Option<Decimal>| p.filter(|p| *p > Decimal::ZERO);
    let (price, flag) = match rp.status {
        PriceStatus::Ok | PriceStatus::Degraded => (positive(rp.price), None),
        PriceStatus::Stale => (
            positive(rp.price).or(positive(rp.last_good_price)),
            Some(flags::STALE_PRICE),
        ),
        PriceStatus::Unavailable => (None, None),
    };
    UsedPrice {
        flag: if price.is_some() {
            flag
        } else {
            Some(flags::NO_PRICE)
        },
        price,
        status: rp.status,
    }
}

/// One asset before the concentration cap.
struct Valued<'a> {
    asset: &'a str,
    quantity: Decimal,
    by_source: Vec<SourceQuantity>,
    price: Option<Decimal>,
    price_status: PriceStatus,
    market_value: Decimal,
    tiers: Vec<TierSlice>,
    pre_cap: Decimal,
    cap_excess: Decimal,
    /// After a de-peg move.
    class: &'a str,
    flags: BTreeSet<&'static str>,
    /// `(mirrored, exchange_exposure, mirror_shortfall)` when a mirror covers the asset.
    mirror: Option<(Decimal, Decimal, Decimal)>,
}

fn value_asset<'a>(
    asset: &'a str,
    holdings: &[&Holding],
    t: Ts,
    prices: &HashMap<String, ReferencePrice>,
    params: &'a ValuationParams,
    enc: Option<&Encumbrance>,
) -> Valued<'a> {
    let mut flags = BTreeSet::new();
    let mut sum = Some(Decimal::ZERO);
    let mut by_source = Vec::with_capacity(holdings.len());
    let mut fresh = Vec::with_capacity(holdings.len());
    for h in holdings {
        // Fresh as of the last confirmation, not the venue's last change: a dormant account's
        // balance stays valued for as long as polls keep confirming it.
        let age_us = t.micros().saturating_sub(h.confirmed_at.micros());
        let max_age_us = params
            .max_balance_age_ms(h.source_kind)
            .saturating_mul(1000);
        let stale = age_us > max_age_us;
        fresh.push(!stale);
        // margin.md section 1: the wallet balance plus the unrealized P&L the rule counts.
        let pnl = params.unrealized_pnl.counted(h.unrealized_pnl);
        if stale {
            flags.insert(flags::STALE_BALANCE);
        } else {
            sum = sum.and_then(|q| q.checked_add(h.quantity));
            if let Some(p) = pnl {
                sum = sum.and_then(|q| q.checked_add(p));
                if p.is_sign_negative() {
                    flags.insert(flags::UNREALIZED_LOSS);
                }
            }
        }
        by_source.push(SourceQuantity {
            unrealized_pnl: pnl,
            source: h.source.clone(),
            quantity: h.quantity,
            as_of: h.as_of,
            stale,
            network: h.network.clone(),
            venue_asset: h.venue_asset.clone(),
            confirmed_at: h.confirmed_at,
        });
    }
    // Mirrors (compliance.md 3.1): the custodian's locked coins are what the exchange credits,
    // so they count once, as the exchange's balance.
    let mut mirror = None;
    for m in enc.into_iter().flat_map(|e| e.mirror_of(asset)) {
        let side = |source: &str| -> Option<Decimal> {
            let mut total = None;
            for (h, f) in holdings.iter().zip(&fresh) {
                if h.source == source {
                    let part = match (*f, source == m.custodian) {
                        (false, _) => Decimal::ZERO,
                        (true, true) => h.locked,
                        (true, false) => h.quantity,
                    };
                    total = Some(total.unwrap_or(Decimal::ZERO) + part);
                }
            }
            total
        };
        let (locked, credited) = (side(&m.custodian), side(&m.exchange));
        if locked.is_none() && credited.is_none() {
            continue;
        }
        let (locked, credited) = (locked.unwrap_or_default(), credited.unwrap_or_default());
        sum = sum.and_then(|q| q.checked_sub(locked));
        let exposure = (credited - locked).max(Decimal::ZERO);
        let shortfall = (locked - credited).max(Decimal::ZERO);
        if !exposure.is_zero() {
            flags.insert(enc_flags::UNSETTLED_PNL);
        }
        if !shortfall.is_zero() {
            flags.insert(enc_flags::MIRROR_SHORTFALL);
        }
        let (l0, e0, s0) = mirror.unwrap_or_default();
        mirror = Some((l0 + locked, e0 + exposure, s0 + shortfall));
    }
    // A total order (value, then spelling), so the record does not depend on holding order.
    by_source.sort_by_cached_key(|s| {
        (
            s.source.clone(),
            s.as_of,
            s.quantity,
            s.quantity.to_string(),
            s.stale,
            s.network.clone(),
            s.venue_asset.clone(),
            s.confirmed_at,
        )
    });

    if params.class_of(asset) == TESTNET_CLASS {
        // A test coin has no market value: listed with its quantity, counted 0.
        if sum.is_some_and(|q| !q.is_zero()) {
            flags.insert(flags::TESTNET_ASSET);
        }
        return Valued {
            asset,
            quantity: sum.unwrap_or(Decimal::ZERO),
            by_source,
            price: None,
            price_status: PriceStatus::Unavailable,
            market_value: Decimal::ZERO,
            tiers: Vec::new(),
            pre_cap: Decimal::ZERO,
            cap_excess: Decimal::ZERO,
            class: TESTNET_CLASS,
            flags,
            mirror,
        };
    }

    let used = price_for(asset, prices);
    let (quantity, market_value) = match (sum, used.price) {
        (None, _) => {
            flags.insert(flags::VALUE_OVERFLOW);
            (Decimal::ZERO, Decimal::ZERO)
        }
        (Some(q), None) => (q, Decimal::ZERO),
        (Some(q), Some(p)) => match q.checked_mul(p) {
            Some(mv) => (q, mv),
            None => {
                flags.insert(flags::VALUE_OVERFLOW);
                (q, Decimal::ZERO)
            }
        },
    };

    let mut class = params.class_of(asset);
    if !quantity.is_zero() {
        if let Some(flag) = used.flag {
            flags.insert(flag);
        }
        if quantity < Decimal::ZERO {
            flags.insert(flags::NEGATIVE_BALANCE);
        }
        if let Some(p) = used.price.filter(|_| params.stablecoins.contains(asset)) {
            let off_peg = (p - Decimal::ONE).abs();
            if off_peg >= params.depeg_watch {
                flags.insert(flags::DEPEG_WATCH);
            }
            if off_peg >= params.depeg {
                flags.insert(flags::STABLECOIN_DEPEG);
                class = params.depeg_class.as_str();
            }
        }
    }

    let tiers = params.classes.get(class).map_or(&[][..], Vec::as_slice);
    let (slices, pre_cap) = apply_tiers(market_value, tiers);
    Valued {
        asset,
        quantity,
        by_source,
        price: used.price,
        price_status: used.status,
        market_value,
        tiers: slices,
        pre_cap,
        cap_excess: Decimal::ZERO,
        class,
        flags,
        mirror,
    }
}

/// Progressive haircuts: each tier's slice of `mv` counts `slice x (1 - haircut)`. Returns the
/// slices with MV > 0 and the exact CV. A non-positive MV has no slices and counts in full.
fn apply_tiers(mv: Decimal, tiers: &[Tier]) -> (Vec<TierSlice>, Decimal) {
    if mv <= Decimal::ZERO {
        return (Vec::new(), mv);
    }
    let mut slices = Vec::with_capacity(tiers.len());
    let mut cv = Decimal::ZERO;
    let mut from = Decimal::ZERO;
    let mut open = false;
    for tier in tiers {
        let top = tier.up_to.map_or(mv, |u| u.min(mv));
        if top > from {
            let haircut = tier.haircut.clamp(Decimal::ZERO, Decimal::ONE);
            let slice_mv = top - from;
            // slice_mv <= mv and the factor is within [0, 1]: the product cannot overflow.
            let slice_cv = slice_mv * (Decimal::ONE - haircut);
            cv += slice_cv;
            slices.push(TierSlice {
                from,
                to: tier.up_to,
                haircut,
                market_value: slice_mv,
                collateral_value: slice_cv,
            });
        }
        match tier.up_to {
            Some(u) => from = from.max(u),
            None => {
                open = true;
                break;
            }
        }
        if from >= mv {
            break;
        }
    }
    if !open && mv > from {
        // No tier covers the top of the MV: count it at nothing rather than guess a haircut.
        slices.push(TierSlice {
            from,
            to: None,
            haircut: Decimal::ONE,
            market_value: mv - from,
            collateral_value: Decimal::ZERO,
        });
    }
    (slices, cv)
}

/// Exact sum that saturates (and says so) instead of panicking.
fn sum(values: impl Iterator<Item = Decimal>, overflow: &mut bool) -> Decimal {
    values.fold(Decimal::ZERO, |acc, v| {
        acc.checked_add(v).unwrap_or_else(|| {
            *overflow = true;
            if v > Decimal::ZERO {
                Decimal::MAX
            } else {
                Decimal::MIN
            }
        })
    })
}

fn round_cents(d: Decimal, strategy: RoundingStrategy) -> Decimal {
    let mut r = d.round_dp_with_strategy(2, strategy);
    // Always two places in the record, so `6065495` reads `6065495.00` like its peers.
    r.rescale(2);
    r
}

/// Collateral rounds down: rounding must never add collateral.
fn cents_down(d: Decimal) -> Decimal {
    round_cents(d, RoundingStrategy::ToNegativeInfinity)
}

/// Requirements and deficits round up: rounding must never shrink what is owed.
fn cents_up(d: Decimal) -> Decimal {
    round_cents(d, RoundingStrategy::ToPositiveInfinity)
}

/// `cv / requirement` rounded down to 4 dp, for `requirement > 0`. The division keeps 28
/// significant digits and may round up onto the next step, so the floor is settled with exact
/// multiplications.
pub(crate) fn coverage(cv: Decimal, requirement: Decimal) -> Decimal {
    let step = Decimal::from(10_000);
    let exact_floor = || {
        let scaled = cv.checked_mul(step)?;
        let mut q = scaled.checked_div(requirement)?.floor();
        if q.checked_mul(requirement)? > scaled {
            q = q.checked_sub(Decimal::ONE)?;
        } else {
            let next = q.checked_add(Decimal::ONE)?;
            if next.checked_mul(requirement)? <= scaled {
                q = next;
            }
        }
        Some(q / step)
    };
    let mut c = exact_floor().unwrap_or_else(|| {
        // Only at magnitudes beyond any real account (Decimal's range is ~7.9e28): the plain
        // quotient is all there is, and one beyond the range saturates rather than panics.
        cv.checked_div(requirement).map_or(Decimal::MAX, |q| {
            q.round_dp_with_strategy(4, RoundingStrategy::ToNegativeInfinity)
        })
    });
    c.rescale(4);
    c
}

/// The method for one account (collateral.md): `holdings` in any order, `prices` keyed by
/// asset (the `<ASSET>-USD` records), `requirement` in USD if known. Pure: equal arguments give
/// equal reports.
#[allow(clippy::too_many_arguments)] // the spec's inputs plus the three reproducibility fields
pub fn value_account(
    account: &str,
    t: Ts,
    holdings: &[Holding],
    prices: &HashMap<String, ReferencePrice>,
    requirement: Option<Decimal>,
    params: &ValuationParams,
    params_hash: &str,
    seq: u64,
) -> CollateralReport {
    value_account_with(
        account,
        t,
        holdings,
        &AccountExtras::default(),
        prices,
        requirement,
        params,
        params_hash,
        seq,
    )
}

/// [`value_account`] with the balances that cannot be mapped and the sources still missing:
/// both are shown and count 0. An unmapped non-zero balance flags `UNMAPPED_ASSET`; a source
/// still awaited flags `AWAITING_BALANCES`, and a held asset whose first price is still
/// awaited flags `AWAITING_PRICES`: either keeps the account out of `MARGIN_CALL` (a start-up
/// is not a margin call: the figures are shown, the status is `DEGRADED`); a source past its
/// limit with nothing flags `NO_BALANCES`.
#[allow(clippy::too_many_arguments)]
pub fn value_account_with(
    account: &str,
    t: Ts,
    holdings: &[Holding],
    extras: &AccountExtras,
    prices: &HashMap<String, ReferencePrice>,
    requirement: Option<Decimal>,
    params: &ValuationParams,
    params_hash: &str,
    seq: u64,
) -> CollateralReport {
    let mut by_asset: BTreeMap<&str, Vec<&Holding>> = BTreeMap::new();
    for h in holdings {
        by_asset.entry(h.asset.as_str()).or_default().push(h);
    }
    let mut assets: Vec<Valued<'_>> = by_asset
        .into_iter()
        .map(|(asset, hs)| {
            value_asset(asset, &hs, t, prices, params, extras.encumbrance.as_deref())
        })
        .collect();

    let mut overflow = false;
    let pre_cap_total = sum(assets.iter().map(|a| a.pre_cap), &mut overflow);
    // One pass against the pre-cap total, so no asset's cap depends on another's.
    let cap_base = pre_cap_total.max(Decimal::ZERO);
    for a in &mut assets {
        let Some(&share) = params.caps.get(a.class) else {
            continue;
        };
        let cap = share.clamp(Decimal::ZERO, Decimal::ONE) * cap_base;
        if a.pre_cap > cap {
            a.cap_excess = a.pre_cap - cap;
            a.flags.insert(flags::CONCENTRATION_CAP);
        }
    }
    let cv_exact = sum(
        assets.iter().map(|a| a.pre_cap - a.cap_excess),
        &mut overflow,
    );
    let mv_total = sum(assets.iter().map(|a| a.market_value), &mut overflow);

    // Pledges (compliance.md 3.2), of each asset's quantity as counted.
    let enc = extras.encumbrance.as_deref();
    let pledges: Vec<Option<(Decimal, Decimal, Decimal)>> = assets
        .iter_mut()
        .map(|a| {
            let pledged = enc?.pledged(a.asset)?;
            let (held, over) = (
                a.quantity.max(Decimal::ZERO),
                (pledged - a.quantity).max(Decimal::ZERO),
            );
            if !over.is_zero() {
                a.flags.insert(enc_flags::OVERPLEDGED);
            }
            Some((pledged, (held - pledged).max(Decimal::ZERO), over))
        })
        .collect();
    // The reuse cap (compliance.md 3.3).
    let reuse = enc.and_then(|e| reuse_figures(e, prices));
    let mut account_flags: BTreeSet<&'static str> = assets
        .iter()
        .flat_map(|a| a.flags.iter().copied())
        .collect();
    if reuse.is_some_and(|(_, _, excess)| excess.is_some()) {
        account_flags.insert(enc_flags::REUSE_CAP_BREACH);
    }
    if overflow {
        account_flags.insert(flags::VALUE_OVERFLOW);
    }
    if extras.unmapped.iter().any(|u| !u.quantity.is_zero()) {
        account_flags.insert(flags::UNMAPPED_ASSET);
    }
    let awaiting = extras
        .missing_sources
        .iter()
        .any(|m| m.reason == flags::AWAITING_BALANCES);
    if awaiting {
        account_flags.insert(flags::AWAITING_BALANCES);
    }
    if !extras.awaiting_prices.is_empty() {
        account_flags.insert(flags::AWAITING_PRICES);
    }
    let awaiting = awaiting || !extras.awaiting_prices.is_empty();
    if extras
        .missing_sources
        .iter()
        .any(|m| m.reason == flags::NO_BALANCES)
    {
        account_flags.insert(flags::NO_BALANCES);
    }

    let requirement_out = requirement.map(cents_up);
    let (coverage, deficit) = match requirement_out {
        None => (None, None),
        Some(r) => {
            let coverage = (r > Decimal::ZERO).then(|| coverage(cv_exact, r));
            let deficit =
                (cv_exact < r).then(|| cents_up(r.checked_sub(cv_exact).unwrap_or(Decimal::MAX)));
            (coverage, deficit)
        }
    };
    let degraded = flags::DEGRADING.iter().any(|f| account_flags.contains(f));
    let status = if awaiting {
        CollateralStatus::Degraded
    } else if deficit.is_some() {
        CollateralStatus::MarginCall
    } else if degraded {
        CollateralStatus::Degraded
    } else if requirement_out.is_none() {
        CollateralStatus::NoRequirement
    } else {
        CollateralStatus::Ok
    };

    let input_digest = digest::input_digest(account, t, holdings, extras, prices, requirement);
    CollateralReport {
        schema: CollateralReportSchema,
        account: account.to_owned(),
        calc_time: t,
        seq,
        assets: assets
            .into_iter()
            .zip(pledges)
            .map(|(a, pledge)| AssetValuation {
                mirrored: a.mirror.map(|m| m.0),
                exchange_exposure: a.mirror.map(|m| m.1),
                mirror_shortfall: a.mirror.map(|m| m.2),
                pledged: pledge.map(|p| p.0),
                unencumbered: pledge.map(|p| p.1),
                overpledged: pledge.map(|p| p.2),
                asset: a.asset.to_owned(),
                quantity: a.quantity,
                by_source: a.by_source,
                price: a.price,
                price_status: a.price_status,
                market_value: a.market_value,
                tiers: a.tiers,
                collateral_value_pre_cap: a.pre_cap,
                cap_excess: a.cap_excess,
                collateral_value: cents_down(a.pre_cap - a.cap_excess),
                flags: a.flags.iter().map(|f| (*f).to_owned()).collect(),
            })
            .collect(),
        market_value_total: mv_total,
        collateral_value_total: cents_down(cv_exact),
        requirement: requirement_out,
        coverage,
        deficit,
        status,
        flags: account_flags.iter().map(|f| (*f).to_owned()).collect(),
        method_version: METHOD_VERSION.to_owned(),
        params_hash: params_hash.to_owned(),
        input_digest,
        unmapped: extras.unmapped.clone(),
        missing_sources: extras.missing_sources.clone(),
        reuse_value: reuse.map(|r| r.0),
        reuse_cap: reuse.map(|r| r.1),
        reuse_excess: reuse.and_then(|r| r.2),
    }
}

/// `(reuse_value, reuse_cap, reuse_excess)` of an account with reusable pledges or a debit
/// balance; `None` when it has neither. A pledge of an asset without a price adds nothing to
/// the value (its `NO_PRICE` shows where the asset is held).
fn reuse_figures(
    e: &Encumbrance,
    prices: &HashMap<String, ReferencePrice>,
) -> Option<(Decimal, Decimal, Option<Decimal>)> {
    let reusable: Vec<_> = e.pledges.iter().filter(|p| p.reuse).collect();
    if reusable.is_empty() && e.debit_balance.is_none() {
        return None;
    }
    let value = reusable
        .iter()
        .filter_map(|p| Some(p.quantity * price_for(&p.asset, prices).price?))
        .fold(Decimal::ZERO, |a, b| a + b);
    let cap = cents_down(
        e.debit_balance.unwrap_or_default().max(Decimal::ZERO) * e.cap_pct() / Decimal::from(100),
    );
    let excess = (value > cap).then(|| cents_up(value - cap));
    Some((value, cap, excess))
}
