//! What started a run, as a typed enum.
//!
//! Stored (and shown by the API) as `{"kind": "...", "detail": {...}}`,
//! the shape run records have always had, so records written by earlier
//! builds read back unchanged. Kinds the engine does not know — a program
//! embedding Weft naming its own triggers — are kept as [`Trigger::Custom`]
//! rather than refused: the engine never needs to understand them.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// What started a run.
#[derive(Debug, Clone, PartialEq)]
pub enum Trigger {
    /// Started by a signed-in user (`POST /automations/{id}/runs`).
    Manual { user: String },
    /// The API-call trigger (`actions/execute`); `sync`: the caller holds
    /// the connection for the output.
    Api { sync: bool },
    /// A webhook; `signed`: an HMAC-signed delivery (`/hooks/{id}`) rather
    /// than a secret URL (`/hooks/{id}/{secret}`).
    Webhook { signed: bool },
    /// The schedule, for the fire time in RFC 3339.
    Schedule { scheduled_for: String },
    /// A `call_automation` block of another run.
    Automation(ChainedBy),
    /// `weft run` on the command line.
    Cli,
    /// Anything else, named by a program embedding the engine.
    Custom { kind: String, detail: Value },
}

/// The run and block that called an automation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChainedBy {
    pub parent_run_id: String,
    pub parent_block: String,
    /// The automations that called this run, from the root run's to the
    /// direct caller's.
    #[serde(default)]
    pub call_stack: Vec<String>,
    /// The caller waits for the output: after a crash the run is not
    /// resumed on its own (the resumed caller calls it anew).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub wait: bool,
}

impl Trigger {
    /// A trigger named by an embedding program, without detail.
    pub fn custom(kind: impl Into<String>) -> Self {
        Trigger::Custom {
            kind: kind.into(),
            detail: Value::Null,
        }
    }

    /// The stored `kind`: `manual`, `api`, `webhook`, `schedule`,
    /// `automation`, `cli` or an embedder's own.
    pub fn kind(&self) -> &str {
        match self {
            Trigger::Manual { .. } => "manual",
            Trigger::Api { .. } => "api",
            Trigger::Webhook { .. } => "webhook",
            Trigger::Schedule { .. } => "schedule",
            Trigger::Automation(_) => "automation",
            Trigger::Cli => "cli",
            Trigger::Custom { kind, .. } => kind,
        }
    }

    /// Someone holds a connection (or a calling run waits) for this run's
    /// output: after a crash nobody would receive it, so it is failed
    /// rather than resumed.
    pub fn is_waited_for(&self) -> bool {
        match self {
            Trigger::Api { sync } => *sync,
            Trigger::Automation(by) => by.wait,
            _ => false,
        }
    }

    /// The automations that called this run (empty unless
    /// [`Trigger::Automation`]).
    pub fn call_stack(&self) -> &[String] {
        match self {
            Trigger::Automation(by) => &by.call_stack,
            _ => &[],
        }
    }

    fn detail(&self) -> Value {
        match self {
            Trigger::Manual { user } => json!({ "user": user }),
            Trigger::Api { sync } => json!({ "sync": sync }),
            Trigger::Webhook { signed: false } => Value::Null,
            Trigger::Webhook { signed: true } => json!({ "signed": true }),
            Trigger::Schedule { scheduled_for } => json!({ "scheduled_for": scheduled_for }),
            Trigger::Automation(by) => serde_json::to_value(by).unwrap_or(Value::Null),
            Trigger::Cli => Value::Null,
            Trigger::Custom { detail, .. } => detail.clone(),
        }
    }
}

/// The stored shape.
#[derive(Serialize, Deserialize)]
struct Stored {
    kind: String,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    detail: Value,
}

impl From<Stored> for Trigger {
    fn from(Stored { kind, detail }: Stored) -> Self {
        let text = |name: &str| detail.get(name).and_then(Value::as_str).map(str::to_string);
        let flag = |name: &str| detail.get(name).and_then(Value::as_bool).unwrap_or(false);
        let known = match kind.as_str() {
            "manual" => text("user").map(|user| Trigger::Manual { user }),
            "api" => Some(Trigger::Api { sync: flag("sync") }),
            "webhook" => Some(Trigger::Webhook {
                signed: flag("signed"),
            }),
            "schedule" => {
                text("scheduled_for").map(|scheduled_for| Trigger::Schedule { scheduled_for })
            }
            "automation" => serde_json::from_value(detail.clone())
                .ok()
                .map(Trigger::Automation),
            "cli" => Some(Trigger::Cli),
            _ => None,
        };
        // A known kind whose detail does not fit is kept as it was stored,
        // not rewritten into something it never said.
        known.unwrap_or(Trigger::Custom { kind, detail })
    }
}

impl Serialize for Trigger {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Stored {
            kind: self.kind().to_string(),
            detail: self.detail(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Trigger {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Stored::deserialize(d).map(Trigger::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(t: &Trigger) -> Trigger {
        let text = serde_json::to_string(t).expect("serializes");
        serde_json::from_str(&text).expect("parses")
    }

    #[test]
    fn every_kind_round_trips_through_the_stored_shape() {
        let all = [
            Trigger::Manual { user: "ann".into() },
            Trigger::Api { sync: true },
            Trigger::Api { sync: false },
            Trigger::Webhook { signed: false },
            Trigger::Webhook { signed: true },
            Trigger::Schedule {
                scheduled_for: "2026-12-01T10:00:00+00:00".into(),
            },
            Trigger::Automation(ChainedBy {
                parent_run_id: "r1".into(),
                parent_block: "Call".into(),
                call_stack: vec!["a".into()],
                wait: true,
            }),
            Trigger::Cli,
            Trigger::Custom {
                kind: "app".into(),
                detail: json!({"x": 1}),
            },
        ];
        for t in &all {
            assert_eq!(&round_trip(t), t);
        }
    }

    /// Records written before the enum existed read back as the typed kinds.
    #[test]
    fn records_of_earlier_builds_read_back_typed() {
        let old = |v: Value| serde_json::from_value::<Trigger>(v).expect("parses");
        assert_eq!(
            old(json!({"kind": "webhook"})),
            Trigger::Webhook { signed: false }
        );
        assert_eq!(
            old(json!({"kind": "api", "detail": {"sync": true}})),
            Trigger::Api { sync: true }
        );
        assert_eq!(
            old(json!({"kind": "manual", "detail": {"user": "admin"}})),
            Trigger::Manual {
                user: "admin".into()
            }
        );
        let chained = old(json!({"kind": "automation", "detail": {
            "parent_run_id": "r", "parent_block": "B", "call_stack": ["a", "b"], "wait": true}}));
        assert!(chained.is_waited_for());
        assert_eq!(chained.call_stack(), ["a".to_string(), "b".to_string()]);
    }

    #[test]
    fn a_known_kind_with_detail_that_does_not_fit_is_kept_as_stored() {
        let odd = json!({"kind": "manual", "detail": {"who": 3}});
        let t: Trigger = serde_json::from_value(odd.clone()).expect("parses");
        assert_eq!(t.kind(), "manual");
        assert_eq!(serde_json::to_value(&t).expect("serializes"), odd);
    }

    #[test]
    fn only_sync_calls_and_waited_chains_are_waited_for() {
        assert!(Trigger::Api { sync: true }.is_waited_for());
        assert!(!Trigger::Api { sync: false }.is_waited_for());
        assert!(!Trigger::Webhook { signed: true }.is_waited_for());
        assert!(!Trigger::custom("app").is_waited_for());
    }
}
