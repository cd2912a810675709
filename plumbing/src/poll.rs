//! Waiting for a condition: ask, and if the answer is not there yet, sleep and ask
//! again, starting at 100 ms and doubling up to `max_interval`, until a deadline.

use std::time::{Duration, Instant};

/// What one look found.
pub enum Poll<T> {
    Ready(T),
    NotYet,
}

/// Asks `check` until it is ready or `limit` has passed (then `Ok(None)`); an error
/// from `check` ends the wait at once.
pub fn until<T, E>(
    limit: Duration,
    max_interval: Duration,
    mut check: impl FnMut() -> Result<Poll<T>, E>,
) -> Result<Option<T>, E> {
    let start = Instant::now();
    let mut wait = Duration::from_millis(100).min(max_interval);
    loop {
        if let Poll::Ready(v) = check()? {
            return Ok(Some(v));
        }
        let left = limit.saturating_sub(start.elapsed());
        if left.is_zero() {
            return Ok(None);
        }
        std::thread::sleep(wait.min(left));
        wait = (wait * 2).min(max_interval);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_when_ready_and_gives_up_at_the_deadline() {
        let mut n = 0;
        let r: Result<_, ()> = until(Duration::from_secs(5), Duration::from_millis(20), || {
            n += 1;
            Ok(if n == 4 { Poll::Ready(n) } else { Poll::NotYet })
        });
        assert_eq!(r, Ok(Some(4)));
        let r: Result<Option<()>, ()> =
            until(Duration::from_millis(50), Duration::from_millis(10), || {
                Ok(Poll::NotYet)
            });
        assert_eq!(r, Ok(None));
        let r: Result<Option<()>, &str> =
            until(Duration::from_secs(5), Duration::from_millis(10), || {
                Err("boom")
            });
        assert_eq!(r, Err("boom"));
    }
}
