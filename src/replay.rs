//! `replay`: the normalizer over a capture file, on the capture's own clock. Frames go through
//! the same parser and symbol mapping as the live loop (`frame_to_quotes`); the driver
//! (`normalizer::driver::Driver`) cuts on the same cadence boundaries, so the same capture
//! gives the same bytes.

use crate::config::{Config, ConfigError, ConnectorConfig};
use crate::plan;
use connectors::capture::CaptureReader;
use connectors::transport::{frame_to_quotes, Connection, FrameMeta};
use connectors::{registry, ConnState, FrameKind};
use normalizer::assets::AssetMaster;
use normalizer::driver::Driver;
use schemas::Record;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;
use std::path::Path;
use std::time::Instant;

pub enum ReplayError {
    Config(Vec<ConfigError>),
    Io(std::io::Error),
    /// The audit log could not be opened or written.
    Audit(anyhow::Error),
}

impl From<std::io::Error> for ReplayError {
    fn from(e: std::io::Error) -> Self {
        ReplayError::Io(e)
    }
}

/// Without a config: one connector per capture connector, instruments as seen, and
/// `<BASE>-USD` for every base seen (interface.md). Needs one pass over the capture first.
fn synthesize(path: &Path) -> Result<Config, ReplayError> {
    let assets = AssetMaster::default();
    let mut order: Vec<(String, String)> = Vec::new();
    let mut symbols: HashMap<String, Vec<String>> = HashMap::new();
    let mut bases = BTreeSet::new();
    let mut states: HashMap<String, ConnState> = HashMap::new();
    let mut reader = CaptureReader::open(path)?;
    while let Some(line) = reader.next() {
        let Ok(line) = line else { continue };
        if !symbols.contains_key(line.connector.as_ref()) {
            order.push((line.connector.to_string(), line.venue.to_string()));
            symbols.insert(line.connector.to_string(), Vec::new());
        }
        // Balance responses need no instrument; price frames name their symbols.
        let Some(venue) = registry::streaming(&line.venue).filter(|_| line.channel == "ws") else {
            continue;
        };
        let list = symbols
            .get_mut(line.connector.as_ref())
            .expect("inserted above");
        let state = states.entry(line.connector.to_string()).or_default();
        let kind = venue.parse(&line.frame, state, &mut |q| {
            if !list.iter().any(|s| s == q.symbol.as_ref()) {
                if let Ok(i) = plan::resolve_symbol(&assets, venue, &q.symbol) {
                    bases.insert(i.base.clone());
                    list.push(q.symbol.to_string());
                }
            }
        });
        // Channel-numbered venues (Bitfinex) name the symbol only when binding the channel.
        if let Ok(FrameKind::Bind { channel, symbol }) = kind {
            state.channels.insert(channel, symbol);
        }
    }
    let connectors = order
        .into_iter()
        .filter(|(id, kind)| {
            // A venue the registry does not know (a custodian described in config, kind
            // `generic_rest`) cannot be read without its description: said, then skipped.
            let known = registry::streaming(kind).is_some() || registry::polling(kind).is_some();
            if !known {
                eprintln!(
                    "replay: connector {id} ({kind}) skipped: reading it needs the config that describes it (--config)"
                );
            }
            known
        })
        .map(|(id, kind)| ConnectorConfig {
            instruments: symbols.remove(&id).unwrap_or_default(),
            id,
            kind,
            ..Default::default()
        })
        .collect();
    let mut cfg = Config {
        connectors,
        ..Default::default()
    };
    cfg.reference.pairs = bases
        .into_iter()
        .filter(|b| b != "USD")
        .map(|b| format!("{b}-USD"))
        .collect();
    Ok(cfg)
}

/// The audit log of `replay --audit`: its directory and `[audit]` settings, opened at the
/// first capture line (the capture's clock).
pub type AuditTarget = (std::path::PathBuf, crate::config::AuditConfig);

pub fn replay(
    path: &Path,
    cfg: Option<Config>,
    stats: bool,
    audit: Option<AuditTarget>,
) -> Result<(), ReplayError> {
    let mut cfg = match cfg {
        Some(c) => c,
        None => synthesize(path)?,
    };
    let plan = loop {
        match plan::build(&cfg) {
            Ok(p) => break p,
            Err(errors) if cfg.connectors.is_empty() => {
                // An empty or foreign capture: nothing to replay is not a config error.
                let _ = errors;
                return Ok(());
            }
            Err(errors) => {
                // A pair nothing in the capture (or the config) can price is reported and
                // skipped: every price tick and balance still comes out. Skipping one may leave
                // another unpriceable (a conversion through it), hence the loop.
                let unpriceable = unpriceable_pairs(&cfg, &errors);
                if unpriceable.is_empty() || unpriceable.len() < errors.len() {
                    return Err(ReplayError::Config(errors));
                }
                for (pair, message) in &unpriceable {
                    eprintln!("replay: pair {pair} skipped: {message}");
                    cfg.reference.pairs.retain(|p| p != pair);
                    cfg.reference.params.remove(pair);
                }
            }
        }
    };
    let mut plan = plan;
    // The margin engine, with the CSV's fixings only: a replay writes no store.
    let margin = crate::engine::margin_state(&cfg, &plan.normalizer, None)
        .map_err(|e| ReplayError::Config(vec![e]))?;
    plan.normalizer.set_margin_engine(margin);
    let index: HashMap<&str, usize> = plan
        .connectors
        .iter()
        .enumerate()
        .map(|(i, c)| (c.config.id.as_str(), i))
        .collect();
    let started = Instant::now();
    let stdout = std::io::stdout();
    let mut out = Output {
        w: stdout.lock(),
        buf: Vec::with_capacity(OUTPUT_BUFFER + 4096),
    };
    let mut driver = Driver::new(plan.normalizer);
    let mut records = Vec::new();
    let mut frames = 0u64;
    let mut written = 0u64;
    let mut skipped: BTreeMap<String, u64> = BTreeMap::new();
    // Per connector: the first page's time of the REST poll being read, if one is open.
    let mut poll_started: Vec<Option<schemas::Ts>> = vec![None; plan.connectors.len()];
    // Per connector: its connection state, replaced when the epoch changes (a new socket).
    let mut conns: Vec<(u64, Connection)> = (0..plan.connectors.len())
        .map(|_| (u64::MAX, Connection::default()))
        .collect();
    let mut audit = ReplayAudit {
        target: audit,
        log: None,
        clock: None,
    };
    let mut reader = CaptureReader::open(path)?;
    while let Some(line) = reader.next() {
        let line = match line {
            Ok(l) => l,
            Err((n, e)) => {
                tracing::debug!(line = n, error = %e, "not a capture line");
                *skipped.entry("capture".into()).or_default() += 1;
                continue;
            }
        };
        frames += 1;
        let Some(&ci) = index.get(line.connector.as_ref()) else {
            continue; // a connector the config does not map
        };
        let pc = &plan.connectors[ci];
        if pc.config.kind != line.venue {
            *skipped.entry(line.venue.to_string()).or_default() += 1;
            continue;
        }
        let balances = line.channel.starts_with("rest:")
            || line.channel == connectors::transport::private_ws::CAPTURE_CHANNEL;
        let venue = match pc.venue {
            Some(v) => Some(v),
            None if !balances => {
                *skipped.entry(line.venue.to_string()).or_default() += 1;
                continue;
            }
            None => None,
        };
        // The capture's clock reads the line's time, whatever the line holds.
        driver.on_clock(line.received_at, &mut records);
        audit.clock = Some(line.received_at);
        let parsed = if balances {
            // A balance response or a private balance-stream frame: the same pure parsers the
            // poller and the stream use (the plan's poller first: a config-described custodian
            // is built from its config).
            let mut obs = Vec::new();
            let mut emit = |b: connectors::transport::rest::ParsedBalance<'_>| {
                obs.push(b.into_obs(ci as u32, line.received_at))
            };
            let rest = line.channel.starts_with("rest:");
            let mut closes_poll = false;
            let mut account = Vec::new();
            let path = line.channel.strip_prefix("rest:").unwrap_or("");
            let account_page = rest
                && pc
                    .polling
                    .or_else(|| registry::polling(&line.venue))
                    .is_some_and(|p| connectors::transport::rest::is_account_path(p, path));
            let parsed = if rest {
                pc.polling
                    .or_else(|| registry::polling(&line.venue))
                    .map(|p| {
                        let mut items = |i: connectors::account::AccountItem<'_>| {
                            account.push(i.into_obs(ci as u32, line.received_at))
                        };
                        // A derivatives venue's account page (margin, positions) is no
                        // balance page: as live, it comes after the poll's close.
                        if account_page {
                            return p.parse_account(path, &line.frame, &mut items).is_ok();
                        }
                        match p.parse_balances(&line.frame, &mut emit) {
                            // The last page of a poll: as live, the poll closes (what it no
                            // longer lists is gone), as of its first page's response, after
                            // the margin and positions the page also carries.
                            Ok(next) => {
                                closes_poll = next.is_none();
                                let _ = p.parse_account(path, &line.frame, &mut items);
                                true
                            }
                            Err(_) => false,
                        }
                    })
            } else {
                registry::balance_stream(&line.venue).map(|st| {
                    let ok = st.parse(&line.frame, &mut emit).is_ok();
                    let mut items = |i: connectors::account::AccountItem<'_>| {
                        account.push(i.into_obs(ci as u32, line.received_at))
                    };
                    st.parse_account(&line.frame, &mut items).is_ok() && ok
                })
            };
            for b in obs {
                driver.on_balance(b, &mut records);
            }
            for o in account {
                driver.on_account(o, &mut records);
            }
            if rest && !account_page {
                let first = *poll_started[ci].get_or_insert(line.received_at);
                if parsed != Some(true) {
                    poll_started[ci] = None;
                } else if closes_poll {
                    poll_started[ci] = None;
                    driver.on_balance(
                        schemas::BalanceObs::poll_closed(ci as u32, first, line.received_at),
                        &mut records,
                    );
                }
            }
            parsed == Some(true)
        } else {
            let venue = venue.expect("checked above");
            let (conn_epoch, conn) = &mut conns[ci];
            if *conn_epoch != line.epoch {
                *conn_epoch = line.epoch;
                *conn = Connection::default();
            }
            frame_to_quotes(
                venue,
                &line.frame,
                FrameMeta {
                    received_at: line.received_at,
                    epoch: line.epoch,
                    connector: ci as u32,
                },
                &pc.table,
                conn,
                &mut |q| driver.on_quote(q, &mut records),
                &mut |_| {},
            )
            .is_ok()
        };
        if !parsed {
            *skipped.entry(line.venue.to_string()).or_default() += 1;
        }
        audit.log(&records)?;
        written += write_records(&mut out, &mut records)?;
    }
    driver.finish(&mut records);
    audit.log(&records)?;
    written += write_records(&mut out, &mut records)?;
    audit.close()?;
    out.flush()?;
    let total: u64 = skipped.values().sum();
    if total > 0 {
        let detail: Vec<String> = skipped.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        eprintln!("replay: {total} frames skipped ({})", detail.join(", "));
    }
    if stats {
        // Integer throughput: figures for people, no floats anywhere near the records.
        let us = started.elapsed().as_micros().max(1);
        eprintln!(
            "replay: {frames} frames, {written} records in {}.{:03} s: {} frames/s, {} records/s",
            us / 1_000_000,
            (us / 1_000) % 1_000,
            u128::from(frames) * 1_000_000 / us,
            u128::from(written) * 1_000_000 / us
        );
    }
    Ok(())
}

/// `replay --audit`: the log, opened at the capture clock's first reading, every line's records
/// logged at its clock (as the live loop logs each batch on its clock).
struct ReplayAudit {
    target: Option<AuditTarget>,
    log: Option<normalizer::audit::AuditLog>,
    clock: Option<schemas::Ts>,
}

impl ReplayAudit {
    fn log(&mut self, records: &[Record]) -> Result<(), ReplayError> {
        let (Some((dir, cfg)), Some(clock)) = (&self.target, self.clock) else {
            return Ok(());
        };
        if self.log.is_none() {
            let log = crate::audit_cmd::open(dir, cfg, clock)
                .map_err(|e| ReplayError::Audit(e.context(dir.display().to_string())))?;
            self.log = Some(log);
        }
        let log = self.log.as_mut().expect("opened above");
        log.append(records, clock)
            .map_err(|e| ReplayError::Audit(e.into()))
    }

    fn close(&mut self) -> Result<(), ReplayError> {
        match (&mut self.log, self.clock) {
            (Some(log), Some(clock)) => log.close(clock).map_err(|e| ReplayError::Audit(e.into())),
            _ => Ok(()),
        }
    }
}

/// The pairs of `errors` that failed only because no configured instrument prices them:
/// `(pair, message)`. Empty when any error is of another kind.
fn unpriceable_pairs(cfg: &Config, errors: &[ConfigError]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for e in errors {
        let pair = e
            .path
            .strip_prefix("reference.pairs[")
            .and_then(|rest| rest.strip_suffix(']'))
            .and_then(|k| k.parse::<usize>().ok())
            .and_then(|k| cfg.reference.pairs.get(k));
        match pair {
            Some(p) if e.message.starts_with(plan::UNPRICEABLE) => {
                out.push((p.clone(), e.message.clone()))
            }
            _ => return Vec::new(),
        }
    }
    out
}

/// Bytes collected before a write to stdout.
const OUTPUT_BUFFER: usize = 1 << 16;

/// Stdout behind a byte buffer the records' JSON is appended to directly.
struct Output<W: Write> {
    w: W,
    buf: Vec<u8>,
}

impl<W: Write> Output<W> {
    fn flush(&mut self) -> std::io::Result<()> {
        self.w.write_all(&self.buf)?;
        self.buf.clear();
        self.w.flush()
    }
}

fn write_records<W: Write>(out: &mut Output<W>, records: &mut Vec<Record>) -> std::io::Result<u64> {
    let n = records.len() as u64;
    for r in records.drain(..) {
        r.write_json(&mut out.buf);
        out.buf.push(b'\n');
    }
    if out.buf.len() >= OUTPUT_BUFFER {
        out.w.write_all(&out.buf)?;
        out.buf.clear();
    }
    Ok(n)
}
