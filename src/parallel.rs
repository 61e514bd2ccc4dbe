//! Work split over threads once DuckDB is done: the books of business, the
//! charts, the big CSV files, the output checksums and the syncs.

/// The cores to use (2 when the system will not say).
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// `work` on consecutive chunks of `items`, at most `threads` of them at a
/// time on as many threads; the results in the order of the chunks, so
/// concatenating them keeps the items' order.
pub fn chunked<'a, T: Sync, R: Send>(items: &'a [T], threads: usize, work: impl Fn(&'a [T]) -> R + Sync) -> Vec<R> {
    let size = items.len().div_ceil(threads.max(1)).max(1);
    let work = &work;
    std::thread::scope(|scope| {
        let handles: Vec<_> = items.chunks(size).map(|part| scope.spawn(move || work(part))).collect();
        handles.into_iter().map(|h| h.join().expect("a worker thread does not panic")).collect()
    })
}

/// `work` on every item, at most `threads` at a time; each thread takes the
/// next item when it is done with one, so uneven items (a big book beside
/// small ones, a chart with many bars) keep every thread busy to the end.
/// The results in the order of the items.
pub fn map<'a, T: Sync, R: Send>(items: &'a [T], threads: usize, work: impl Fn(&'a T) -> R + Sync) -> Vec<R> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    let (work, next) = (&work, &next);
    let mut done: Vec<(usize, R)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads.clamp(1, items.len().max(1)))
            .map(|_| {
                scope.spawn(move || {
                    let mut out = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break out };
                        out.push((i, work(item)));
                    }
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().expect("a worker thread does not panic")).collect()
    });
    done.sort_unstable_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_keeps_the_order_of_the_items_whatever_the_threads() {
        let items: Vec<u64> = (0..97).collect();
        for threads in [1, 2, 3, 8, 200] {
            let out = map(&items, threads, |n| {
                // Uneven work, so threads finish out of order.
                std::thread::sleep(std::time::Duration::from_micros((n % 7) * 50));
                n * 2
            });
            assert_eq!(out, items.iter().map(|n| n * 2).collect::<Vec<_>>(), "{threads} threads");
        }
        assert!(map(&Vec::<u8>::new(), 2, |n| *n).is_empty());
    }
}
