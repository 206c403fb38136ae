//! Faults ("toxics") with toxiproxy's names, attributes and meaning, so a toxiproxy user's knowledge carries over.
//!
//! A [`Fault`] serializes exactly as a toxiproxy toxic does:
//! `{"name": "slow", "type": "latency", "stream": "downstream", "toxicity": 1.0, "attributes": {"latency": 50,
//! "jitter": 5}}`. Times are whole milliseconds (slicer's `delay` is microseconds, as in toxiproxy), bandwidth is
//! KB/s (1 KB = 1000 bytes).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Result};

/// The longest time any fault may name: a larger value is a mistake (an hour-long test is not a test).
const MAX_MS: u64 = 3_600_000;

/// Which way the faulted data flows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// From the client to the server (toxiproxy's `upstream`).
    Upstream,
    /// From the server to the client (toxiproxy's `downstream`, its default).
    #[default]
    Downstream,
}

impl Direction {
    /// Both directions, for faults that should apply both ways.
    pub const BOTH: [Direction; 2] = [Direction::Upstream, Direction::Downstream];

    /// `"upstream"` or `"downstream"`.
    pub fn name(self) -> &'static str {
        match self {
            Direction::Upstream => "upstream",
            Direction::Downstream => "downstream",
        }
    }
}

/// What a fault does. The attribute names are toxiproxy's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "attributes", rename_all = "snake_case")]
pub enum FaultKind {
    /// Delays every piece of data by `latency` ms, plus or minus up to `jitter` ms.
    Latency {
        /// Milliseconds added.
        #[serde(default)]
        latency: u64,
        /// Random variation, in milliseconds, either way.
        #[serde(default)]
        jitter: u64,
    },
    /// Limits the flow to `rate` KB/s (1 KB = 1000 bytes).
    Bandwidth {
        /// Kilobytes per second, at least 1.
        rate: u64,
    },
    /// Stops all data (it is dropped); closes the connection after `timeout` ms, or never when 0 (a blackhole).
    Timeout {
        /// Milliseconds until the connection is closed; 0 keeps it open.
        #[serde(default)]
        timeout: u64,
    },
    /// Resets the connection (TCP RST, "connection reset by peer") `timeout` ms after it applies (0: at once).
    ResetPeer {
        /// Milliseconds until the reset.
        #[serde(default)]
        timeout: u64,
    },
    /// Delays the close of the connection by `delay` ms once the sender has closed it.
    SlowClose {
        /// Milliseconds the close is held back.
        #[serde(default)]
        delay: u64,
    },
    /// Splits data into pieces of `average_size` ± `size_variation` bytes, `delay` microseconds apart.
    Slicer {
        /// Average piece size in bytes, at least 1.
        average_size: usize,
        /// Variation of the piece size, smaller than `average_size`.
        #[serde(default)]
        size_variation: usize,
        /// Microseconds between pieces.
        #[serde(default)]
        delay: u64,
    },
    /// Closes the connection once `bytes` bytes have passed in the fault's direction.
    LimitData {
        /// Bytes let through before the close.
        bytes: u64,
    },
}

fn default_toxicity() -> f64 {
    1.0
}

/// One named fault on one direction of a proxy, applied to each connection with probability `toxicity`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// A name unique within its proxy (default: `<type>_<stream>`, as toxiproxy names them).
    #[serde(default)]
    pub name: String,
    /// What it does, with its attributes.
    #[serde(flatten)]
    pub kind: FaultKind,
    /// Which way it applies.
    #[serde(default)]
    pub stream: Direction,
    /// The probability (0.0 to 1.0) that it applies to a given connection. Default 1.0.
    #[serde(default = "default_toxicity")]
    pub toxicity: f64,
}

impl Fault {
    /// A fault of `kind` on the downstream direction, toxicity 1, named `<type>_downstream`.
    pub fn new(kind: FaultKind) -> Fault {
        Fault {
            name: String::new(),
            kind,
            stream: Direction::Downstream,
            toxicity: 1.0,
        }
        .named_by_default()
    }

    /// Latency of `latency` ± `jitter`.
    pub fn latency(latency: Duration, jitter: Duration) -> Fault {
        Fault::new(FaultKind::Latency {
            latency: millis(latency),
            jitter: millis(jitter),
        })
    }

    /// A bandwidth limit in KB/s.
    pub fn bandwidth(rate_kb_per_s: u64) -> Fault {
        Fault::new(FaultKind::Bandwidth {
            rate: rate_kb_per_s,
        })
    }

    /// Data stops; the connection closes after `close_after` (`None`: never, a blackhole).
    pub fn timeout(close_after: Option<Duration>) -> Fault {
        Fault::new(FaultKind::Timeout {
            timeout: close_after.map_or(0, millis),
        })
    }

    /// A TCP reset after `after`.
    pub fn reset_peer(after: Duration) -> Fault {
        Fault::new(FaultKind::ResetPeer {
            timeout: millis(after),
        })
    }

    /// The close is held back by `delay`.
    pub fn slow_close(delay: Duration) -> Fault {
        Fault::new(FaultKind::SlowClose {
            delay: millis(delay),
        })
    }

    /// Writes split into pieces of `average_size` ± `size_variation` bytes, `delay` apart.
    pub fn slicer(average_size: usize, size_variation: usize, delay: Duration) -> Fault {
        Fault::new(FaultKind::Slicer {
            average_size,
            size_variation,
            delay: u64::try_from(delay.as_micros()).unwrap_or(u64::MAX),
        })
    }

    /// The connection closes after `bytes` bytes.
    pub fn limit_data(bytes: u64) -> Fault {
        Fault::new(FaultKind::LimitData { bytes })
    }

    /// The same fault on `stream` (renamed `<type>_<stream>` if it had its default name).
    #[must_use]
    pub fn stream(mut self, stream: Direction) -> Fault {
        let default_name = self.name == self.default_name();
        self.stream = stream;
        if default_name {
            self.name = self.default_name();
        }
        self
    }

    /// The same fault on the upstream (client to server) direction.
    #[must_use]
    pub fn upstream(self) -> Fault {
        self.stream(Direction::Upstream)
    }

    /// The same fault on the downstream (server to client) direction.
    #[must_use]
    pub fn downstream(self) -> Fault {
        self.stream(Direction::Downstream)
    }

    /// The same fault with another name.
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Fault {
        self.name = name.into();
        self
    }

    /// The same fault with a toxicity (probability per connection, 0.0 to 1.0).
    #[must_use]
    pub fn toxicity(mut self, toxicity: f64) -> Fault {
        self.toxicity = toxicity;
        self
    }

    /// toxiproxy's type name: `latency`, `bandwidth`, `timeout`, `reset_peer`, `slow_close`, `slicer`,
    /// `limit_data`.
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            FaultKind::Latency { .. } => "latency",
            FaultKind::Bandwidth { .. } => "bandwidth",
            FaultKind::Timeout { .. } => "timeout",
            FaultKind::ResetPeer { .. } => "reset_peer",
            FaultKind::SlowClose { .. } => "slow_close",
            FaultKind::Slicer { .. } => "slicer",
            FaultKind::LimitData { .. } => "limit_data",
        }
    }

    /// Parses a toxiproxy toxic document; unknown fields and bad values are rejected by name.
    pub fn from_json(json: &str) -> Result<Fault> {
        let mut deserializer = serde_json::Deserializer::from_str(json);
        let fault: Fault = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
            let path = e.path().to_string();
            let mut detail = if path == "." {
                e.inner().to_string()
            } else {
                format!("field `{path}`: {}", e.inner())
            };
            if detail.contains("integer `-") {
                detail.push_str(" (fault attributes cannot be negative)");
            }
            invalid(format!("fault JSON is invalid: {detail}"))
        })?;
        deserializer
            .end()
            .map_err(|e| invalid(format!("fault JSON is invalid: {e}")))?;
        fault.named_by_default().validated()
    }

    /// The fault as a toxiproxy toxic document.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("faults always serialize")
    }

    fn default_name(&self) -> String {
        format!("{}_{}", self.type_name(), self.stream.name())
    }

    fn named_by_default(mut self) -> Fault {
        if self.name.is_empty() {
            self.name = self.default_name();
        }
        self
    }

    /// Checks every value, naming the one at fault and its limits.
    pub fn validated(self) -> Result<Fault> {
        let name = &self.name;
        if name.trim().is_empty() {
            return Err(invalid("a fault needs a non-empty name".into()));
        }
        if !(0.0..=1.0).contains(&self.toxicity) {
            return Err(invalid(format!(
                "fault {name:?}: toxicity {} is not a probability between 0.0 and 1.0",
                self.toxicity
            )));
        }
        let check_ms = |field: &str, value: u64| {
            if value > MAX_MS {
                Err(invalid(format!(
                    "fault {name:?}: {field} {value} ms is absurd (at most {MAX_MS} ms, one hour)"
                )))
            } else {
                Ok(())
            }
        };
        match &self.kind {
            FaultKind::Latency { latency, jitter } => {
                check_ms("latency", *latency)?;
                check_ms("jitter", *jitter)?;
            }
            FaultKind::Bandwidth { rate } => {
                if *rate == 0 {
                    return Err(invalid(format!(
                        "fault {name:?}: bandwidth rate 0 KB/s would never deliver; use a timeout fault to stop data"
                    )));
                }
            }
            FaultKind::Timeout { timeout } => check_ms("timeout", *timeout)?,
            FaultKind::ResetPeer { timeout } => check_ms("timeout", *timeout)?,
            FaultKind::SlowClose { delay } => check_ms("delay", *delay)?,
            FaultKind::Slicer {
                average_size,
                size_variation,
                delay,
            } => {
                if *average_size == 0 {
                    return Err(invalid(format!(
                        "fault {name:?}: slicer average_size must be at least 1 byte"
                    )));
                }
                if size_variation >= average_size {
                    return Err(invalid(format!(
                        "fault {name:?}: slicer size_variation ({size_variation}) must be smaller than average_size ({average_size})"
                    )));
                }
                if *delay > MAX_MS * 1000 {
                    return Err(invalid(format!(
                        "fault {name:?}: slicer delay {delay} us is absurd (at most one hour)"
                    )));
                }
            }
            FaultKind::LimitData { .. } => {}
        }
        Ok(self)
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn invalid(message: String) -> Error {
    Error::new(ErrorKind::InvalidOptions, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toxiproxy_documents_round_trip() {
        let json = r#"{"name":"lag","type":"latency","stream":"upstream","toxicity":0.5,"attributes":{"latency":50,"jitter":5}}"#;
        let fault = Fault::from_json(json).unwrap();
        assert_eq!(
            fault.kind,
            FaultKind::Latency {
                latency: 50,
                jitter: 5
            }
        );
        assert_eq!(fault.stream, Direction::Upstream);
        assert_eq!(Fault::from_json(&fault.to_json()).unwrap(), fault);
        let fault = Fault::from_json(r#"{"type":"bandwidth","attributes":{"rate":10}}"#).unwrap();
        assert_eq!(fault.name, "bandwidth_downstream");
        assert_eq!(fault.toxicity, 1.0);
    }

    #[test]
    fn bad_values_are_named() {
        let err =
            Fault::from_json(r#"{"type":"latency","attributes":{"latency":-5}}"#).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidOptions);
        assert!(err.message().contains("cannot be negative"), "{err}");
        let err = Fault::from_json(r#"{"type":"latency","attributes":{"latency":99999999}}"#)
            .unwrap_err();
        assert!(err.message().contains("absurd"), "{err}");
        let err = Fault::from_json(r#"{"type":"bandwidth","attributes":{"rate":0}}"#).unwrap_err();
        assert!(err.message().contains("rate 0"), "{err}");
        let err = Fault::from_json(r#"{"type":"lag"}"#).unwrap_err();
        assert!(err.message().contains("lag"), "{err}");
        let err = Fault::latency(Duration::ZERO, Duration::ZERO)
            .toxicity(1.5)
            .validated()
            .unwrap_err();
        assert!(err.message().contains("toxicity 1.5"), "{err}");
        let err = Fault::slicer(10, 10, Duration::ZERO)
            .validated()
            .unwrap_err();
        assert!(err.message().contains("size_variation"), "{err}");
    }

    #[test]
    fn default_names_follow_the_stream() {
        let f = Fault::bandwidth(5).upstream();
        assert_eq!(f.name, "bandwidth_upstream");
        let f = Fault::bandwidth(5).name("mine").upstream();
        assert_eq!(f.name, "mine");
    }
}
