//! A bounded, ordered parallel map: the one concurrency primitive of this crate.
//!
//! ```text
//! caller thread:  inputs ──► job queue (≤ window in flight) ──► N workers: f(input)
//!                 consume(result) in input order ◄── reorder buffer ◄──┘
//! ```
//!
//! At most `window` inputs are between being taken from `inputs` and being consumed, so memory is
//! bounded by `window` times the size of one input, whatever the length of the stream.

use std::collections::BTreeMap;
use std::sync::mpsc::{channel, sync_channel};
use std::sync::{Arc, Mutex};

/// The number of worker threads to use by default: one per core.
#[must_use]
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(2, std::num::NonZero::get)
}

/// Map `f` over `inputs` on `threads` workers, calling `consume` with the results in input order.
/// Stops at the first error, from `inputs`, `f` or `consume`, and returns it.
pub(crate) fn ordered_map<T, R, E, I, F, C>(
    threads: usize,
    window: usize,
    inputs: I,
    f: F,
    mut consume: C,
) -> Result<(), E>
where
    T: Send,
    R: Send,
    E: Send,
    I: IntoIterator<Item = Result<T, E>>,
    F: Fn(T) -> Result<R, E> + Sync,
    C: FnMut(R) -> Result<(), E>,
{
    let threads = threads.max(1);
    let window = window.max(threads);
    let mut inputs = inputs.into_iter();
    if threads == 1 {
        for input in inputs {
            consume(f(input?)?)?;
        }
        return Ok(());
    }
    std::thread::scope(|scope| {
        let (job_tx, job_rx) = sync_channel::<(usize, T)>(window);
        let job_rx = Arc::new(Mutex::new(job_rx));
        let (res_tx, res_rx) = channel::<(usize, Result<R, E>)>();
        for _ in 0..threads {
            let job_rx = Arc::clone(&job_rx);
            let res_tx = res_tx.clone();
            let f = &f;
            scope.spawn(move || {
                loop {
                    let job = job_rx.lock().expect("job queue poisoned").recv();
                    let Ok((i, input)) = job else { break };
                    if res_tx.send((i, f(input))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(res_tx);
        let mut next_in = 0usize;
        let mut next_out = 0usize;
        // Results wait here until every earlier input is consumed, errors included, so the error
        // returned is always the first in input order and everything before it was consumed.
        let mut pending: BTreeMap<usize, Result<R, E>> = BTreeMap::new();
        let mut exhausted = false;
        let outcome = 'run: loop {
            while !exhausted && next_in - next_out < window {
                match inputs.next() {
                    Some(Ok(input)) => {
                        job_tx
                            .send((next_in, input))
                            .expect("workers outlive the queue");
                        next_in += 1;
                    }
                    Some(Err(e)) => break 'run Err(e),
                    None => exhausted = true,
                }
            }
            if next_out == next_in {
                break Ok(());
            }
            let Ok((i, result)) = res_rx.recv() else {
                break Ok(());
            };
            pending.insert(i, result);
            while let Some(result) = pending.remove(&next_out) {
                next_out += 1;
                if let Err(e) = result.and_then(&mut consume) {
                    break 'run Err(e);
                }
            }
        };
        drop(job_tx);
        outcome
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_and_bounds() {
        for threads in [1, 2, 4] {
            let mut out = Vec::new();
            ordered_map(
                threads,
                3,
                (0..500u32).map(Ok::<_, String>),
                |x| Ok(x * 2),
                |r| {
                    out.push(r);
                    Ok(())
                },
            )
            .unwrap();
            assert_eq!(out, (0..500).map(|x| x * 2).collect::<Vec<_>>());
        }
    }

    #[test]
    fn stops_at_first_error() {
        for threads in [1, 3] {
            let mut seen = 0;
            let err = ordered_map(
                threads,
                4,
                (0..1000u32).map(|x| {
                    if x == 700 {
                        Err(format!("input {x}"))
                    } else {
                        Ok(x)
                    }
                }),
                |x| {
                    if x == 300 {
                        Err(format!("f {x}"))
                    } else {
                        Ok(x)
                    }
                },
                |_| {
                    seen += 1;
                    Ok(())
                },
            )
            .unwrap_err();
            assert_eq!(err, "f 300");
            assert_eq!(seen, 300);
        }
    }
}
