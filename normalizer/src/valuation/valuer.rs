//! Per-account state between valuations: the latest balance per holding, the balances that
//! cannot be mapped, the sources expected to report, `seq` and the last status. Keyed by
//! account, so an aggregator owning a set of accounts holds exactly their state.

use super::{digest, flags, value_account_with, AccountExtras, Holding, ValuationParams};
use rust_decimal::Decimal;
use schemas::{
    BalanceSnapshot, CollateralReport, CollateralStatus, MissingSource, ReferencePrice, SourceKind,
    Ts, UnmappedHolding,
};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// (source, asset, network, venue code, sub-account, wallet).
type HoldingKey = (
    String,
    String,
    Option<String>,
    String,
    Option<String>,
    Option<String>,
);

/// Where a holding removed by a poll's close was held (the rest is in its [`Holding`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GoneHolding {
    pub sub_account: Option<String>,
    pub wallet: Option<String>,
}

/// (source, venue code, sub-account, wallet).
type UnmappedKey = (String, String, Option<String>, Option<String>);

/// A balance the asset registry cannot map, as last confirmed.
#[derive(Clone, Debug, PartialEq)]
pub struct Unmapped {
    pub account: String,
    pub source: String,
    pub source_kind: SourceKind,
    pub venue: String,
    pub venue_asset: String,
    pub sub_account: Option<String>,
    pub wallet: Option<String>,
    pub quantity: Decimal,
    pub as_of: Ts,
    pub confirmed_at: Ts,
    pub reason: String,
}

#[derive(Clone, Debug, Default)]
struct AccountState {
    /// One row per holding, the latest confirmation wins. A venue may hold one asset in
    /// several vaults or wallets (Fireblocks vaults, Kraken `.S` staked balances) or on
    /// several networks (Fireblocks `USDC` and `USDC_POLYGON` in one vault): each is its own
    /// holding, summed with the others before tiering.
    balances: BTreeMap<HoldingKey, Holding>,
    unmapped: BTreeMap<UnmappedKey, Unmapped>,
    /// Sources configured to report balances for this account: kind, and whether they have
    /// confirmed anything yet (a balance, or a successful poll with no rows).
    sources: BTreeMap<String, (SourceKind, bool)>,
    /// `seq` of the last report; 0 before the first.
    seq: u64,
    last_status: Option<CollateralStatus>,
    /// Encumbrance terms (compliance.md section 3).
    encumbrance: Option<std::sync::Arc<super::encumbrance::Encumbrance>>,
}

impl AccountState {
    fn delivered(&mut self, source: &str) {
        if let Some((_, seen)) = self.sources.get_mut(source) {
            *seen = true;
        }
    }

    fn extras(
        &self,
        t: Ts,
        started: Option<Ts>,
        params: &ValuationParams,
        prices: &HashMap<String, ReferencePrice>,
    ) -> AccountExtras {
        let max_age_us = |kind| params.max_balance_age_ms(kind).saturating_mul(1000);
        // Start-up grace for prices: as long as an exchange balance may take.
        let in_grace = started.is_none_or(|s| {
            t.micros().saturating_sub(s.micros()) <= max_age_us(SourceKind::Exchange)
        });
        let mut awaiting_prices: Vec<String> = if in_grace {
            self.balances
                .values()
                .filter(|h| !h.quantity.is_zero())
                .filter(|h| h.asset != super::CASH_ASSET)
                .filter(|h| params.class_of(&h.asset) != super::TESTNET_CLASS)
                .filter(|h| {
                    prices.get(&h.asset).is_none_or(|r| {
                        r.status == schemas::PriceStatus::Unavailable && r.last_good_price.is_none()
                    })
                })
                .map(|h| h.asset.clone())
                .collect()
        } else {
            Vec::new()
        };
        awaiting_prices.sort();
        awaiting_prices.dedup();
        let unmapped = self
            .unmapped
            .values()
            .map(|u| UnmappedHolding {
                source: u.source.clone(),
                venue: u.venue.clone(),
                venue_asset: u.venue_asset.clone(),
                quantity: u.quantity,
                as_of: u.as_of,
                confirmed_at: u.confirmed_at,
                stale: t.micros().saturating_sub(u.confirmed_at.micros())
                    > max_age_us(u.source_kind),
                reason: u.reason.clone(),
            })
            .collect();
        let missing_sources = self
            .sources
            .iter()
            .filter(|(_, (_, seen))| !seen)
            .map(|(source, (kind, _))| {
                let waited_us = started.map_or(0, |s| t.micros().saturating_sub(s.micros()));
                MissingSource {
                    source: source.clone(),
                    source_kind: *kind,
                    reason: if waited_us > max_age_us(*kind) {
                        flags::NO_BALANCES
                    } else {
                        flags::AWAITING_BALANCES
                    }
                    .to_owned(),
                }
            })
            .collect();
        AccountExtras {
            encumbrance: self.encumbrance.clone(),
            unmapped,
            missing_sources,
            awaiting_prices,
        }
    }
}

/// Values every account it has seen at each as-of cut.
#[derive(Clone, Debug)]
pub struct AccountValuer {
    params: ValuationParams,
    params_hash: String,
    accounts: BTreeMap<String, AccountState>,
    /// The first time the valuer saw (a cut, a balance): sources are awaited from here.
    started: Option<Ts>,
}

impl AccountValuer {
    pub fn new(params: ValuationParams) -> Self {
        let params_hash = digest::params_hash(&params);
        AccountValuer {
            params,
            params_hash,
            accounts: BTreeMap::new(),
            started: None,
        }
    }

    /// Declares that `source` (of kind `kind`) reports balances for `account`: until it has
    /// confirmed a first balance, or its staleness limit has passed since start, the account
    /// is `DEGRADED` with `AWAITING_BALANCES` (never `MARGIN_CALL`); past the limit with
    /// nothing, `NO_BALANCES`. The account is reported from the first cut on.
    /// An account's encumbrance terms (mirrors, pledges, reuse cap), from the next valuation
    /// on; empty terms clear them.
    pub fn set_encumbrance(&mut self, account: &str, e: super::encumbrance::Encumbrance) {
        let state = self.accounts.entry(account.to_owned()).or_default();
        state.encumbrance = (!e.is_empty()).then(|| std::sync::Arc::new(e));
    }

    pub fn expect_source(&mut self, account: &str, source: &str, kind: SourceKind) {
        self.accounts
            .entry(account.to_owned())
            .or_default()
            .sources
            .entry(source.to_owned())
            .or_insert((kind, false));
    }

    /// A source confirmed its balances without a row to carry it (a successful poll of an
    /// empty account): it is no longer awaited.
    pub fn on_confirmed(&mut self, account: &str, source: &str, at: Ts) {
        self.started.get_or_insert(at);
        if let Some(state) = self.accounts.get_mut(account) {
            state.delivered(source);
        }
    }

    /// Closes a full poll of `source` that started at `started`: the source confirmed itself,
    /// and every holding (and unmapped row) it had that this poll did not confirm is gone.
    /// Returns the holdings removed, keyed as held, so the caller can publish their zero.
    pub fn on_poll_closed(
        &mut self,
        account: &str,
        source: &str,
        started: Ts,
        at: Ts,
    ) -> Vec<(GoneHolding, Holding)> {
        self.started.get_or_insert(at);
        let Some(state) = self.accounts.get_mut(account) else {
            return Vec::new();
        };
        state.delivered(source);
        state
            .unmapped
            .retain(|k, u| k.0 != source || u.confirmed_at >= started);
        let gone: Vec<HoldingKey> = state
            .balances
            .iter()
            .filter(|(k, h)| k.0 == source && h.confirmed_at < started)
            .map(|(k, _)| k.clone())
            .collect();
        gone.into_iter()
            .filter_map(|k| {
                let h = state.balances.remove(&k)?;
                Some((
                    GoneHolding {
                        sub_account: k.4,
                        wallet: k.5,
                    },
                    h,
                ))
            })
            .collect()
    }

    /// Records a balance whose venue code cannot be mapped: shown in the account's report,
    /// counting 0, flag `UNMAPPED_ASSET`. The latest confirmation replaces the held row.
    pub fn on_unmapped(&mut self, u: Unmapped) {
        self.started.get_or_insert(u.confirmed_at);
        let state = self.accounts.entry(u.account.clone()).or_default();
        state.delivered(&u.source);
        let key = (
            u.source.clone(),
            u.venue_asset.clone(),
            u.sub_account.clone(),
            u.wallet.clone(),
        );
        match state.unmapped.get(&key) {
            Some(held) if held.confirmed_at > u.confirmed_at => {}
            _ => {
                state.unmapped.insert(key, u);
            }
        }
    }

    /// The unmapped balances held, in (account, source, code) order.
    pub fn unmapped(&self) -> impl Iterator<Item = &Unmapped> {
        self.accounts.values().flat_map(|s| s.unmapped.values())
    }

    pub fn params(&self) -> &ValuationParams {
        &self.params
    }

    pub fn params_hash(&self) -> &str {
        &self.params_hash
    }

    /// The status of the account's last report, if any.
    pub fn last_status(&self, account: &str) -> Option<CollateralStatus> {
        self.accounts.get(account).and_then(|s| s.last_status)
    }

    /// Accounts with state, in order.
    /// The holdings of `account` as last confirmed (rebalancing suggestions read what is free).
    pub fn holdings(&self, account: &str) -> impl Iterator<Item = &Holding> {
        self.accounts
            .get(account)
            .into_iter()
            .flat_map(|a| a.balances.values())
    }

    pub fn accounts(&self) -> impl Iterator<Item = &str> {
        self.accounts.keys().map(String::as_str)
    }

    /// Records the latest balance of a holding — keyed per account so an aggregator can own
    /// whole accounts. "Latest" is the latest confirmation (`received_at`), not the venue's
    /// last change: a snapshot confirmed before the one held is ignored, so a late delivery
    /// cannot roll a balance back; an equal confirmation time replaces (a correction).
    pub fn on_balance(&mut self, b: &BalanceSnapshot) {
        self.started.get_or_insert(b.received_at);
        let state = self.accounts.entry(b.account.clone()).or_default();
        state.delivered(&b.source);
        // The code mapped after all (a config alias added): its unmapped row goes.
        state.unmapped.remove(&(
            b.source.clone(),
            b.venue_asset.clone(),
            b.sub_account.clone(),
            b.wallet.clone(),
        ));
        let key = (
            b.source.clone(),
            b.asset.clone(),
            b.network.clone(),
            b.venue_asset.clone(),
            b.sub_account.clone(),
            b.wallet.clone(),
        );
        match state.balances.get(&key) {
            Some(held) if held.confirmed_at > b.received_at => {
                tracing::debug!(
                    account = %b.account,
                    source = %b.source,
                    asset = %b.asset,
                    received_at = %b.received_at,
                    held_confirmed_at = %held.confirmed_at,
                    "older balance ignored"
                );
            }
            _ => {
                state.balances.insert(key, Holding::from(b));
            }
        }
    }

    /// The account's report at `t` if its status differs from its last report's (a balance
    /// that arrives between ticks and moves the account into or out of a margin call is
    /// reported at once, not at the next tick). `None` before the account's first report.
    pub fn value_if_changed(
        &mut self,
        account: &str,
        t: Ts,
        prices: &HashMap<String, ReferencePrice>,
        requirements: &BTreeMap<String, Decimal>,
    ) -> Option<CollateralReport> {
        let AccountValuer {
            params,
            params_hash,
            accounts,
            started,
        } = self;
        let state = accounts.get_mut(account)?;
        let last = state.last_status?;
        let holdings: Vec<Holding> = state.balances.values().cloned().collect();
        let extras = state.extras(t, *started, params, prices);
        let report = value_account_with(
            account,
            t,
            &holdings,
            &extras,
            prices,
            requirements.get(account).copied(),
            params,
            params_hash,
            state.seq + 1,
        );
        if report.status == last {
            return None;
        }
        state.seq += 1;
        note_status(account, state, &report);
        Some(report)
    }

    /// One report per account with balances (plus accounts that have only a requirement), in
    /// account order, at as-of time `t`, from the latest reference prices `<ASSET>-USD`
    /// (`prices` keyed by asset) and the margin requirements (keyed by account).
    pub fn value(
        &mut self,
        t: Ts,
        prices: &HashMap<String, ReferencePrice>,
        requirements: &BTreeMap<String, Decimal>,
    ) -> Vec<CollateralReport> {
        let names: BTreeSet<String> = self
            .accounts
            .keys()
            .chain(requirements.keys())
            .cloned()
            .collect();
        let started = *self.started.get_or_insert(t);
        let AccountValuer {
            params,
            params_hash,
            accounts,
            ..
        } = self;
        let mut reports = Vec::with_capacity(names.len());
        for name in names {
            let state = accounts.entry(name.clone()).or_default();
            let holdings: Vec<Holding> = state.balances.values().cloned().collect();
            let extras = state.extras(t, Some(started), params, prices);
            state.seq += 1;
            let report = value_account_with(
                &name,
                t,
                &holdings,
                &extras,
                prices,
                requirements.get(&name).copied(),
                params,
                params_hash,
                state.seq,
            );
            note_status(&name, state, &report);
            reports.push(report);
        }
        reports
    }
}

/// Logs a status change (WARN into or out of a margin call, with its figures) and remembers it.
fn note_status(name: &str, state: &mut AccountState, report: &CollateralReport) {
    if state.last_status != Some(report.status) {
        let margin_call = Some(CollateralStatus::MarginCall);
        if report.status == CollateralStatus::MarginCall || state.last_status == margin_call {
            // Into or out of a margin call: an operator must see it, with its figures.
            tracing::warn!(
                account = %name,
                status = ?report.status,
                previous = ?state.last_status,
                collateral_value = %report.collateral_value_total,
                requirement = ?report.requirement,
                coverage = ?report.coverage,
                deficit = ?report.deficit,
                "margin call status changed"
            );
        } else {
            tracing::info!(
                account = %name,
                status = ?report.status,
                previous = ?state.last_status,
                collateral_value = %report.collateral_value_total,
                "collateral status changed"
            );
        }
        state.last_status = Some(report.status);
    }
}
