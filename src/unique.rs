//! Random suffixes for names the harness makes (instance directories, cluster names), drawn without touching the
//! calling thread's `std::thread::current()` handle.
//!
//! C, Python and Go callers call into the library on threads Rust did not start. A thread handle created there
//! (as `fastrand`'s thread-local generator, and with it `tempfile`, does to seed itself) is never freed and shows
//! up in valgrind's default report as "possibly lost". The standard library's `RandomState` draws its keys from
//! the operating system once per thread into a plain thread-local without a destructor: no handle, no allocation.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A random 64-bit number (OS-seeded, distinct per call; not for cryptography).
pub(crate) fn random_u64() -> u64 {
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    RandomState::new().hash_one((CALLS.fetch_add(1, Ordering::Relaxed), nanos))
}

/// `len` random ASCII letters and digits.
pub(crate) fn alphanumeric(len: usize) -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut bits = random_u64();
    (0..len)
        .map(|i| {
            if i > 0 && i % 10 == 0 {
                bits = random_u64();
            }
            let c = CHARS[(bits % CHARS.len() as u64) as usize];
            bits /= CHARS.len() as u64;
            char::from(c)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_differ_and_suffixes_are_alphanumeric() {
        let draws: std::collections::HashSet<u64> = (0..1000).map(|_| random_u64()).collect();
        assert_eq!(draws.len(), 1000);
        let long = alphanumeric(25);
        assert_eq!(long.len(), 25);
        assert!(long.bytes().all(|b| b.is_ascii_alphanumeric()), "{long}");
        assert_ne!(alphanumeric(12), alphanumeric(12));
    }
}
