//! `sim`: the simulators of a config's `sim = true` streaming connectors, served on their own,
//! so that a load can come from another process than the tracker that reads it
//! (`scripts/latency.sh` with `LAT_SIM=process`). The tracker then connects to the printed
//! URLs through `ws_url` like to any venue.

use crate::plan::Plan;
use connectors::sim::{SimHandle, SimOptions};
use std::io::Write;
use std::time::Duration;

/// Starts every simulator, prints one `<connector id> <ws url>` line each on stdout, then
/// serves until `seconds` have passed or Ctrl-C (SIGTERM ends the process as usual).
pub async fn serve(plan: &Plan, frames_per_s: u64, seconds: Option<u64>) -> anyhow::Result<()> {
    use anyhow::Context;
    let mut sims: Vec<SimHandle> = Vec::new();
    let mut out = std::io::stdout().lock();
    for pc in &plan.connectors {
        let c = &pc.config;
        let (true, Some(venue)) = (c.sim, pc.venue) else {
            continue;
        };
        let sim = venue
            .start_sim(SimOptions {
                faults: c.sim_faults.clone().unwrap_or_default(),
                frames_per_s,
                ..Default::default()
            })
            .await
            .with_context(|| format!("starting the {} simulator for {}", venue.kind(), c.id))?;
        writeln!(out, "{} {}", c.id, sim.ws_url)?;
        sims.push(sim);
    }
    out.flush()?;
    drop(out);
    if sims.is_empty() {
        anyhow::bail!("no connector with sim = true streams prices in this config");
    }
    match seconds {
        Some(s) => {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(s)) => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        None => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
    drop(sims);
    Ok(())
}
