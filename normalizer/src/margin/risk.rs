//! Collateral at risk (margin.md section 4): Expected Shortfall and VaR of an account's
//! collateral value by historical simulation with full revaluation, per-asset ES against the
//! effective haircut, and a liquidity add-on.
//!
//! - **Scenarios.** Day t's return of an asset is `P_t / P_(t-H) - 1` over its own horizon H
//!   (`horizon_days`, `horizon_days_alt` for `alt` and `long_tail`), rounded half-even to
//!   12 dp, from daily fixings ([`super::fixings::History`]), never scaled from one day. t runs
//!   over the `lookback_days` days up to the last day with a fixing of a held asset at or
//!   before the report's `calc_time`; a day is a scenario when every held asset with enough
//!   history has its return that day (joint). Assets that need no history: cash (never
//!   shocked), testnet coins, assets without a price or with a quantity of 0 (their value is 0
//!   in every scenario). An asset with fewer than `min_scenarios` returns in the window takes
//!   its class's `okx_mr6_down` shock in every scenario (`INSUFFICIENT_HISTORY` on the asset);
//!   when no held asset has enough history there are no scenarios.
//! - **Losses** `L_i = CV(q, p0) - CV(q, p0 (1 + r_i))` by the valuation kernel (tiers,
//!   de-peg, caps), current quantities, p0 the prices the collateral report used.
//! - **ES, VaR** (Acerbi-Tasche, exact for any N): losses sorted descending, t = N (1 - alpha),
//!   k = floor(t), ES = (L_(1) + ... + L_(k) + (t - k) L_(k+1)) / t, VaR = L_(k+1). Both are
//!   published rounded up to the cent (settled by exact multiplication, not by the rounded
//!   quotient); `coverage_after_es` uses the unrounded ES. Below `min_scenarios` scenarios: no
//!   ES, VaR or per-asset ES, flag `INSUFFICIENT_HISTORY`.
//! - **Per asset**: ES of the asset alone with the linear loss `MV x -r` over the same
//!   scenarios; `es_pct` = ES / MV and `effective_haircut` = 1 - pre-cap CV / MV, compared
//!   unrounded (`HAIRCUT_BELOW_ES` when es_pct is above), published half-even to 6 dp.
//! - **Liquidity add-on** (assets with an `adv`): days = ceil(q / (participation x adv)),
//!   H_eff the smallest of 2, 5, 10, 20 >= max(H, days), add-on = the asset's unrounded ES x
//!   (m(H_eff) - 1) rounded up to the cent, m the fixed decimals of [`LIQUIDITY_FACTORS`]. As
//!   the spec writes it, m is relative to a 2-day ES, also for an asset whose H is 5 (which
//!   overstates, never understates, the add-on). Above 20 days: flag `ILLIQUID`, m(20) as a
//!   floor, `liquidity_horizon` null. The account's add-on is the sum of the assets'; it is
//!   published beside ES, not folded into `coverage_after_es`.
//! - **Off the hot path**: [`compute_all`] takes a snapshot (reports and fixings), builds each
//!   (asset, horizon) return series once, and shares the accounts between threads.

use super::book::{Book, Kernel};
use super::config::{RiskConfig, Scenario};
use super::digest;
use super::fixings::{day_of, format_day, History};
use super::flags;
use super::round::{ceil_div, half_even, ratio_4dp};
use rust_decimal::{Decimal, RoundingStrategy};
use schemas::{AssetRisk, CollateralReport, CollateralRiskRecord, CollateralRiskSchema};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// m(H) = sqrt(H / 2) as fixed decimals, so replay stays byte-exact.
pub const LIQUIDITY_FACTORS: [(u32, Decimal); 4] = [
    (2, Decimal::ONE),
    (5, Decimal::from_parts(1_581_139, 0, 0, false, 6)),
    (10, Decimal::from_parts(2_236_068, 0, 0, false, 6)),
    (20, Decimal::from_parts(3_162_278, 0, 0, false, 6)),
];

/// ES and VaR of `losses` at `alpha` (Acerbi-Tasche), unrounded; `None` without losses.
pub fn es_var(losses: &[Decimal], alpha: Decimal) -> Option<(Decimal, Decimal)> {
    let (num, t, var) = es_parts(losses, alpha)?;
    Some((num / t, var))
}

/// The ES numerator, t and VaR, so ES can be rounded up exactly.
fn es_parts(losses: &[Decimal], alpha: Decimal) -> Option<(Decimal, Decimal, Decimal)> {
    if losses.is_empty() || alpha <= Decimal::ZERO || alpha >= Decimal::ONE {
        return None;
    }
    let mut sorted = losses.to_vec();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    let t = Decimal::from(sorted.len()) * (Decimal::ONE - alpha);
    let k = t.floor();
    let ki = usize::try_from(k.mantissa() / 10i128.pow(k.scale())).ok()?;
    let var = sorted[ki.min(sorted.len() - 1)];
    let mut num = super::sat_sum(sorted[..ki].iter().copied());
    if t > k {
        num = num.saturating_add((t - k) * var);
    }
    Some((num, t, var))
}

/// ES rounded up to the cent, exactly: the smallest cent amount c with c x t >= numerator.
fn es_cents_up(num: Decimal, t: Decimal) -> Option<Decimal> {
    let cent = Decimal::new(1, 2);
    let mut es = ceil_div(num, t * cent)? * cent;
    es.rescale(2);
    Some(es)
}

fn cents_up(d: Decimal) -> Decimal {
    super::round::cents_up(d)
}

/// The return series of every (asset, horizon) a set of accounts needs, built once.
#[derive(Clone, Debug, Default)]
pub struct Returns {
    series: HashMap<(String, u32), BTreeMap<i64, Decimal>>,
}

impl Returns {
    /// `r_t = P_t / P_(t-H) - 1`, half-even to 12 dp, for every day t where both fixings exist.
    pub fn series(history: &History, asset: &str, h: u32) -> BTreeMap<i64, Decimal> {
        let Some(prices) = history.prices(asset) else {
            return BTreeMap::new();
        };
        prices
            .iter()
            .filter_map(|(&t, &p)| {
                let before = prices.get(&(t - i64::from(h)))?;
                if *before <= Decimal::ZERO {
                    return None;
                }
                let r = (p / *before - Decimal::ONE)
                    .round_dp_with_strategy(12, RoundingStrategy::MidpointNearestEven);
                Some((t, r))
            })
            .collect()
    }

    fn get_or_build(&mut self, history: &History, asset: &str, h: u32) -> &BTreeMap<i64, Decimal> {
        self.series
            .entry((asset.to_owned(), h))
            .or_insert_with(|| Returns::series(history, asset, h))
    }
}

/// The horizon of an asset's returns: `horizon_days_alt` for `alt` and `long_tail`.
pub fn horizon_of(kernel: &Kernel, cfg: &RiskConfig, asset: &str) -> u32 {
    match kernel.class_name(asset) {
        "alt" | "long_tail" => cfg.horizon_days_alt,
        _ => cfg.horizon_days,
    }
}

/// The scenarios of one account: per book line, its return in each scenario.
#[derive(Clone, Debug, Default)]
pub struct ScenarioSet {
    /// The scenario days t, ascending (days since 1970-01-01).
    pub days: Vec<i64>,
    /// Per line: `None` = never shocked; else one return per scenario.
    pub returns: Vec<Option<Vec<Decimal>>>,
    pub horizons: Vec<u32>,
    pub insufficient: Vec<bool>,
}

/// Whether a line's value can move with its price.
fn needs_history(book: &Book, p0: &[Option<Decimal>], i: usize, kernel: &Kernel) -> bool {
    let l = &book.lines[i];
    !l.cash
        && !l.quantity.is_zero()
        && p0[i].is_some()
        && kernel.class_name(&l.asset) != crate::valuation::TESTNET_CLASS
}

/// The joint scenarios of `book` (section 4.2) at `calc_day` (the report's UTC day).
pub fn scenario_set(
    ctx: &RiskContext<'_>,
    book: &Book,
    p0: &[Option<Decimal>],
    returns: &mut Returns,
    calc_day: i64,
) -> ScenarioSet {
    let (kernel, cfg, fallback, history) = (ctx.kernel, ctx.cfg, ctx.fallback, ctx.history);
    let n = book.lines.len();
    let relevant: Vec<usize> = (0..n)
        .filter(|&i| needs_history(book, p0, i, kernel))
        .collect();
    let horizons: Vec<u32> = book
        .lines
        .iter()
        .map(|l| horizon_of(kernel, cfg, &l.asset))
        .collect();
    // The last day with a fixing of a held asset at or before calc_time.
    let last = relevant
        .iter()
        .filter_map(|&i| history.last_day_at_or_before(&book.lines[i].asset, calc_day))
        .max();
    let mut set = ScenarioSet {
        days: Vec::new(),
        returns: vec![None; n],
        horizons,
        insufficient: vec![false; n],
    };
    let Some(last) = last else {
        for &i in &relevant {
            set.insufficient[i] = true;
        }
        return fill_fallback(kernel, fallback, book, set, &relevant);
    };
    let first = last - i64::from(cfg.lookback_days) + 1;
    let mut series: Vec<(usize, &BTreeMap<i64, Decimal>)> = Vec::new();
    for &i in &relevant {
        let s = returns.get_or_build(history, &book.lines[i].asset, set.horizons[i]);
        let count = s.range(first..=last).count();
        if count < cfg.min_scenarios as usize {
            set.insufficient[i] = true;
        }
    }
    let sufficient: Vec<usize> = relevant
        .iter()
        .copied()
        .filter(|&i| !set.insufficient[i])
        .collect();
    for &i in &sufficient {
        let key = (book.lines[i].asset.clone(), set.horizons[i]);
        series.push((i, &returns.series[&key]));
    }
    if !series.is_empty() {
        set.days = (first..=last)
            .filter(|t| series.iter().all(|(_, s)| s.contains_key(t)))
            .collect();
        for (i, s) in &series {
            set.returns[*i] = Some(set.days.iter().map(|t| s[t]).collect());
        }
    }
    fill_fallback(kernel, fallback, book, set, &relevant)
}

/// Every insufficient relevant line takes its class's fallback shock in every scenario.
fn fill_fallback(
    kernel: &Kernel,
    fallback: &Scenario,
    book: &Book,
    mut set: ScenarioSet,
    relevant: &[usize],
) -> ScenarioSet {
    for &i in relevant {
        if set.insufficient[i] {
            let a = &book.lines[i].asset;
            let s = fallback.shock(a, kernel.class_name(a));
            set.returns[i] = Some(vec![s; set.days.len()]);
        }
    }
    set
}

/// The inputs of one account's risk record besides the shared ones.
pub struct RiskInputs<'a> {
    pub report: &'a CollateralReport,
    pub seq: u64,
}

/// What every account of a run shares.
pub struct RiskContext<'a> {
    pub kernel: &'a Kernel,
    pub cfg: &'a RiskConfig,
    pub fallback: &'a Scenario,
    pub history: &'a History,
    pub params_hash: &'a str,
    pub csv_sha256: Option<&'a str>,
}

/// One account's `collateral_risk.v1`. Pure.
pub fn collateral_risk(
    ctx: &RiskContext<'_>,
    inp: &RiskInputs<'_>,
    returns: &mut Returns,
) -> CollateralRiskRecord {
    let report = inp.report;
    let kernel = ctx.kernel;
    let cfg = ctx.cfg;
    let (book, p0) = Book::from_report(kernel, report);
    let calc_day = day_of(report.calc_time);
    let set = scenario_set(ctx, &book, &p0, returns, calc_day);
    let n = set.days.len();
    let enough = n >= cfg.min_scenarios as usize && n > 0;
    let mut scratch = Vec::with_capacity(book.lines.len());
    let cv0 = kernel.cv(&book, &p0, &mut scratch);
    let mut account_flags: BTreeSet<&'static str> = BTreeSet::new();
    let (mut es, mut var, mut es_exact) = (None, None, None);
    if enough {
        let mut prices = p0.clone();
        let losses: Vec<Decimal> = (0..n)
            .map(|s| {
                for (i, r) in set.returns.iter().enumerate() {
                    if let (Some(r), Some(p)) = (r, p0[i]) {
                        prices[i] = Some(p * (Decimal::ONE + r[s]));
                    }
                }
                cv0 - kernel.cv(&book, &prices, &mut scratch)
            })
            .collect();
        if let Some((num, t, v)) = es_parts(&losses, cfg.alpha) {
            es = es_cents_up(num, t);
            var = Some(cents_up(v));
            es_exact = Some(num / t);
        }
    } else {
        account_flags.insert(flags::INSUFFICIENT_HISTORY);
    }

    let mut assets = Vec::new();
    let mut addon_total = Decimal::ZERO;
    for (i, line) in book.lines.iter().enumerate() {
        let Some(rets) = set.returns[i].as_ref() else {
            continue;
        };
        let Some(av) = report.assets.iter().find(|a| a.asset == line.asset) else {
            continue;
        };
        let mv = av.market_value;
        let mut fl: BTreeSet<&'static str> = BTreeSet::new();
        if set.insufficient[i] {
            fl.insert(flags::INSUFFICIENT_HISTORY);
        }
        let own = if enough && mv > Decimal::ZERO {
            let losses: Vec<Decimal> = rets.iter().map(|r| -(mv * r)).collect();
            es_parts(&losses, cfg.alpha)
        } else {
            None
        };
        let es_a = own.map(|(num, t, _)| num / t);
        let haircut = (mv > Decimal::ZERO).then(|| Decimal::ONE - av.collateral_value_pre_cap / mv);
        let es_pct = es_a.map(|e| e / mv);
        if let (Some(p), Some(h)) = (es_pct, haircut) {
            if p > h {
                fl.insert(flags::HAIRCUT_BELOW_ES);
            }
        }
        let (mut days, mut horizon, mut addon) = (None, None, None);
        if let Some(adv) = cfg
            .adv
            .get(&line.asset)
            .filter(|_| line.quantity > Decimal::ZERO)
        {
            let d = ceil_div(line.quantity, cfg.participation * adv)
                .and_then(|d| u64::try_from(d.mantissa() / 10i128.pow(d.scale())).ok())
                .unwrap_or(u64::MAX);
            days = Some(d);
            let need = u64::from(set.horizons[i]).max(d);
            let (h_eff, m) = match LIQUIDITY_FACTORS
                .iter()
                .find(|(h, _)| u64::from(*h) >= need)
            {
                Some((h, m)) => (Some(*h), *m),
                None => {
                    fl.insert(flags::ILLIQUID);
                    (None, LIQUIDITY_FACTORS[3].1)
                }
            };
            horizon = h_eff;
            addon = es_a.map(|e| cents_up(e * (m - Decimal::ONE)));
            addon_total += addon.unwrap_or_default();
        }
        account_flags.extend(fl.iter().copied());
        assets.push(AssetRisk {
            asset: line.asset.clone(),
            horizon_days: set.horizons[i],
            es: own.and_then(|(num, t, _)| es_cents_up(num, t)),
            es_pct: es_pct.map(|p| half_even(p, 6)),
            effective_haircut: haircut.map(|h| half_even(h, 6)),
            liquidity_days: days,
            liquidity_horizon: horizon,
            liquidity_addon: addon,
            flags: fl.iter().map(|f| (*f).to_owned()).collect(),
        });
    }
    addon_total.rescale(2);

    let fixings: Vec<(&str, &str)> = book
        .lines
        .iter()
        .enumerate()
        .filter(|(i, _)| set.returns[*i].is_some() && !set.insufficient[*i])
        .filter_map(|(_, l)| Some((l.asset.as_str(), ctx.history.digest(&l.asset)?)))
        .collect();
    CollateralRiskRecord {
        schema: CollateralRiskSchema,
        account: report.account.clone(),
        calc_time: report.calc_time,
        seq: inp.seq,
        alpha: cfg.alpha,
        horizon_days: cfg.horizon_days,
        n_scenarios: n as u64,
        history_from: set.days.first().map(|d| format_day(*d)),
        history_to: set.days.last().map(|d| format_day(*d)),
        es,
        var,
        liquidity_addon: addon_total,
        requirement: report.requirement,
        coverage_after_es: match (es_exact, report.requirement) {
            (Some(e), Some(r)) if r > Decimal::ZERO => Some(ratio_4dp(cv0 - e, r)),
            _ => None,
        },
        assets,
        flags: account_flags.iter().map(|f| (*f).to_owned()).collect(),
        method_version: super::METHOD_VERSION.to_owned(),
        params_hash: ctx.params_hash.to_owned(),
        input_digest: digest::risk_input_digest(report, &fixings, ctx.csv_sha256),
    }
}

/// A snapshot for a background risk run: the latest report and `seq` of each account.
pub struct RiskJob {
    pub accounts: Vec<(CollateralReport, u64)>,
}

/// Every account's `collateral_risk.v1`, in the job's order, on `threads` threads (each with
/// its own return-series cache; the series are pure functions of the snapshot, so the result
/// does not depend on the split). Meant for a background thread: it takes no lock and touches
/// no shared state.
pub fn compute_all(
    ctx: &RiskContext<'_>,
    job: &RiskJob,
    threads: usize,
) -> Vec<CollateralRiskRecord> {
    let threads = threads.max(1).min(job.accounts.len().max(1));
    let chunk = job.accounts.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = job
            .accounts
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    let mut returns = Returns::default();
                    part.iter()
                        .map(|(report, seq)| {
                            collateral_risk(ctx, &RiskInputs { report, seq: *seq }, &mut returns)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}
