//! `params_hash` and `input_digest`: SHA-256 over canonical JSON, so anyone holding a report and
//! its inputs can recompute both with any JSON library.

use super::method::reference_for;
use super::{AccountExtras, Holding, ValuationParams, CASH_ASSET, METHOD_VERSION};
use rust_decimal::Decimal;
use schemas::{MissingSource, PriceStatus, ReferencePrice, SourceKind, Ts, UnmappedHolding};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::{BTreeSet, HashMap};

fn sha256_hex<T: Serialize>(value: &T) -> String {
    // Serializing plain structs of strings, decimals and timestamps cannot fail; an empty
    // string would still hash deterministically if it ever did.
    let json = serde_json::to_string(value).unwrap_or_default();
    hex::encode(Sha256::digest(json.as_bytes()))
}

#[derive(Serialize)]
struct CanonicalParams<'a> {
    method_version: &'a str,
    params: &'a ValuationParams,
}

pub(super) fn params_hash(params: &ValuationParams) -> String {
    sha256_hex(&CanonicalParams {
        method_version: METHOD_VERSION,
        params,
    })
}

#[derive(Serialize)]
struct HoldingRow<'a> {
    asset: &'a str,
    source: &'a str,
    source_kind: SourceKind,
    quantity: Decimal,
    pending: Option<Decimal>,
    as_of: Ts,
    network: Option<&'a str>,
    confirmed_at: Ts,
    /// Only when the venue gave one, so digests of holdings without derivatives are those of
    /// before the field existed.
    #[serde(skip_serializing_if = "Option::is_none")]
    unrealized_pnl: Option<Decimal>,
    /// Only for a mirrored holding's locked part (digests of others are unchanged).
    #[serde(skip_serializing_if = "Option::is_none")]
    locked: Option<Decimal>,
}

#[derive(Serialize)]
struct PriceRow<'a> {
    asset: &'a str,
    status: Option<PriceStatus>,
    price: Option<Decimal>,
    last_good_price: Option<Decimal>,
}

#[derive(Serialize)]
struct Inputs<'a> {
    account: &'a str,
    calc_time: Ts,
    holdings: Vec<HoldingRow<'a>>,
    prices: Vec<PriceRow<'a>>,
    requirement: Option<Decimal>,
    unmapped: &'a [UnmappedHolding],
    missing_sources: &'a [MissingSource],
    /// Only for an account with encumbrance terms (digests of others are unchanged).
    #[serde(skip_serializing_if = "Option::is_none")]
    encumbrance: Option<&'a super::encumbrance::Encumbrance>,
}

pub(super) fn input_digest(
    account: &str,
    t: Ts,
    holdings: &[Holding],
    extras: &AccountExtras,
    prices: &HashMap<String, ReferencePrice>,
    requirement: Option<Decimal>,
) -> String {
    let mut rows: Vec<HoldingRow<'_>> = holdings
        .iter()
        .map(|h| HoldingRow {
            asset: &h.asset,
            source: &h.source,
            source_kind: h.source_kind,
            quantity: h.quantity,
            pending: h.pending,
            as_of: h.as_of,
            network: h.network.as_deref(),
            confirmed_at: h.confirmed_at,
            unrealized_pnl: h.unrealized_pnl,
            locked: extras
                .encumbrance
                .as_ref()
                .filter(|e| !e.mirrors.is_empty())
                .map(|_| h.locked),
        })
        .collect();
    // Holding order does not change the method's result, so it must not change the digest.
    // Decimals are compared by value and then by spelling (`1.0` vs `1.00` serialize apart).
    rows.sort_by_cached_key(|r| {
        (
            r.asset,
            r.source,
            r.as_of,
            r.quantity,
            r.quantity.to_string(),
            r.pending,
            r.pending.map(|p| p.to_string()),
            r.source_kind == SourceKind::Custodian,
            r.network,
            r.confirmed_at,
        )
    });
    let assets: BTreeSet<&str> = holdings
        .iter()
        .map(|h| h.asset.as_str())
        .filter(|a| *a != CASH_ASSET)
        .collect();
    let prices = assets
        .into_iter()
        .map(|asset| {
            // The record the method used, so a mismatched record digests as missing too.
            let rp = reference_for(asset, prices);
            PriceRow {
                asset,
                status: rp.map(|r| r.status),
                price: rp.and_then(|r| r.price),
                last_good_price: rp.and_then(|r| r.last_good_price),
            }
        })
        .collect();
    sha256_hex(&Inputs {
        account,
        calc_time: t,
        holdings: rows,
        prices,
        requirement,
        unmapped: &extras.unmapped,
        missing_sources: &extras.missing_sources,
        encumbrance: extras.encumbrance.as_deref(),
    })
}
