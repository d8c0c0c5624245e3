//! When to try again: exponential backoff with full jitter, capped, and at least what the
//! server's `Retry-After` asks for.

use std::time::Duration;

/// How failed calls are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// The first backoff.
    pub base: Duration,
    /// No backoff is longer than this (a `Retry-After` may be, up to `max_retry_after`).
    pub cap: Duration,
    /// The longest `Retry-After` honoured; longer requests fail the call.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 6,
            base: Duration::from_millis(250),
            cap: Duration::from_secs(20),
            max_retry_after: Duration::from_mins(2),
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempt` (1 = the first retry), given a random `unit` in [0, 1)
    /// and the server's `Retry-After`. `None` when no attempt is left or the server asks for more
    /// than `max_retry_after`.
    #[must_use]
    pub fn delay(
        &self,
        attempt: u32,
        unit: f64,
        retry_after: Option<Duration>,
    ) -> Option<Duration> {
        if attempt >= self.attempts {
            return None;
        }
        let exp = self
            .base
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(20))
            .min(self.cap);
        // Full jitter: anywhere between zero and the exponential bound.
        let jittered = exp.mul_f64(unit.clamp(0.0, 1.0));
        match retry_after {
            Some(asked) if asked > self.max_retry_after => None,
            Some(asked) => Some(asked.max(jittered)),
            None => Some(jittered),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn delays_are_bounded_and_honour_retry_after(attempt in 1u32..10, unit in 0.0f64..1.0, after in proptest::option::of(0u64..200)) {
            let p = RetryPolicy::default();
            let asked = after.map(Duration::from_secs);
            match p.delay(attempt, unit, asked) {
                None => prop_assert!(attempt >= p.attempts || asked.is_some_and(|a| a > p.max_retry_after)),
                Some(d) => {
                    prop_assert!(d <= p.cap.max(asked.unwrap_or_default()));
                    if let Some(a) = asked { prop_assert!(d >= a); }
                }
            }
        }
    }

    #[test]
    fn the_bound_doubles_until_the_cap() {
        let p = RetryPolicy {
            attempts: 30,
            ..RetryPolicy::default()
        };
        assert_eq!(p.delay(1, 0.999_999, None).unwrap().as_millis(), 249);
        assert_eq!(p.delay(3, 0.999_999, None).unwrap().as_millis(), 999);
        assert_eq!(p.delay(25, 1.0, None), Some(p.cap));
    }
}
