//! `collateral-tracker`: the binary of interface.md. With no command it runs the demo.

mod access;
mod assets_cmd;
mod audit_cmd;
mod config;
mod engine;
mod fixings_cmd;
mod http;
mod metrics;
mod plan;
mod replay;
mod run;
mod secrets;
mod simserve;
mod statement;
mod summary;
mod venues_cmd;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "collateral-tracker",
    version,
    about = "Collateral data pipeline: venues -> reference prices -> Kafka"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the pipeline (the default command; the default config is the demo).
    Run(RunArgs),
    /// Run the normalizer over a capture file on the capture's own clock; records to stdout.
    Replay {
        /// Capture file written by `run --record`.
        capture: PathBuf,
        /// Config that maps the capture's connectors (accounts, instruments, pairs).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Print frames/s and records/s to stderr at the end.
        #[arg(long)]
        stats: bool,
        /// Also write the audit log into DIR, on the capture's clock (the signing key is the
        /// `--config`'s `[audit] signing_key_file`).
        #[arg(long, value_name = "DIR")]
        audit: Option<PathBuf>,
    },
    /// Write the statements of a day (JSON statement.v1, CSV, HTML) from the audit log alone,
    /// into OUT/DATE/ACCOUNT.{json,csv,html}.
    Statement {
        /// The audit log's directory.
        #[arg(long, value_name = "DIR")]
        audit: PathBuf,
        /// The day (UTC), YYYY-MM-DD.
        #[arg(long, value_name = "D")]
        date: String,
        /// Only this account (default: every account with a report).
        #[arg(long, value_name = "A")]
        account: Option<String>,
        /// Output directory (default: `[statements] dir` of --config, else ./statements).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Config whose `[statements] dir` is the default output.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Verify an audit log: every chain hash, checkpoint root and signature. Exit 0 when
    /// intact, 1 at the first broken line (its file and line are printed).
    VerifyAudit {
        /// The audit log's directory.
        dir: PathBuf,
        /// Ed25519 public key (SPKI PEM) that must have signed every checkpoint.
        #[arg(long, value_name = "PEM")]
        public_key: Option<PathBuf>,
    },
    /// Validate a config: every error with its path, exit 2 if any.
    CheckConfig { path: PathBuf },
    /// List or search the asset registry: canonical code, class, rank, name and every venue's
    /// code (with its network). QUERY matches a code, a name or any venue's code.
    Assets {
        query: Option<String>,
        /// Apply this config's `[assets]` (registry_file, extra, stablecoins, aliases).
        #[arg(long)]
        config: Option<PathBuf>,
        /// One JSON object instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// List every venue kind of the registry: roles (prices, balances, balance stream), source
    /// kind, default endpoints, cadence, rate limit, sample symbols, symbol template, aliases.
    Venues {
        /// One JSON object instead of the table (stable field names: docs/venues.md).
        #[arg(long)]
        json: bool,
    },
    /// The daily fixings store of collateral at risk (margin.md 4.1): import a
    /// `date,asset,price` CSV, or list what is stored.
    Fixings {
        #[command(subcommand)]
        action: FixingsAction,
    },
    /// Serve only the simulators of the config's `sim = true` streaming connectors (a load
    /// from another process than the tracker): prints `<connector id> <ws url>` per simulator.
    Sim {
        /// Config whose simulated connectors to serve (default: the demo).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Load mode: N ticker frames/s per connection (0: the demo's pace).
        #[arg(long, default_value_t = 0)]
        sim_frames_per_s: u64,
        /// Stop after this many seconds (default: until Ctrl-C or SIGTERM).
        #[arg(long)]
        seconds: Option<u64>,
    },
}

#[derive(Subcommand, Debug)]
enum FixingsAction {
    /// Import a CSV with the header `date,asset,price`; a day already stored is kept.
    Import {
        csv: PathBuf,
        /// Config whose `[risk] store` to use (default: the data dir).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// List the stored fixings, of ASSET only when given.
    List {
        asset: Option<String>,
        /// Config whose `[risk] store` to use (default: the data dir).
        #[arg(long)]
        config: Option<PathBuf>,
        /// One JSON object instead of the table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(clap::Args, Debug, Default)]
pub struct RunArgs {
    /// Config file (default: config/default.toml, the demo).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Also write every record as JSON lines to PATH (`-` = stdout).
    #[arg(long)]
    pub jsonl: Option<String>,
    /// Kafka bootstrap servers: adds or overrides the Kafka sink.
    #[arg(long)]
    pub kafka: Option<String>,
    /// Also write every raw frame received to a capture file.
    #[arg(long)]
    pub record: Option<PathBuf>,
    /// Stop cleanly after N seconds (sinks are flushed).
    #[arg(long)]
    pub seconds: Option<u64>,
    /// Append every published record to the audit log in DIR (overrides `[audit] dir`).
    #[arg(long, value_name = "DIR")]
    pub audit: Option<PathBuf>,
    /// Do not print the live console summary.
    #[arg(long)]
    pub no_summary: bool,
    /// Dashboard listen address (overrides [dashboard] address).
    #[arg(long)]
    pub dashboard: Option<String>,
    /// Do not serve the dashboard and health/metrics endpoints.
    #[arg(long)]
    pub no_dashboard: bool,
    /// At exit, print to stderr the latency from frame read to price tick handed to the
    /// producer (p50 / p99 / p999 / max, microseconds) and the peak RSS (scripts/latency.sh).
    #[arg(long)]
    pub latency: bool,
    /// Load mode of every simulator started (benchmarks): this many ticker frames per second
    /// per connection, round-robin over its instruments; synthetic assets get prices.
    #[arg(long, value_name = "N")]
    pub sim_frames_per_s: Option<u64>,
}

/// Exit codes of interface.md.
pub const EXIT_RUNTIME: u8 = 1;
pub const EXIT_USAGE: u8 = 2;

fn init_tracing() {
    // The console summary is the demo's main output; logs stay at WARN unless RUST_LOG says
    // otherwise, and always go to stderr.
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::Layer;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    // tungstenite traces every frame it sends and receives with its payload, which for a
    // private balance stream is the signed login (API key, signature, OKX passphrase): its
    // TRACE output is dropped whatever RUST_LOG says.
    let no_frame_payloads = tracing_subscriber::filter::filter_fn(|m| {
        !m.target().contains("tungstenite") || *m.level() <= tracing::Level::DEBUG
    });
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_target(false)
                .with_filter(filter)
                .with_filter(no_frame_payloads),
        )
        .init();
}

/// Reads and validates a config; errors are printed one per line, naming the file and field.
fn load_config(path: Option<&std::path::Path>) -> Result<(config::Config, String), ExitCode> {
    let (text, name) = match path {
        Some(p) => match std::fs::read_to_string(p) {
            Ok(t) => (t, p.display().to_string()),
            Err(e) => {
                eprintln!("{}: cannot read config: {e}", p.display());
                return Err(ExitCode::from(EXIT_USAGE));
            }
        },
        None => match std::fs::read_to_string(config::DEFAULT_CONFIG_PATH) {
            Ok(t) => (t, config::DEFAULT_CONFIG_PATH.to_owned()),
            // Run from anywhere: the demo config is compiled in.
            Err(_) => (
                config::DEFAULT_CONFIG.to_owned(),
                "<built-in default.toml>".to_owned(),
            ),
        },
    };
    match config::parse(&text) {
        Ok(mut c) => {
            c.dir = path
                .and_then(|p| p.parent())
                .map(|d| {
                    if d.as_os_str().is_empty() {
                        std::path::Path::new(".")
                    } else {
                        d
                    }
                })
                .map(std::path::Path::to_path_buf);
            Ok((c, name))
        }
        Err(errors) => Err(refuse(Some(&name), errors)),
    }
}

/// The plan of a process that connects: [`plan::build`]'s errors and [`plan::connect_errors`].
fn plan_to_connect(cfg: &config::Config) -> Result<plan::Plan, Vec<config::ConfigError>> {
    let extra = plan::connect_errors(cfg);
    match plan::build(cfg) {
        Ok(p) if extra.is_empty() => Ok(p),
        Ok(_) => Err(extra),
        Err(mut errors) => {
            errors.extend(extra);
            Err(errors)
        }
    }
}

/// Refuses to start: every error on its own line, prefixed with `source` (the config file,
/// the capture) when given, then exit 2.
fn refuse<E: std::fmt::Display>(
    source: Option<&str>,
    errors: impl IntoIterator<Item = E>,
) -> ExitCode {
    for e in errors {
        match source {
            Some(s) => eprintln!("{s}: {e}"),
            None => eprintln!("{e}"),
        }
    }
    ExitCode::from(EXIT_USAGE)
}

/// A multi-threaded tokio runtime, or exit 1.
fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Runtime::new().map_err(|e| {
        eprintln!("cannot start the runtime: {e}");
        ExitCode::from(EXIT_RUNTIME)
    })
}

/// A command's outcome as an exit code: 0, or the error and 1.
fn finished(outcome: anyhow::Result<()>) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(EXIT_RUNTIME)
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    match cli.command.unwrap_or(Command::Run(RunArgs::default())) {
        Command::Assets {
            query,
            config,
            json,
        } => {
            let assets_cfg = match config.as_deref() {
                Some(p) => match load_config(Some(p)) {
                    Ok((c, _)) => c.assets,
                    Err(code) => return code,
                },
                None => Default::default(),
            };
            let mut errors = Vec::new();
            let assets = plan::build_assets(&assets_cfg, &mut errors);
            if !errors.is_empty() {
                return refuse(None, errors);
            }
            print!("{}", assets_cmd::render(&assets, query.as_deref(), json));
            ExitCode::SUCCESS
        }
        Command::Venues { json } => {
            print!("{}", venues_cmd::render(json));
            ExitCode::SUCCESS
        }
        Command::Fixings { action } => {
            let config = match &action {
                FixingsAction::Import { config, .. } | FixingsAction::List { config, .. } => {
                    config.clone()
                }
            };
            let risk = match config.as_deref() {
                Some(p) => match load_config(Some(p)) {
                    Ok((c, _)) => c.risk,
                    Err(code) => return code,
                },
                None => Default::default(),
            };
            let store = fixings_cmd::store_path(&risk, config.as_deref());
            let outcome = match action {
                FixingsAction::Import { csv, .. } => fixings_cmd::import(&csv, &store),
                FixingsAction::List { asset, json, .. } => {
                    fixings_cmd::list(&store, asset.as_deref(), json)
                }
            };
            match outcome {
                Ok(text) => {
                    print!("{text}");
                    ExitCode::SUCCESS
                }
                Err(fixings_cmd::FixingsCmdError::Input(e)) => refuse(None, [e]),
                Err(fixings_cmd::FixingsCmdError::Store(e)) => {
                    eprintln!("{e}");
                    ExitCode::from(EXIT_RUNTIME)
                }
            }
        }
        Command::CheckConfig { path } => {
            let (cfg, name) = match load_config(Some(&path)) {
                Ok(c) => c,
                Err(code) => return code,
            };
            match plan_to_connect(&cfg) {
                Ok(p) => {
                    println!(
                        "{name}: ok ({} connectors, {} pairs)",
                        p.connectors.len(),
                        p.pairs.len()
                    );
                    ExitCode::SUCCESS
                }
                Err(errors) => refuse(Some(&name), errors),
            }
        }
        Command::Run(args) => {
            let (cfg, name) = match load_config(args.config.as_deref()) {
                Ok(c) => c,
                Err(code) => return code,
            };
            let plan = match plan_to_connect(&cfg) {
                Ok(p) => p,
                Err(errors) => return refuse(Some(&name), errors),
            };
            // Credentials first: a missing env var or file refuses the start (exit 2).
            let mut credentials = Vec::new();
            let mut cred_errors = Vec::new();
            for (i, pc) in plan.connectors.iter().enumerate() {
                if pc.polling.is_none() {
                    credentials.push(None);
                    continue;
                }
                match secrets::load(i, &pc.config) {
                    Ok(c) => credentials.push(Some(c)),
                    Err(e) => cred_errors.extend(e),
                }
            }
            if !cred_errors.is_empty() {
                return refuse(Some(&name), cred_errors);
            }
            // An audit signing key that cannot be read refuses the start (exit 2), naming the
            // file, never its contents.
            if let Some(k) = &cfg.audit.signing_key_file {
                if let Err(e) = normalizer::audit::chain::sign::load_signing_key(k) {
                    return refuse(Some(&name), [format!("audit.signing_key_file: {e}")]);
                }
            }
            // The margin engine: its fixings store is embedded; one that cannot be opened (another
            // tracker holds it) leaves collateral at risk on the CSV's and today's fixings.
            let store = match engine::open_store(&cfg) {
                Ok(s) => Some(s),
                Err(e) => {
                    eprintln!("{e}: fixings are kept in memory only for this run");
                    None
                }
            };
            let mut plan = plan;
            match engine::margin_state(&cfg, &plan.normalizer, store) {
                Ok(m) => plan.normalizer.set_margin_engine(m),
                Err(e) => return refuse(Some(&name), [e]),
            }
            // Off loopback the endpoints need tokens, or the tracker does not start (exit 2).
            let access = if cfg.dashboard.enabled && !args.no_dashboard {
                let address = args.dashboard.as_deref().unwrap_or(&cfg.dashboard.address);
                match access::load(&cfg.dashboard, address) {
                    Ok(a) => a,
                    Err(errors) => return refuse(Some(&name), errors),
                }
            } else {
                None
            };
            let rt = match runtime() {
                Ok(rt) => rt,
                Err(code) => return code,
            };
            // The run loop is a task on the runtime's workers, not the main thread's `block_on`:
            // a connector handing it an observation then wakes a task, not a parked thread (a
            // futex wake and a context switch per wake-up).
            finished(rt.block_on(async move {
                tokio::spawn(run::run(cfg, plan, credentials, access, args))
                    .await
                    .unwrap_or_else(|e| Err(anyhow::anyhow!("the run loop failed: {e}")))
            }))
        }
        Command::Sim {
            config,
            sim_frames_per_s,
            seconds,
        } => {
            let (cfg, name) = match load_config(config.as_deref()) {
                Ok(c) => c,
                Err(code) => return code,
            };
            let plan = match plan_to_connect(&cfg) {
                Ok(p) => p,
                Err(errors) => return refuse(Some(&name), errors),
            };
            let rt = match runtime() {
                Ok(rt) => rt,
                Err(code) => return code,
            };
            finished(rt.block_on(simserve::serve(&plan, sim_frames_per_s, seconds)))
        }
        Command::Statement {
            audit,
            date,
            account,
            out,
            config,
        } => {
            let configured = match config.as_deref() {
                Some(p) => match load_config(Some(p)) {
                    Ok((c, _)) => c.statements.dir,
                    Err(code) => return code,
                },
                None => None,
            };
            let out = out
                .or(configured)
                .unwrap_or_else(|| PathBuf::from("statements"));
            finished(
                statement::build(&audit, &date, account.as_deref()).and_then(|st| {
                    if st.is_empty() {
                        anyhow::bail!("no collateral report before the end of {date} in the log");
                    }
                    for f in statement::write(&out, &st)? {
                        println!("{}", f.display());
                    }
                    Ok(())
                }),
            )
        }
        Command::VerifyAudit { dir, public_key } => {
            audit_cmd::verify_cmd(&dir, public_key.as_deref())
        }
        Command::Replay {
            capture,
            config,
            stats,
            audit,
        } => {
            let cfg = match config.as_deref() {
                Some(p) => match load_config(Some(p)) {
                    Ok((c, _)) => Some(c),
                    Err(code) => return code,
                },
                None => None,
            };
            let audit = audit.map(|dir| {
                let audit_cfg = cfg.as_ref().map(|c| c.audit.clone()).unwrap_or_default();
                (dir, audit_cfg)
            });
            match replay::replay(&capture, cfg, stats, audit) {
                Ok(()) => ExitCode::SUCCESS,
                Err(replay::ReplayError::Config(errors)) => {
                    let source = config
                        .as_deref()
                        .map(|p| p.display().to_string())
                        .unwrap_or_else(|| "capture".into());
                    refuse(Some(&source), errors)
                }
                Err(replay::ReplayError::Io(e)) => {
                    eprintln!("{}: {e}", capture.display());
                    ExitCode::from(EXIT_RUNTIME)
                }
                Err(replay::ReplayError::Audit(e)) => {
                    eprintln!("replay --audit: {e:#}");
                    ExitCode::from(EXIT_RUNTIME)
                }
            }
        }
    }
}
