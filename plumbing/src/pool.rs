//! A bounded pool of worker threads over a list: at most `workers` items at a time,
//! results in the order of the items, whatever order they finish in.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// `work(index, item)` for every item on up to `workers` threads; results in item order.
pub fn map<T: Sync, R: Send>(
    items: &[T],
    workers: usize,
    work: impl Fn(usize, &T) -> R + Sync,
) -> Vec<R> {
    map_with(items, workers, || (), |_, i, item| work(i, item))
}

/// The same, each worker with state of its own made by `init` (a buffer, say).
pub fn map_with<T: Sync, R: Send, S>(
    items: &[T],
    workers: usize,
    init: impl Fn() -> S + Sync,
    work: impl Fn(&mut S, usize, &T) -> R + Sync,
) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..workers.clamp(1, items.len().max(1)) {
            s.spawn(|| {
                let mut state = init();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    let r = work(&mut state, i, item);
                    results.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(r);
                }
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

#[cfg(test)]
mod tests {
    #[test]
    fn results_keep_the_items_order_and_workers_are_bounded() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let busy = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        let items: Vec<u64> = (0..40).collect();
        let out = super::map(&items, 3, |i, x| {
            let now = busy.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(std::time::Duration::from_millis((40 - x) % 7));
            busy.fetch_sub(1, Ordering::SeqCst);
            (i, x * 2)
        });
        assert_eq!(
            out,
            (0..40).map(|x| (x as usize, x * 2)).collect::<Vec<_>>()
        );
        assert!(most.load(Ordering::SeqCst) <= 3);
        assert!(super::map(&[] as &[u8], 4, |_, _| 1).is_empty());
    }
}
