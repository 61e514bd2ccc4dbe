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
