//! Exponential backoff for the SDK's retries.

use std::time::Duration;

/// How transactions and reads are retried on transient failures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries in all (the first included). Default 5.
    pub attempts: u32,
    /// Wait after the first failure, ms; doubled after each further one. Default 250.
    pub first_backoff_ms: u64,
    /// Longest wait between tries, ms. Default 4 000.
    pub max_backoff_ms: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 5,
            first_backoff_ms: 250,
            max_backoff_ms: 4_000,
        }
    }
}

impl RetryPolicy {
    /// A fresh backoff following this policy.
    pub fn backoff(&self) -> Backoff {
        Backoff::new(
            Duration::from_millis(self.first_backoff_ms),
            Duration::from_millis(self.max_backoff_ms),
        )
    }
}

/// Doubling waits between `first` and `max`.
#[derive(Clone, Debug)]
pub struct Backoff {
    first: Duration,
    next: Duration,
    max: Duration,
}

impl Backoff {
    /// Starts at `first`, never waits longer than `max`.
    pub fn new(first: Duration, max: Duration) -> Backoff {
        Backoff {
            first,
            next: first,
            max,
        }
    }

    /// The wait the next [`wait`](Backoff::wait) will take.
    pub fn peek(&self) -> Duration {
        self.next
    }

    /// Sleeps, then doubles the next wait (up to the maximum).
    pub async fn wait(&mut self) {
        tokio::time::sleep(self.advance()).await;
    }

    /// The wait due now; the next one doubles (up to the maximum).
    pub fn advance(&mut self) -> Duration {
        let now = self.next;
        self.next = self.next.saturating_mul(2).min(self.max);
        now
    }

    /// Back to the first wait (after a success).
    pub fn reset(&mut self) {
        self.next = self.first;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_and_resets() {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_millis(350));
        let seen: Vec<u128> = (0..4).map(|_| backoff.advance().as_millis()).collect();
        assert_eq!(seen, vec![100, 200, 350, 350]);
        backoff.reset();
        assert_eq!(backoff.peek(), Duration::from_millis(100));
    }
}
