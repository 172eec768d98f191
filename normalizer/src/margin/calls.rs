//! Margin calls under CSA terms (margin.md section 2): credit support amount, call or return
//! with rounding and minimum transfer amount, the call's lifecycle, top-ups by full
//! revaluation, idle collateral.
//!
//! Choices where the spec is silent (conservative: never overstate collateral, never hide a
//! call):
//! - The collateral value is the report's exact CV (sum of `collateral_value_pre_cap -
//!   cap_excess`), so a call never disagrees with the collateral report it follows; the
//!   requirement is the report's (already rounded up to the cent).
//! - No requirement: direction `NONE`, flag `NO_REQUIREMENT`, CSA and coverage null (a return
//!   of everything would otherwise be suggested for an account nobody set a requirement for).
//! - `AWAITING_BALANCES` or `AWAITING_PRICES` on the report: direction `NONE` with that flag (a
//!   start-up is not a margin call). An open call stays open through it.
//! - A report `DEGRADED` by data problems (stale or missing prices or balances): calls are
//!   still made (they can only be understated by missing data), returns are withheld (direction
//!   `NONE`, flag `RETURN_WITHHELD`): a stale price must not release collateral.
//! - Below the MTA the direction stays `CALL` / `RETURN` with amount 0 and `BELOW_MTA` (as in
//!   M1), and a call below the MTA opens no call; an open call stays open (same `call_id`)
//!   until a report shows CV >= `call_target x CSA`, whatever the MTA says, then is `CURED`
//!   once.
//! - Top-ups are listed whenever the direction is `CALL` (below the MTA too: the shortfall is
//!   real), in `topup_assets` order. An asset whose additions can never reach the target
//!   (e.g. a long-tail coin whose cap binds) is left out.
//! - The call's state lives in memory ([`CallBook`]); after a restart a still-short account
//!   opens a new call with a new `call_id`.

use super::book::{Book, Kernel};
use super::config::{step_of, AssetSteps, CsaTerms};
use super::digest;
use super::flags;
use super::round::{cents_down, cents_up, down_to_multiple, ratio_4dp, up_to_multiple};
use crate::valuation::CASH_ASSET;
use rust_decimal::Decimal;
use schemas::{
    CallDirection, CallState, CollateralReport, CollateralStatus, MarginCallRecord,
    MarginCallSchema, MarginTerms, PriceStatus, ReferencePrice, TopUp, Ts,
};
use std::collections::{BTreeSet, HashMap};

/// An open call: its id and when it opened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenCall {
    pub call_id: String,
    pub opened_at: Ts,
}

impl From<&CsaTerms> for MarginTerms {
    fn from(t: &CsaTerms) -> Self {
        MarginTerms {
            threshold: t.threshold,
            independent_amount: t.independent_amount,
            minimum_transfer_amount: t.minimum_transfer_amount,
            rounding: t.rounding,
            call_target: t.call_target,
            return_above: t.return_above,
            return_to: t.return_to,
            topup_assets: t.topup_assets.clone(),
        }
    }
}

/// The exact CV and the cap excess of a collateral report.
pub fn exact_cv(report: &CollateralReport) -> (Decimal, Decimal) {
    let mut cv = Decimal::ZERO;
    let mut excess = Decimal::ZERO;
    for a in &report.assets {
        cv = cv.saturating_add(a.collateral_value_pre_cap - a.cap_excess);
        excess = excess.saturating_add(a.cap_excess);
    }
    (cv, excess)
}

/// The price a top-up of `asset` is valued at: the price the report used if it holds the
/// asset, else its reference price (`OK`/`DEGRADED`: the price; `STALE`: the held last good
/// price, as the valuation does); `None` when there is none.
pub fn topup_price(
    asset: &str,
    report: &CollateralReport,
    prices: &HashMap<String, ReferencePrice>,
) -> Option<Decimal> {
    if asset == CASH_ASSET {
        return Some(Decimal::ONE);
    }
    if let Some(a) = report.assets.iter().find(|a| a.asset == asset) {
        if a.price.is_some() {
            return a.price;
        }
    }
    let rp = prices
        .get(asset)
        .filter(|r| r.base == asset && r.quote == CASH_ASSET)?;
    let positive = |p: Option<Decimal>| p.filter(|p| *p > Decimal::ZERO);
    match rp.status {
        PriceStatus::Ok | PriceStatus::Degraded => positive(rp.price),
        PriceStatus::Stale => positive(rp.price).or(positive(rp.last_good_price)),
        PriceStatus::Unavailable => None,
    }
}

/// The smallest quantity on `step`'s grid that, added to the book's `asset` at `price`, makes
/// CV >= `target` by full revaluation (tiers, de-peg, caps). CV is monotone in the added
/// quantity, so this is a bisection on the integer grid index. `None` when no quantity within
/// `Decimal`'s range reaches the target.
pub fn topup_quantity(
    kernel: &Kernel,
    book: &Book,
    prices: &[Option<Decimal>],
    asset: &str,
    price: Decimal,
    step: Decimal,
    target: Decimal,
) -> Option<Decimal> {
    if price <= Decimal::ZERO || step <= Decimal::ZERO {
        return None;
    }
    let (mut trial, prices, i) = book.with_added(kernel, asset, prices, price);
    let base = trial.lines[i].quantity;
    let mut scratch = Vec::with_capacity(trial.lines.len());
    let mut cv_at = |n: u128, trial: &mut Book| -> Option<Decimal> {
        let add = Decimal::from_i128_with_scale(i128::try_from(n).ok()?, 0).checked_mul(step)?;
        trial.lines[i].quantity = base.checked_add(add)?;
        Some(kernel.cv(trial, &prices, &mut scratch))
    };
    let cv0 = cv_at(0, &mut trial)?;
    if cv0 >= target {
        return Some(Decimal::ZERO);
    }
    // A first guess at no haircut, then doubling: new collateral can free capped value, so the
    // guess may already be enough; the bisection settles it either way.
    let guess = ((target - cv0) / (price * step)).ceil().max(Decimal::ONE);
    let mut hi: u128 = guess.to_string().parse().ok()?;
    let mut lo: u128 = 0;
    while cv_at(hi, &mut trial)? < target {
        lo = hi;
        hi = hi.checked_mul(2).filter(|h| *h < 1u128 << 100)?;
    }
    // Invariant: lo does not reach the target, hi does.
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if cv_at(mid, &mut trial)? >= target {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Decimal::from_i128_with_scale(i128::try_from(hi).ok()?, 0).checked_mul(step)
}

/// Everything one call computation needs besides the kernel.
pub struct CallInputs<'a> {
    pub report: &'a CollateralReport,
    pub terms: &'a CsaTerms,
    /// Reference prices by asset, for top-up assets the account does not hold.
    pub prices: &'a HashMap<String, ReferencePrice>,
    pub steps: &'a AssetSteps,
    /// `params_hash` of this account's call parameters ([`digest::calls_params_hash`]).
    pub params_hash: &'a str,
    pub seq: u64,
}

/// One account's `margin_call.v1` and the open call after it. Pure.
pub fn margin_call(
    kernel: &Kernel,
    inp: &CallInputs<'_>,
    open: Option<&OpenCall>,
) -> (MarginCallRecord, Option<OpenCall>) {
    let report = inp.report;
    let terms = inp.terms;
    let (cv, cap_excess) = exact_cv(report);
    let mut fl: BTreeSet<&'static str> = BTreeSet::new();
    let awaiting: Vec<&'static str> = [flags::AWAITING_BALANCES, flags::AWAITING_PRICES]
        .into_iter()
        .filter(|f| report.flags.iter().any(|g| g == f))
        .collect();
    let csa = report
        .requirement
        .map(|r| (r + terms.independent_amount - terms.threshold).max(Decimal::ZERO));
    let mut direction = CallDirection::None;
    let mut raw = None;
    let mut amount = Decimal::ZERO;
    let mut below_target = false;
    match csa {
        None => {
            fl.insert(flags::NO_REQUIREMENT);
        }
        Some(_) if !awaiting.is_empty() => fl.extend(awaiting.iter().copied()),
        Some(csa) => {
            let target = terms.call_target * csa;
            below_target = cv < target;
            if below_target {
                direction = CallDirection::Call;
                let r = target - cv;
                raw = Some(r);
                amount = up_to_multiple(r, terms.rounding);
            } else if terms.return_above.is_some_and(|a| cv > a * csa) {
                if report.status == CollateralStatus::Degraded {
                    fl.insert(flags::RETURN_WITHHELD);
                } else {
                    direction = CallDirection::Return;
                    let r = cv - terms.return_to * csa;
                    raw = Some(r);
                    amount = down_to_multiple(r, terms.rounding).max(Decimal::ZERO);
                }
            }
            if direction != CallDirection::None && amount < terms.minimum_transfer_amount {
                amount = Decimal::ZERO;
                fl.insert(flags::BELOW_MTA);
            }
        }
    }
    let decided = csa.is_some() && awaiting.is_empty();
    let (state, next) = match open {
        Some(_) if decided && !below_target => (Some(CallState::Cured), None),
        Some(o) => (Some(CallState::Open), Some(o.clone())),
        None if direction == CallDirection::Call && !amount.is_zero() => {
            let o = OpenCall {
                call_id: format!("{}-{}", report.account, report.calc_time),
                opened_at: report.calc_time,
            };
            (Some(CallState::Open), Some(o))
        }
        None => (None, None),
    };
    let shown = match (state, open) {
        (Some(CallState::Cured), Some(o)) => Some(o.clone()),
        _ => next.clone(),
    };

    let mut topups = Vec::new();
    let mut used_prices = Vec::new();
    if direction == CallDirection::Call {
        let target = terms.call_target * csa.unwrap_or_default();
        let (book, p0) = Book::from_report(kernel, report);
        for asset in &terms.topup_assets {
            let Some(price) = topup_price(asset, report, inp.prices) else {
                continue;
            };
            used_prices.push((asset.as_str(), price));
            let step = step_of(inp.steps, asset, kernel.class_name(asset));
            if let Some(quantity) = topup_quantity(kernel, &book, &p0, asset, price, step, target) {
                topups.push(TopUp {
                    asset: asset.clone(),
                    quantity,
                    price,
                });
            }
        }
    }

    let input_digest = digest::calls_input_digest(report, &used_prices, open);
    let record = MarginCallRecord {
        schema: MarginCallSchema,
        account: report.account.clone(),
        calc_time: report.calc_time,
        seq: inp.seq,
        requirement: report.requirement,
        credit_support_amount: csa.map(cents_up),
        collateral_value: cents_down(cv),
        coverage: csa.filter(|c| *c > Decimal::ZERO).map(|c| ratio_4dp(cv, c)),
        direction,
        raw_amount: raw,
        amount,
        flags: fl.iter().map(|f| (*f).to_owned()).collect(),
        call_id: shown.as_ref().map(|o| o.call_id.clone()),
        call_opened_at: shown.as_ref().map(|o| o.opened_at),
        state,
        topups,
        idle_collateral: cents_down(cap_excess),
        terms: terms.into(),
        transfers: Vec::new(),
        method_version: super::METHOD_VERSION.to_owned(),
        params_hash: inp.params_hash.to_owned(),
        input_digest,
    };
    (record, next)
}

/// Open calls by account: the lifecycle state between reports.
#[derive(Clone, Debug, Default)]
pub struct CallBook {
    open: HashMap<String, OpenCall>,
}

impl CallBook {
    /// [`margin_call`] for the report's account, keeping its open call.
    pub fn evaluate(&mut self, kernel: &Kernel, inp: &CallInputs<'_>) -> MarginCallRecord {
        let account = &inp.report.account;
        let (record, next) = margin_call(kernel, inp, self.open.get(account));
        match next {
            Some(o) => {
                self.open.insert(account.clone(), o);
            }
            None => {
                self.open.remove(account);
            }
        }
        record
    }

    /// The open call of `account`, if any.
    pub fn open_call(&self, account: &str) -> Option<&OpenCall> {
        self.open.get(account)
    }
}
