//! Many hosts at once: a bounded pool of workers, one connection per host, results in
//! the order the hosts were given. One host failing never stops the others.

use crate::host::{self, HostReport, Job, Observer};
use crate::session::ConnectConfig;
use crate::target::Target;

/// The default parallelism: hosts wait on the network, not on our CPU.
pub const DEFAULT_PARALLEL: u16 = 16;

pub fn run(
    targets: &[Target],
    cfg: &ConnectConfig,
    job: &Job,
    parallel: usize,
    obs: &dyn Observer,
) -> Vec<HostReport> {
    plumbing::pool::map(targets, parallel, |_, t| host::run(t, cfg, job, obs))
}
