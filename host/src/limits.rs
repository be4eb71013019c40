//! Per-invocation sandbox limits: fuel, wall-clock time, linear memory,
//! output size and outbound HTTP. Configurable for a whole connector and
//! per block (see [`crate::Connector::with_limits`]).

use crate::outbound_http::HttpLimits;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Limits for one block invocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Fuel units (roughly WebAssembly instructions). Ignored when the
    /// runtime was built without fuel metering.
    pub fuel: u64,
    /// Wall-clock time, including time spent waiting on HTTP.
    #[serde(with = "duration_ms")]
    pub wall_clock: Duration,
    /// Linear memory cap in bytes (at most the runtime's pool maximum).
    pub memory_bytes: usize,
    /// Largest output, as JSON text, in bytes.
    pub output_bytes: usize,
    pub http: HttpLimits,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            fuel: 2_000_000_000,
            wall_clock: Duration::from_secs(60),
            memory_bytes: 64 << 20,
            output_bytes: 8 << 20,
            http: HttpLimits::default(),
        }
    }
}

impl Limits {
    pub fn fuel(mut self, fuel: u64) -> Self {
        self.fuel = fuel;
        self
    }
    pub fn wall_clock(mut self, wall_clock: Duration) -> Self {
        self.wall_clock = wall_clock;
        self
    }
    pub fn memory_bytes(mut self, bytes: usize) -> Self {
        self.memory_bytes = bytes;
        self
    }
    pub fn output_bytes(mut self, bytes: usize) -> Self {
        self.output_bytes = bytes;
        self
    }
    pub fn http(mut self, http: HttpLimits) -> Self {
        self.http = http;
        self
    }
}

/// Serde helper: a `Duration` as whole milliseconds.
pub mod duration_ms {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

/// Serde helper: an optional `Duration` as whole milliseconds.
pub mod opt_duration_ms {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            None => s.serialize_none(),
        }
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Option::<u64>::deserialize(d).map(|o| o.map(Duration::from_millis))
    }
}
