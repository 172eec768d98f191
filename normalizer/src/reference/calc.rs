//! One pair's calculator: per-source checks, outliers with hysteresis, weighted median,
//! confidence and status. The choices behind each step are listed in the module doc of
//! `reference`.

use super::digest::{self, InputRow, RowCache};
use super::median::{confidence, mean2, median_mut, weighted_median};
use super::{reasons, PairParams, Quote, SourceSpec, Weighting, METHOD_VERSION};
use rust_decimal::{Decimal, RoundingStrategy};
use schemas::{
    Constituent, ExclusionReason, PriceStatus, PriceType, ReferencePrice, ReferencePriceSchema,
    SharedStr, Ts,
};

/// What the calculator remembers about one source between ticks. Part of the replayable state:
/// the same quotes at the same cuts rebuild it exactly.
#[derive(Clone, Debug, Default)]
struct SourceState {
    /// In the outlier-excluded state (hysteresis).
    outlier: bool,
    /// The source price last seen, to notice changes.
    seen_price: Option<Decimal>,
    /// Tick at which `seen_price` was first seen.
    changed_at: Ts,
    /// The first good reference price published at or after the tick of the last change;
    /// `None` until there is one.
    ref_at_change: Option<Decimal>,
}

/// The calculator of one configured pair.
#[derive(Clone, Debug)]
pub struct PairCalculator {
    params: PairParams,
    sources: Vec<SourceSpec>,
    params_hash: String,
    state: Vec<SourceState>,
    last_good: Option<(Decimal, Ts)>,
    seq: u64,
    /// Per source, the canonical JSON of its `input_digest` row as of its last change.
    rows: Vec<RowCache>,
    /// Per source, (venue, connector, instrument) as the record's constituents carry them.
    names: Vec<Names>,
    /// Per source, cached results of pure functions of its quote.
    memo: Vec<Memo>,
    scratch: Scratch,
}

/// What the calculator fixes per source at construction.
#[derive(Clone, Debug)]
struct Names {
    venue: SharedStr,
    connector: SharedStr,
    instrument: SharedStr,
    /// Quoted in the pair's quote asset (no conversion).
    same_quote: bool,
}

/// Results of pure functions of one source's quote, kept while its inputs are bit-for-bit the
/// same (`Decimal::serialize`, so a rescaled but equal value is a different input). A cache
/// only: it never changes what is computed, only whether it is computed again.
#[derive(Clone, Debug, Default)]
struct Memo {
    /// (bid, ask, last) the book fields below were computed from.
    book_key: Option<[Option<[u8; 16]>; 3]>,
    /// `source_price` of the quote.
    priced: Option<(Decimal, PriceType)>,
    /// `book_check` of the quote (when priced).
    book: Option<ExclusionReason>,
    /// (price, M0) and the `dev_bps` computed from them.
    dev: Option<([u8; 16], [u8; 16], Option<Decimal>)>,
}

impl Memo {
    fn book(&mut self, q: &Quote, max_spread: Decimal) -> Option<(Decimal, PriceType)> {
        let bits = |d: Option<Decimal>| d.map(|d| d.serialize());
        let key = [bits(q.bid), bits(q.ask), bits(q.last)];
        if self.book_key != Some(key) {
            self.priced = source_price(q);
            self.book = self
                .priced
                .and_then(|(sp, pt)| book_check(q, sp, pt, max_spread));
            self.book_key = Some(key);
        }
        self.priced
    }

    fn dev_bps(&mut self, p: Decimal, m0: Decimal) -> Option<Decimal> {
        let (pk, mk) = (p.serialize(), m0.serialize());
        match self.dev {
            Some((a, b, d)) if a == pk && b == mk => d,
            _ => {
                let d = dev_bps(p, m0);
                self.dev = Some((pk, mk, d));
                d
            }
        }
    }
}

/// Working vectors of one `compute`, kept between ticks so a tick allocates only what the
/// record keeps. Cleared before use; their contents never carry over.
#[derive(Clone, Debug, Default)]
struct Scratch {
    fresh: Vec<(usize, Decimal)>,
    prices: Vec<Decimal>,
    survivors: Vec<(usize, Decimal)>,
    order: Vec<usize>,
    sorted: Vec<(Decimal, Decimal)>,
    vals: Vec<Decimal>,
}

/// A new price and how it was formed.
struct Priced {
    price: Decimal,
    /// (source index, weight) of the sources in the price.
    weights: Vec<(usize, Decimal)>,
}

impl PairCalculator {
    pub fn new(params: PairParams, sources: Vec<SourceSpec>) -> Self {
        let params_hash = digest::params_hash(&params, &sources);
        let state = vec![SourceState::default(); sources.len()];
        let rows = sources
            .iter()
            .map(|s| RowCache::new(&s.connector, &s.instrument))
            .collect();
        let names: Vec<Names> = sources
            .iter()
            .map(|s| Names {
                venue: SharedStr::from(&s.venue),
                connector: SharedStr::from(&s.connector),
                instrument: SharedStr::from(&s.instrument),
                same_quote: s.quote_asset == params.quote,
            })
            .collect();
        PairCalculator {
            params,
            sources,
            params_hash,
            state,
            last_good: None,
            seq: 0,
            rows,
            memo: vec![Memo::default(); names.len()],
            names,
            scratch: Scratch::default(),
        }
    }

    pub fn params(&self) -> &PairParams {
        &self.params
    }

    pub fn sources(&self) -> &[SourceSpec] {
        &self.sources
    }

    pub fn params_hash(&self) -> &str {
        &self.params_hash
    }

    /// The last price published `OK` or `DEGRADED`, and its calc_time.
    pub fn last_good(&self) -> Option<(Decimal, Ts)> {
        self.last_good
    }

    /// Computes the record for as-of cut `t`. `quotes[s.slot]` is the latest quote of source `s`
    /// with `received_at <= t` (`None`, or a slot beyond the table, is `NO_DATA`).
    /// `fx(asset)` returns the pair-quote price of `asset` if that leg is `OK`/`DEGRADED` this
    /// tick, else `None` (`FX_UNAVAILABLE`).
    pub fn compute(
        &mut self,
        t: Ts,
        quotes: &[Option<Quote>],
        fx: &dyn Fn(&str) -> Option<Decimal>,
    ) -> ReferencePrice {
        let prev_good = self.last_good.map(|(p, _)| p);
        let band = self.params.band;

        let mut sc = std::mem::take(&mut self.scratch);
        let cons_iter = self
            .sources
            .iter()
            .zip(&self.names)
            .zip(self.state.iter_mut().zip(self.memo.iter_mut()))
            .map(|((spec, names), (st, memo))| {
                let quote = quotes.get(spec.slot).and_then(Option::as_ref);
                assess(&self.params, spec, names, st, memo, t, quote, fx, prev_good)
            });
        let mut cons: Vec<Constituent> = cons_iter.collect();
        for ((spec, c), row) in self.sources.iter().zip(&cons).zip(&mut self.rows) {
            let quote = quotes.get(spec.slot).and_then(Option::as_ref);
            row.update(&InputRow {
                connector: &spec.connector,
                instrument: &spec.instrument,
                bid: quote.and_then(|q| q.bid),
                ask: quote.and_then(|q| q.ask),
                last: quote.and_then(|q| q.last),
                volume_24h: quote.and_then(|q| q.volume_24h),
                exchange_ts: quote.and_then(|q| q.exchange_ts),
                received_at: quote.map(|q| q.received_at),
                fx_rate: c.fx_rate,
            });
        }
        let input_digest = digest::input_digest(t, &self.rows);

        // Fresh sources always have a price: the FX check is the last one and fails without it.
        let fresh = &mut sc.fresh;
        fresh.clear();
        fresh.extend(
            cons.iter()
                .enumerate()
                .filter(|(_, c)| c.exclusion_reason.is_none())
                .filter_map(|(i, c)| c.price.map(|p| (i, p))),
        );
        let fresh = &*fresh;
        sc.prices.clear();
        sc.prices.extend(fresh.iter().map(|&(_, p)| p));
        let m0 = median_mut(&mut sc.prices);
        if let Some(m0) = m0 {
            for &(i, p) in fresh {
                cons[i].dev_bps = self.memo[i].dev_bps(p, m0);
            }
        }

        let survivors = &mut sc.survivors;
        survivors.clear();
        let mut n_outliers = 0usize;
        match m0 {
            Some(m0) if fresh.len() >= 3 => {
                let outer = band.checked_mul(m0);
                let inner = (band / Decimal::TWO).checked_mul(m0);
                for &(i, p) in fresh {
                    let dev = (p - m0).abs();
                    // An unrepresentable threshold is larger than any deviation.
                    let beyond = |limit: Option<Decimal>, strict: bool| match limit {
                        Some(l) if strict => dev > l,
                        Some(l) => dev >= l,
                        None => false,
                    };
                    let st = &mut self.state[i];
                    if beyond(outer, true) {
                        st.outlier = true;
                        cons[i].exclusion_reason = Some(ExclusionReason::Outlier);
                        n_outliers += 1;
                    } else if st.outlier && beyond(inner, false) {
                        cons[i].exclusion_reason = Some(ExclusionReason::OutlierHysteresis);
                        n_outliers += 1;
                    } else {
                        st.outlier = false;
                        survivors.push((i, p));
                    }
                }
            }
            _ => survivors.extend_from_slice(fresh),
        }
        let survivors = &*survivors;

        let mut reason_list: Vec<&'static str> = Vec::new();
        let priced = match survivors.len() {
            0 => None,
            1 => {
                let (i, p) = survivors[0];
                let plausible = match prev_good {
                    Some(g) => within(p, g, band),
                    None => true,
                };
                if plausible {
                    reason_list.push(reasons::SINGLE_SOURCE);
                    Some(Priced {
                        price: p,
                        weights: vec![(i, Decimal::ONE)],
                    })
                } else {
                    reason_list.push(reasons::SINGLE_SOURCE_REJECTED);
                    None
                }
            }
            2 if fresh.len() == 2 => {
                let ((i, a), (j, b)) = (survivors[0], survivors[1]);
                if pair_within_band(a, b, band) {
                    reason_list.push(reasons::QUORUM_NOT_MET);
                    Some(Priced {
                        price: mean2(a, b),
                        weights: vec![(i, Decimal::ONE), (j, Decimal::ONE)],
                    })
                } else {
                    reason_list.push(reasons::SOURCE_CONFLICT);
                    None
                }
            }
            n => {
                if n == 2 {
                    reason_list.push(reasons::QUORUM_NOT_MET);
                }
                let (weights, fell_back) = self.weights(survivors, quotes);
                if fell_back {
                    reason_list.push(reasons::WEIGHT_FALLBACK);
                }
                self.weighted(survivors, &weights, &mut sc.order, &mut sc.sorted)
            }
        };
        if fresh.is_empty() {
            reason_list.push(reasons::NO_FRESH_SOURCES);
        }

        let mut status;
        let (mut price, mut conf, mut low, mut high) = (None, None, None, None);
        let mut n_valid = 0usize;
        match priced {
            Some(Priced { price: p, weights }) => {
                status = if weights.len() >= 3 {
                    PriceStatus::Ok
                } else {
                    PriceStatus::Degraded
                };
                let vals = &mut sc.vals;
                vals.clear();
                vals.extend(weights.iter().filter_map(|&(i, _)| cons[i].price));
                vals.sort_unstable();
                let cf = confidence(p, vals).unwrap_or(Decimal::ZERO);
                if p.checked_mul(Decimal::new(1, 2))
                    .is_some_and(|lim| cf > lim)
                {
                    status = at_least_degraded(status);
                    reason_list.push(reasons::DISPERSION);
                }
                for &(i, w) in &weights {
                    cons[i].included = true;
                    cons[i].weight = Some(w);
                }
                n_valid = weights.len();
                price = Some(p);
                conf = Some(cf);
                low = Some(p - cf);
                high = Some(p + cf);
            }
            None => {
                let held = self.last_good.filter(|&(_, at)| {
                    t.micros() - at.micros() <= self.params.max_hold_ms.saturating_mul(1000)
                });
                match held {
                    Some((p, _)) => {
                        status = PriceStatus::Stale;
                        price = Some(p);
                    }
                    None => status = PriceStatus::Unavailable,
                }
            }
        }
        if n_outliers * 2 > fresh.len() {
            status = at_least_degraded(status);
            reason_list.push(reasons::DISPERSION);
        }

        if let (true, Some(p)) = (status.is_usable(), price) {
            self.last_good = Some((p, t));
            for st in &mut self.state {
                if st.seen_price.is_some() && st.ref_at_change.is_none() {
                    st.ref_at_change = Some(p);
                }
            }
        }
        self.seq += 1;

        let n_fresh = fresh.len();
        self.scratch = sc;

        let mut reasons_out: Vec<String> = Vec::with_capacity(reason_list.len());
        for r in reason_list {
            if !reasons_out.iter().any(|x| x == r) {
                reasons_out.push(r.to_owned());
            }
        }

        ReferencePrice {
            schema: ReferencePriceSchema,
            base: self.params.base.clone(),
            quote: self.params.quote.clone(),
            price,
            status,
            reasons: reasons_out,
            calc_time: t,
            seq: self.seq,
            conf,
            price_low: low,
            price_high: high,
            n_configured: count(self.sources.len()),
            n_fresh: count(n_fresh),
            n_valid: count(n_valid),
            last_good_price: self.last_good.map(|(p, _)| p),
            last_good_time: self.last_good.map(|(_, at)| at),
            method_version: METHOD_VERSION.to_owned(),
            params_hash: self.params_hash.clone(),
            input_digest,
            constituents: cons,
        }
    }

    /// Weights of the survivors under the pair's weighting; `true` when it fell back to equal.
    fn weights(
        &self,
        survivors: &[(usize, Decimal)],
        quotes: &[Option<Quote>],
    ) -> (Vec<Decimal>, bool) {
        let equal = || vec![Decimal::ONE; survivors.len()];
        match self.params.weighting {
            Weighting::Equal => (equal(), false),
            Weighting::Static => {
                let w: Vec<Decimal> = survivors
                    .iter()
                    .map(|&(i, _)| {
                        self.sources[i]
                            .static_weight
                            .unwrap_or(Decimal::ONE)
                            .max(Decimal::ZERO)
                    })
                    .collect();
                if w.iter().all(|x| x.is_zero()) {
                    (equal(), true)
                } else {
                    (w, false)
                }
            }
            Weighting::Volume => match self.volume_weights(survivors, quotes) {
                Some(w) => (w, false),
                None => (equal(), true),
            },
        }
    }

    /// Capped volume weights, or `None` when volume weighting cannot be used (a missing or
    /// negative volume, a zero total, or one source still holding half after the cap).
    fn volume_weights(
        &self,
        survivors: &[(usize, Decimal)],
        quotes: &[Option<Quote>],
    ) -> Option<Vec<Decimal>> {
        let vols = survivors
            .iter()
            .map(|&(i, _)| {
                quotes
                    .get(self.sources[i].slot)?
                    .as_ref()?
                    .volume_24h
                    .filter(|v| *v >= Decimal::ZERO)
            })
            .collect::<Option<Vec<Decimal>>>()?;
        let total = vols
            .iter()
            .try_fold(Decimal::ZERO, |acc, v| acc.checked_add(*v))?;
        if total.is_zero() {
            return None;
        }
        let cap = self.params.volume_cap.checked_mul(total)?;
        let capped: Vec<Decimal> = vols.iter().map(|v| (*v).min(cap)).collect();
        let capped_total: Decimal = capped.iter().copied().sum();
        if capped_total.is_zero() || capped.iter().any(|w| *w >= capped_total - *w) {
            return None;
        }
        Some(capped)
    }

    fn weighted(
        &self,
        survivors: &[(usize, Decimal)],
        weights: &[Decimal],
        order: &mut Vec<usize>,
        sorted: &mut Vec<(Decimal, Decimal)>,
    ) -> Option<Priced> {
        order.clear();
        order.extend(0..survivors.len());
        order.sort_by(|&a, &b| {
            let (ia, pa) = survivors[a];
            let (ib, pb) = survivors[b];
            let (sa, sb) = (&self.sources[ia], &self.sources[ib]);
            (pa, &sa.connector, &sa.instrument, ia).cmp(&(pb, &sb.connector, &sb.instrument, ib))
        });
        sorted.clear();
        sorted.extend(order.iter().map(|&k| (survivors[k].1, weights[k])));
        let price = weighted_median(sorted)?;
        Some(Priced {
            price,
            weights: survivors
                .iter()
                .zip(weights)
                .map(|(&(i, _), &w)| (i, w))
                .collect(),
        })
    }
}

/// Runs the per-source checks in the documented order and fills the constituent as far as its
/// quote allows. `exclusion_reason == None` on return means fresh.
#[allow(clippy::too_many_arguments)]
fn assess(
    params: &PairParams,
    spec: &SourceSpec,
    names: &Names,
    st: &mut SourceState,
    memo: &mut Memo,
    t: Ts,
    quote: Option<&Quote>,
    fx: &dyn Fn(&str) -> Option<Decimal>,
    prev_good: Option<Decimal>,
) -> Constituent {
    let mut c = Constituent {
        venue: names.venue.clone(),
        connector: names.connector.clone(),
        instrument: names.instrument.clone(),
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
    };
    let Some(q) = quote else {
        return c;
    };
    c.bid = q.bid;
    c.ask = q.ask;
    c.last = q.last;
    c.exchange_ts = q.exchange_ts;
    c.received_at = Some(q.received_at);
    let stamp = q.exchange_ts.unwrap_or(q.received_at);
    c.age_ms = Some(t.millis_since(stamp));
    let Some((sp, pt)) = memo.book(q, params.max_spread) else {
        return c;
    };
    c.source_price = Some(sp);
    c.price_type = Some(pt);

    if names.same_quote {
        c.price = Some(sp);
    } else if let Some(rate) = fx(&spec.quote_asset) {
        c.fx_rate = Some(rate);
        c.price = sp.checked_mul(rate);
    }

    st.track_change(sp, t);

    c.exclusion_reason = if let Some(r) = memo.book {
        Some(r)
    } else if stamp > t.plus_millis(params.future_tolerance_ms) {
        Some(ExclusionReason::FutureTs)
    } else if t.micros() - stamp.micros() > params.max_age_ms.saturating_mul(1000) {
        Some(ExclusionReason::Stale)
    } else if st.is_frozen(params, t, prev_good) {
        Some(ExclusionReason::Frozen)
    } else if c.price.is_none() {
        Some(ExclusionReason::FxUnavailable)
    } else {
        None
    };
    c
}

impl SourceState {
    fn track_change(&mut self, sp: Decimal, t: Ts) {
        if self.seen_price != Some(sp) {
            self.seen_price = Some(sp);
            self.changed_at = t;
            // Filled with the reference price published at the end of this tick.
            self.ref_at_change = None;
        }
    }

    fn is_frozen(&self, params: &PairParams, t: Ts, prev_good: Option<Decimal>) -> bool {
        let (Some(now), Some(then)) = (prev_good, self.ref_at_change) else {
            return false;
        };
        let unchanged_for = t.micros() - self.changed_at.micros();
        unchanged_for >= params.frozen_after_ms.saturating_mul(1000)
            && then > Decimal::ZERO
            && params
                .frozen_min_move
                .checked_mul(then)
                .is_some_and(|lim| (now - then).abs() >= lim)
    }
}

/// Mid when both sides are present, else last; `None` when neither is.
fn source_price(q: &Quote) -> Option<(Decimal, PriceType)> {
    match (q.bid, q.ask) {
        (Some(b), Some(a)) => Some((mean2(b, a), PriceType::Mid)),
        _ => q.last.map(|l| (l, PriceType::Last)),
    }
}

fn book_check(
    q: &Quote,
    sp: Decimal,
    pt: PriceType,
    max_spread: Decimal,
) -> Option<ExclusionReason> {
    let zero = Decimal::ZERO;
    if sp <= zero {
        return Some(ExclusionReason::NonPositive);
    }
    if let (PriceType::Mid, Some(bid), Some(ask)) = (pt, q.bid, q.ask) {
        if bid <= zero || ask <= zero {
            return Some(ExclusionReason::NonPositive);
        }
        if bid >= ask {
            return Some(ExclusionReason::CrossedBook);
        }
        // (ask - bid) / mid > max_spread, multiplied out so the boundary is exact.
        if max_spread
            .checked_mul(sp)
            .is_some_and(|lim| ask - bid > lim)
        {
            return Some(ExclusionReason::WideSpread);
        }
    }
    None
}

/// `|p - reference| <= band * reference`.
fn within(p: Decimal, reference: Decimal, band: Decimal) -> bool {
    match band.checked_mul(reference) {
        Some(lim) => (p - reference).abs() <= lim,
        None => true,
    }
}

/// `|a - b| / ((a + b) / 2) <= band`, multiplied out.
fn pair_within_band(a: Decimal, b: Decimal, band: Decimal) -> bool {
    let diff2 = (a - b).abs().checked_mul(Decimal::TWO);
    let lim = a.checked_add(b).and_then(|s| band.checked_mul(s));
    match (diff2, lim) {
        (Some(d), Some(l)) => d <= l,
        _ => false,
    }
}

fn dev_bps(p: Decimal, m0: Decimal) -> Option<Decimal> {
    if m0.is_zero() {
        return None;
    }
    let bps = (p - m0)
        .checked_mul(Decimal::new(10_000, 0))?
        .checked_div(m0)?;
    Some(bps.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero))
}

fn at_least_degraded(s: PriceStatus) -> PriceStatus {
    match s {
        PriceStatus::Ok => PriceStatus::Degraded,
        other => other,
    }
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    impl PairCalculator {
        /// Forgets every cached row and memo (what a calculator without caches would have).
        fn forget_caches(&mut self) {
            for r in &mut self.rows {
                r.forget();
            }
            for m in &mut self.memo {
                *m = Memo::default();
            }
        }
    }

    fn spec(i: usize, usdt: bool) -> SourceSpec {
        SourceSpec {
            venue: format!("v{i}"),
            connector: format!("v{i}-main"),
            instrument: if usdt { "X-USDT" } else { "X-USD" }.to_owned(),
            quote_asset: if usdt { "USDT" } else { "USD" }.to_owned(),
            static_weight: None,
            slot: i,
        }
    }

    /// One source's change at one tick: keep, drop, new book/last (mantissa, scale, spread,
    /// age), or rescale the current one (equal values, other text).
    fn step() -> impl Strategy<Value = (u8, i64, u32, i64, i64)> {
        (0u8..5, 9_000i64..11_000, 0u32..4, 0i64..40, 0i64..12_000)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// The caches change no record: a calculator that forgets them before every tick
        /// produces the same records (hysteresis, frozen and held-price state included).
        #[test]
        fn cached_and_uncached_calculators_agree(
            usdt in prop::collection::vec(any::<bool>(), 1..8),
            ticks in prop::collection::vec((prop::collection::vec(step(), 8), prop::option::of(0u32..3)), 1..12),
            weighting in 0u8..3,
            spacing_ms in prop_oneof![Just(1_000i64), Just(7_000), Just(31_000)],
        ) {
            let specs: Vec<SourceSpec> = usdt.iter().enumerate().map(|(i, u)| spec(i, *u)).collect();
            let mut params = PairParams::new("X", "USD", false);
            params.weighting = [Weighting::Equal, Weighting::Volume, Weighting::Static][usize::from(weighting)];
            let mut cached = PairCalculator::new(params.clone(), specs.clone());
            let mut fresh = PairCalculator::new(params, specs.clone());
            let t0 = Ts::from_millis(1_795_000_000_000);
            let mut quotes: Vec<Option<Quote>> = vec![None; specs.len()];
            for (k, (steps, rate_scale)) in ticks.iter().enumerate() {
                let t = t0.plus_millis(spacing_ms * k as i64);
                for (q, &(kind, m, scale, spread, age)) in quotes.iter_mut().zip(steps) {
                    let at = t.plus_millis(-age);
                    let p = Decimal::new(m, scale);
                    let h = Decimal::new(spread - 5, scale);
                    *q = match kind {
                        0 => q.clone(),
                        1 => None,
                        2 => Some(Quote { bid: Some(p - h), ask: Some(p + h), last: None, volume_24h: Some(Decimal::from(m)), exchange_ts: Some(at), received_at: at }),
                        3 => Some(Quote { last: Some(p), exchange_ts: None, received_at: at, ..Quote::default() }),
                        _ => q.clone().map(|mut q| {
                            for d in [&mut q.bid, &mut q.ask, &mut q.last].into_iter().flatten() {
                                d.rescale(d.scale() + 1);
                            }
                            q
                        }),
                    };
                }
                let rate = rate_scale.map(|s| Decimal::new(10_000i64.pow(s) + k as i64 % 2, 4 * s));
                let fx = move |_: &str| rate;
                fresh.forget_caches();
                let a = cached.compute(t, &quotes, &fx);
                let b = fresh.compute(t, &quotes, &fx);
                prop_assert_eq!(serde_json::to_string(&a).unwrap(), serde_json::to_string(&b).unwrap());
                prop_assert_eq!(a, b);
            }
        }
    }
}
