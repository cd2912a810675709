//! Many hosts at once: a bounded pool of workers, one connection per host, results in
//! the order the hosts were given. One host failing never stops the others.

use crate::host::{self, HostReport, Job, Observer};
use crate::session::ConnectConfig;
use crate::target::Target;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// The default parallelism: hosts wait on the network, not on our CPU.
pub const DEFAULT_PARALLEL: u16 = 16;

pub fn run(
    targets: &[Target],
    cfg: &ConnectConfig,
    job: &Job,
    parallel: usize,
    obs: &dyn Observer,
) -> Vec<HostReport> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<HostReport>>> = Mutex::new(vec![None; targets.len()]);
    let workers = parallel.clamp(1, targets.len().max(1));
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(t) = targets.get(i) else { break };
                let rep = host::run(t, cfg, job, obs);
                results.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(rep);
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .flatten()
        .collect()
}
