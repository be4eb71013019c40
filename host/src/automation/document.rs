//! The automation document: what users write, export and import (JSON,
//! format `automation/v1`; schema in `docs/automation.schema.json`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use weft_conditions::{Combine, Operator};

/// The format tag every document carries.
///
/// The schema (`docs/automation.schema.json`, and its copy in the server's
/// `openapi.json`) states the identifier rule of [`super::ident`] as a
/// pattern on every id a user chooses, so that clients can check a document
/// before sending it; the validator enforces the same rule.
pub const FORMAT: &str = "automation/v1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Automation {
    /// Always `automation/v1`.
    #[schemars(extend("const" = "automation/v1"))]
    pub weft: String,
    #[schemars(regex(pattern = r"^[A-Za-z0-9_-]{1,64}$"))]
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub owner: Option<String>,
    /// Bumped on every saved change (optimistic concurrency in the server).
    #[serde(default)]
    pub version: u64,
    #[serde(default)]
    pub run_mode: RunMode,
    /// Variables and their initial values.
    #[serde(default)]
    #[schemars(extend("propertyNames" = {"pattern": "^[A-Za-z0-9_-]{1,64}$"}))]
    pub variables: Map<String, Value>,
    #[serde(default)]
    pub settings: RunSettings,
    pub blocks: Vec<Block>,
    #[serde(default)]
    pub edges: Vec<Edge>,
    /// The connections the blocks reference, described so that an import
    /// elsewhere can map them onto the importer's own (written by export;
    /// never holds secrets).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub connections: Vec<ConnectionRef>,
}

/// A connection an exported automation needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ConnectionRef {
    /// The id the blocks use.
    #[serde(rename = "ref")]
    pub reference: String,
    pub connector: String,
    /// e.g. `bearer`, `oauth2-code`.
    #[serde(default)]
    pub auth_kind: String,
    #[serde(default)]
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum RunMode {
    #[default]
    Manual,
    /// A cron expression or a preset (`every-30s`, `hourly`, `daily`,
    /// `weekly`, `monthly`), in a time zone.
    Schedule {
        schedule: String,
        #[serde(default)]
        timezone: Option<String>,
        /// What to do with ticks missed while the server was down.
        #[serde(default)]
        missed: MissedTicks,
    },
    Webhook,
    Api,
}

/// Ticks of a schedule that passed while the server was down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum MissedTicks {
    /// Forget them; fire at the next tick.
    #[default]
    Skip,
    /// Run once for all of them, right after start.
    RunOnce,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunSettings {
    /// Wall-clock limit for the whole run, in milliseconds.
    #[serde(default)]
    pub deadline_ms: Option<u64>,
    /// Fuel for the whole run, shared by all its blocks.
    #[serde(default)]
    pub fuel_budget: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Block {
    #[schemars(regex(pattern = r"^[A-Za-z0-9_-]{1,64}$"))]
    pub id: String,
    #[serde(flatten)]
    pub kind: BlockKind,
    #[serde(default, skip_serializing_if = "is_default")]
    pub on_error: OnError,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<Retry>,
    /// Never write this block's inputs, outputs, HTTP bodies or logs to
    /// the history (only status, timing and sizes).
    #[serde(default, skip_serializing_if = "is_default")]
    pub censor: bool,
    /// Never run this block twice: if the server stops while it is in
    /// progress, the resumed run fails it (with an error saying so)
    /// instead of calling it again. For calls that have no idempotency key
    /// to lean on (a payment, a message). Connector and call_automation
    /// blocks only: every other block is replayed, never repeated.
    #[serde(default, skip_serializing_if = "is_default")]
    pub non_retryable_after_crash: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Where the console draws the block; the engine ignores it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ui: Option<BlockUi>,
}

/// A block's place on the console's canvas (canvas units, top left).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BlockUi {
    pub x: f64,
    pub y: f64,
}

fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum BlockKind {
    Start,
    Condition {
        condition: ConditionSpec,
    },
    Loop {
        /// The list to iterate (usually a reference).
        over: Value,
    },
    /// A loop over whole numbers: `from`, `from + step`, … up to and
    /// including `to` (down to it, with a negative step). The item is the
    /// number.
    LoopRange {
        from: Value,
        to: Value,
        /// Omitted: 1. Never 0.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        step: Option<Value>,
    },
    /// A loop that runs while (or until) a condition holds, at most
    /// `max_iterations` times: a run that reaches the cap with the loop
    /// still going fails, saying so. It has no item; `$.Loop.index`
    /// counts iterations from 0.
    #[schemars(transform = require_max_iterations)]
    LoopWhile {
        #[serde(default)]
        mode: WhileMode,
        condition: ConditionSpec,
        /// Required: the most times the body may run.
        // Optional to serde only: a missing cap is reported by validation,
        // naming the block, rather than as a parse error.
        #[serde(default)]
        #[schemars(extend("minimum" = 1))]
        max_iterations: Option<u64>,
    },
    /// A loop over a list in chunks: the item is a list of `size` items
    /// (the last one may be shorter).
    LoopBatch {
        over: Value,
        /// Items per chunk, at least 1.
        size: Value,
    },
    ExitLoop {
        /// The enclosing loop to leave; omitted: the innermost.
        #[serde(default, rename = "loop", skip_serializing_if = "Option::is_none")]
        #[schemars(regex(pattern = r"^[A-Za-z0-9_-]{1,64}$"))]
        target: Option<String>,
    },
    /// Branch on a value: the first case one of whose values it equals
    /// (as `=` compares) runs, or the `default` branch. Each case's
    /// blocks hang from an edge with `"branch": "case"` and its name.
    Case {
        value: Value,
        cases: Vec<CaseSpec>,
    },
    /// Set the run's title, shown in run lists (text, at most 200
    /// characters).
    UpdateRunTitle {
        title: Value,
    },
    /// Read a key of the automation's state, kept between runs: the
    /// output is its value, or `default` (null when omitted) if the key
    /// is missing.
    #[schemars(transform = require_key)]
    StateGet {
        // Optional to serde only, as for `loop-while`'s cap: a missing
        // key is reported by validation, naming the block.
        #[serde(default)]
        key: Value,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        default: Option<Value>,
    },
    /// Write a key of the automation's state, at once: a run started
    /// after this block sees it, whatever becomes of this run. The output
    /// is the value stored.
    #[schemars(transform = require_key_and_value)]
    StateSet {
        #[serde(default)]
        key: Value,
        #[serde(default)]
        value: Value,
    },
    /// Add `by` (omitted: 1) to a numeric key of the automation's state,
    /// a missing key counting as 0, in one step that concurrent runs
    /// cannot interleave. The output is the new number.
    #[schemars(transform = require_key)]
    StateIncrement {
        #[serde(default)]
        key: Value,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        by: Option<Value>,
    },
    /// Wait for a person: the run pauses (status `paused`, holding no
    /// slot) until a form is submitted through the API
    /// (`POST /api/v1/runs/{id}/input`) with values valid against
    /// `schema`, or until `timeout_ms` passes. The output is
    /// `{"values": …, "submitted_by": …, "submitted_at": …, "timed_out": false}`.
    /// On timeout the block fails (so `on_error` applies) unless
    /// `timeout_values` is given: then it succeeds with those values and
    /// `"timed_out": true`. Runs that cannot pause (`weft run`, a
    /// synchronous API call, a called automation waited for) fail here.
    Input {
        /// The form: a JSON Schema (an object schema; at most 64 KiB).
        #[schemars(extend("type" = "object"))]
        schema: Value,
        /// The form's title (text; templates allowed).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        title: Option<Value>,
        /// Text shown above the form (templates allowed).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<Value>,
        /// How long the form waits, in milliseconds. Omitted: a day
        /// (86400000); at most 30 days (2592000000).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(extend("minimum" = 1, "maximum" = 2_592_000_000u64))]
        timeout_ms: Option<u64>,
        /// The values to go on with when nobody answers in time (valid
        /// against `schema`). Omitted: the block fails on timeout.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timeout_values: Option<Value>,
    },
    Variable {
        #[schemars(regex(pattern = r"^[A-Za-z0-9_-]{1,64}$"))]
        variable: String,
        action: VariableAction,
        #[serde(default)]
        value: Value,
    },
    Output {
        #[serde(default)]
        mode: OutputMode,
        value: Value,
    },
    Stop,
    Error {
        #[serde(default)]
        mode: ErrorMode,
        message: Value,
    },
    Sleep {
        ms: Value,
    },
    Connector {
        connector: String,
        block: String,
        #[serde(default)]
        inputs: Value,
        /// Connection id (authenticated connectors).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        connection: Option<String>,
        /// Which installed versions of the connector this block accepts: a
        /// full version (`1.2.0`) pins exactly, anything else is a semver
        /// range (`^1`, `~1.2`, `>=1.1, <2`). Omitted: the newest installed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        version: Option<String>,
    },
    /// Run another automation. Synchronously (the default) its output
    /// becomes this block's output; asynchronously the block's output is
    /// `{"run_id": "…"}` and the called run goes on by itself.
    #[serde(rename = "call_automation")]
    CallAutomation {
        /// The id of the automation to run (never this one).
        #[schemars(regex(pattern = r"^[A-Za-z0-9_-]{1,64}$"))]
        automation: String,
        #[serde(default)]
        mode: CallMode,
        /// The called run's `$.Start`; `{…}` templates are resolved first,
        /// as for connector inputs. Omitted: an empty object.
        #[serde(default)]
        inputs: Value,
    },
}

/// How a `call_automation` block waits for the run it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CallMode {
    /// Wait for the called run; its output is the block's output.
    #[default]
    Sync,
    /// Start the called run and go on; the output is its run id.
    Async,
}

impl BlockKind {
    /// Every block type, as documents name them.
    pub const TYPE_NAMES: &[&str] = &[
        "start",
        "condition",
        "case",
        "loop",
        "loop-range",
        "loop-while",
        "loop-batch",
        "exit-loop",
        "variable",
        "output",
        "stop",
        "error",
        "sleep",
        "update-run-title",
        "state-get",
        "state-set",
        "state-increment",
        "input",
        "connector",
        "call_automation",
    ];

    pub fn type_name(&self) -> &'static str {
        match self {
            BlockKind::Start => "start",
            BlockKind::Condition { .. } => "condition",
            BlockKind::Loop { .. } => "loop",
            BlockKind::LoopRange { .. } => "loop-range",
            BlockKind::LoopWhile { .. } => "loop-while",
            BlockKind::LoopBatch { .. } => "loop-batch",
            BlockKind::ExitLoop { .. } => "exit-loop",
            BlockKind::Case { .. } => "case",
            BlockKind::UpdateRunTitle { .. } => "update-run-title",
            BlockKind::StateGet { .. } => "state-get",
            BlockKind::StateSet { .. } => "state-set",
            BlockKind::StateIncrement { .. } => "state-increment",
            BlockKind::Input { .. } => "input",
            BlockKind::Variable { .. } => "variable",
            BlockKind::Output { .. } => "output",
            BlockKind::Stop => "stop",
            BlockKind::Error { .. } => "error",
            BlockKind::Sleep { .. } => "sleep",
            BlockKind::Connector { .. } => "connector",
            BlockKind::CallAutomation { .. } => "call_automation",
        }
    }

    /// The fields a block of this type may have (besides the common ones),
    /// to report typos instead of silently ignoring them.
    pub fn allowed_fields(type_name: &str) -> Option<&'static [&'static str]> {
        Some(match type_name {
            "start" | "stop" => &[],
            "exit-loop" => &["loop"],
            "condition" => &["condition"],
            "loop" => &["over"],
            "loop-range" => &["from", "to", "step"],
            "loop-while" => &["mode", "condition", "max_iterations"],
            "loop-batch" => &["over", "size"],
            "case" => &["value", "cases"],
            "update-run-title" => &["title"],
            "state-get" => &["key", "default"],
            "state-set" => &["key", "value"],
            "state-increment" => &["key", "by"],
            "input" => &["schema", "title", "message", "timeout_ms", "timeout_values"],
            "variable" => &["variable", "action", "value"],
            "output" => &["mode", "value"],
            "error" => &["mode", "message"],
            "sleep" => &["ms"],
            "connector" => &["connector", "block", "inputs", "connection", "version"],
            "call_automation" => &["automation", "mode", "inputs"],
            _ => return None,
        })
    }
}

/// Fields every block may have.
pub const COMMON_FIELDS: &[&str] = &[
    "id",
    "type",
    "on_error",
    "retry",
    "censor",
    "non_retryable_after_crash",
    "description",
    "ui",
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConditionSpec {
    #[serde(default)]
    pub mode: Combine,
    pub clauses: Vec<Clause>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Clause {
    pub left: Value,
    pub op: Operator,
    #[serde(default)]
    pub right: Value,
}

/// The schema states what validation enforces: a `loop-while` has a
/// `max_iterations` (the Rust field is optional only so that its absence
/// is reported with the block's id).
fn require_max_iterations(schema: &mut schemars::Schema) {
    if let Some(required) = schema.get_mut("required").and_then(Value::as_array_mut) {
        required.push(Value::String("max_iterations".into()));
    }
    if let Some(cap) = schema
        .get_mut("properties")
        .and_then(|p| p.get_mut("max_iterations"))
        .and_then(Value::as_object_mut)
    {
        cap.shift_remove("default");
        cap.insert("type".into(), Value::String("integer".into()));
    }
}

/// The schema states what validation enforces: a state block has a
/// `key` (and `state-set` a `value`), though the Rust fields default so
/// that a missing one is reported with the block's id.
fn require_key(schema: &mut schemars::Schema) {
    require(schema, &["key"]);
}

fn require_key_and_value(schema: &mut schemars::Schema) {
    require(schema, &["key", "value"]);
}

fn require(schema: &mut schemars::Schema, fields: &[&str]) {
    if let Some(required) = schema.get_mut("required").and_then(Value::as_array_mut) {
        for f in fields {
            required.push(Value::String((*f).into()));
        }
    }
    for f in fields {
        if let Some(field) = schema
            .get_mut("properties")
            .and_then(|p| p.get_mut(*f))
            .and_then(Value::as_object_mut)
        {
            field.remove("default");
        }
    }
}

/// When a `loop-while` checks its condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum WhileMode {
    /// Before each iteration; the body runs while the condition holds
    /// (perhaps never).
    #[default]
    While,
    /// After each iteration; the body runs until the condition holds
    /// (at least once).
    Until,
}

/// One named branch of a `case` block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseSpec {
    /// The branch's name, as edges name it (`"case": "paid"`).
    #[schemars(regex(pattern = r"^[A-Za-z0-9_-]{1,64}$"))]
    pub name: String,
    /// A value, or a list of values any of which matches (templates
    /// allowed; a template that yields a list is a list of values too).
    #[serde(rename = "match")]
    pub matches: Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum VariableAction {
    /// Replace the variable's value.
    Set,
    /// Add the value as one item at the end of the list.
    Append,
    /// Add every item of a list value at the end of the list (a value that
    /// is not a list is an error, not appended as one item).
    AppendAll,
    /// Copy the object value's members into the object.
    Merge,
    /// Add a number (1 when the value is null), in decimal.
    Increment,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum OutputMode {
    /// Append to the output list.
    #[default]
    Add,
    /// Replace the output.
    Set,
    /// Merge an object into the output object.
    Merge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorMode {
    /// Fail the run with the message.
    #[default]
    Fail,
    /// Record a warning and go on.
    Warn,
}

/// What a failing block does to the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum OnError {
    /// The run fails.
    #[default]
    Stop,
    /// The run goes on and finishes "with warnings".
    Warning,
    /// The run goes on as if nothing happened (the step still records it).
    Ignore,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Retry {
    /// Tries in all, including the first.
    pub max_attempts: u32,
    /// Delay before the first retry; doubles each time.
    #[serde(default = "default_backoff")]
    pub backoff_ms: u64,
    #[serde(default = "default_max_backoff")]
    pub max_backoff_ms: u64,
}

fn default_backoff() -> u64 {
    500
}

fn default_max_backoff() -> u64 {
    30_000
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Edge {
    #[schemars(regex(pattern = r"^[A-Za-z0-9_-]{1,64}$"))]
    pub from: String,
    #[schemars(regex(pattern = r"^[A-Za-z0-9_-]{1,64}$"))]
    pub to: String,
    #[serde(default)]
    pub branch: Branch,
    /// With `"branch": "case"`: which of the case block's cases.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[A-Za-z0-9_-]{1,64}$"))]
    pub case: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Branch {
    /// The block that runs after this one (after a loop: when it is done).
    #[default]
    Next,
    /// Condition held.
    True,
    /// Condition did not hold.
    False,
    /// A loop's body, run once per item.
    Body,
    /// One of a case block's cases (named by the edge's `case`).
    Case,
    /// What a case block runs when no case matches.
    Default,
}

impl Branch {
    /// The name as written in documents.
    pub fn name(self) -> &'static str {
        match self {
            Branch::Next => "next",
            Branch::True => "true",
            Branch::False => "false",
            Branch::Body => "body",
            Branch::Case => "case",
            Branch::Default => "default",
        }
    }
}

/// The JSON Schema of the document (kept in `docs/automation.schema.json`).
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Automation)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The schema file in the repository must match the types; run with
    /// `WEFT_UPDATE_SCHEMA=1` to rewrite it after changing them.
    #[test]
    fn schema_file_is_current() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../docs/automation.schema.json"
        );
        let generated = serde_json::to_string_pretty(&json_schema()).unwrap_or_default() + "\n";
        if std::env::var_os("WEFT_UPDATE_SCHEMA").is_some() {
            std::fs::write(path, &generated).expect("write schema");
        }
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            committed == generated,
            "docs/automation.schema.json is stale; rerun with WEFT_UPDATE_SCHEMA=1"
        );
    }

    /// The console's canvas positions ride along in the document: kept
    /// through a round trip, and held to their shape.
    #[test]
    fn a_blocks_canvas_position_round_trips_and_is_checked() {
        let block: Block = serde_json::from_value(serde_json::json!(
            {"id": "Start", "type": "start", "ui": {"x": 10.0, "y": -4.5}}
        ))
        .expect("a block with ui");
        assert_eq!(block.ui, Some(BlockUi { x: 10.0, y: -4.5 }));
        assert_eq!(
            serde_json::to_value(&block).expect("serializes")["ui"]["y"],
            -4.5
        );
        let bad = serde_json::from_value::<Block>(serde_json::json!(
            {"id": "Start", "type": "start", "ui": {"x": 1, "y": 2, "z": 3}}
        ));
        assert!(bad.is_err(), "unknown ui fields are refused");
    }

    #[test]
    fn schema_describes_blocks_and_edges() {
        let schema = json_schema().to_string();
        for needle in [
            "\"exit-loop\"",
            "\"connector\"",
            "\"body\"",
            "\"does not contain\"",
            "\"max_attempts\"",
            "\"call_automation\"",
            "\"case\"",
            "\"loop-range\"",
            "\"loop-while\"",
            "\"loop-batch\"",
            "\"update-run-title\"",
            "\"input\"",
            "\"timeout_values\"",
            "\"max_iterations\"",
            "\"state-get\"",
            "\"state-set\"",
            "\"state-increment\"",
        ] {
            assert!(schema.contains(needle), "{needle} missing");
        }
    }
}
