//! Validation: turn an automation document into an executable [`Plan`],
//! or into every error it has, each naming the block and the field.
//!
//! Checked before any run: the document's shape (unknown fields are
//! reported, not ignored), exactly one start block, edges that form a tree
//! hanging from the start (no unreachable blocks, no cycles, no block with
//! two parents), references that resolve to a block running earlier on the
//! same path, a declared variable or an enclosing loop, formulas with the
//! right arity, known connectors and blocks, and literal inputs that
//! satisfy the block's input schema.

use super::document::{
    Automation, Block, BlockKind, Branch, COMMON_FIELDS, CallMode, ErrorMode, FORMAT, OnError,
    OutputMode, Retry, RunSettings, VariableAction, WhileMode,
};
use super::formula;
use super::nesting::{Nesting, json_depth_within, json_too_deep};
use super::template::{Field, RefRoot, Reference, Template};
use crate::connector_set::VersionPin;
use crate::manifest::Manifest;
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};
use std::fmt;
use weft_conditions::{Combine, Operator};

mod checker;
mod control;
mod input;
mod outputs;
mod state;
use checker::Checker;
pub use control::MAX_TITLE_CHARS;
pub use input::{
    DEFAULT_INPUT_TIMEOUT_MS, FormError, MAX_INPUT_SCHEMA_BYTES, MAX_INPUT_TIMEOUT_MS,
    check_form_values,
};
pub use state::StateOp;

/// One problem in an automation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ValidationError {
    /// The block id, when the problem is in a block.
    pub block: Option<String>,
    /// Where in the block or document: `inputs.url`, `edges[3].to`, …
    pub field: String,
    pub message: String,
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.block {
            Some(b) => write!(f, "block {b:?}, {}: {}", self.field, self.message),
            None => write!(f, "{}: {}", self.field, self.message),
        }
    }
}

/// All problems found, in document order.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ValidationErrors(pub Vec<ValidationError>);

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        write!(
            f,
            "the automation has {n} problem{}:",
            if n == 1 { "" } else { "s" }
        )?;
        for e in &self.0 {
            write!(f, "\n  - {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}

/// What validation needs to know about connectors.
pub trait Catalog {
    /// The manifest of the version a block with `pin` would run.
    fn manifest(&self, connector: &str, pin: Option<&VersionPin>) -> Option<&Manifest>;
    /// The installed versions of a connector (for messages).
    fn versions_of(&self, connector: &str) -> Vec<String>;
    fn connector_ids(&self) -> Vec<String>;
}

pub type NodeId = usize;

/// A validated automation, ready to run many times.
#[derive(Debug, Clone)]
pub struct Plan {
    pub id: String,
    pub name: String,
    pub version: u64,
    pub owner: Option<String>,
    pub settings: RunSettings,
    pub variables: Map<String, Value>,
    pub nodes: Vec<Node>,
    /// The main chain, starting with the start block.
    pub root: Vec<NodeId>,
    /// The document as given, for export.
    pub document: Automation,
    /// What validation found suspicious but not wrong (a reference to a
    /// field a block's open output schema does not list).
    pub warnings: Vec<ValidationError>,
}

#[derive(Debug, Clone)]
pub struct Node {
    pub id: String,
    pub kind: NodeKind,
    pub on_error: OnError,
    pub retry: Option<Retry>,
    pub censor: bool,
    /// Failed, not repeated, when found in progress at a resume.
    pub non_retryable_after_crash: bool,
}

#[derive(Debug, Clone)]
pub enum NodeKind {
    Start,
    Condition {
        mode: Combine,
        clauses: Vec<(Template, Operator, Template)>,
        yes: Vec<NodeId>,
        no: Vec<NodeId>,
    },
    Loop {
        over: Template,
        body: Vec<NodeId>,
    },
    LoopRange {
        from: Template,
        to: Template,
        /// `None`: 1.
        step: Option<Template>,
        body: Vec<NodeId>,
    },
    LoopWhile {
        when: WhileMode,
        mode: Combine,
        clauses: Vec<(Template, Operator, Template)>,
        max_iterations: u64,
        body: Vec<NodeId>,
    },
    LoopBatch {
        over: Template,
        size: Template,
        body: Vec<NodeId>,
    },
    /// Leave the loop named `target` (checked to enclose the block), or
    /// the innermost.
    ExitLoop {
        target: Option<String>,
    },
    Case {
        value: Template,
        cases: Vec<CaseArm>,
        default: Vec<NodeId>,
    },
    UpdateRunTitle {
        title: Template,
    },
    /// `state-get`, `state-set` or `state-increment`.
    State(StateOp),
    /// Pause for a form (see [`crate::automation::document::BlockKind::Input`]).
    Input {
        /// A valid JSON Schema (checked at validation).
        schema: std::sync::Arc<Value>,
        title: Option<Template>,
        message: Option<Template>,
        timeout_ms: u64,
        timeout_values: Option<Value>,
    },
    Variable {
        name: String,
        action: VariableAction,
        value: Template,
    },
    Output {
        mode: OutputMode,
        value: Template,
    },
    Stop,
    Error {
        mode: ErrorMode,
        message: Template,
    },
    Sleep {
        ms: Template,
    },
    Connector {
        connector: String,
        block: String,
        inputs: Template,
        connection: Option<String>,
        /// The versions this block accepts; `None`: the newest.
        version: Option<VersionPin>,
    },
    CallAutomation {
        automation: String,
        mode: CallMode,
        inputs: Template,
    },
}

/// One case of a `case` block, compiled.
#[derive(Debug, Clone)]
pub struct CaseArm {
    pub name: String,
    /// Each yields a value, or a list of values, that matches.
    pub matches: Vec<Template>,
    pub body: Vec<NodeId>,
}

impl NodeKind {
    pub fn type_name(&self) -> &'static str {
        match self {
            NodeKind::Start => "start",
            NodeKind::Condition { .. } => "condition",
            NodeKind::Loop { .. } => "loop",
            NodeKind::LoopRange { .. } => "loop-range",
            NodeKind::LoopWhile { .. } => "loop-while",
            NodeKind::LoopBatch { .. } => "loop-batch",
            NodeKind::ExitLoop { .. } => "exit-loop",
            NodeKind::Case { .. } => "case",
            NodeKind::UpdateRunTitle { .. } => "update-run-title",
            NodeKind::State(op) => op.type_name(),
            NodeKind::Input { .. } => "input",
            NodeKind::Variable { .. } => "variable",
            NodeKind::Output { .. } => "output",
            NodeKind::Stop => "stop",
            NodeKind::Error { .. } => "error",
            NodeKind::Sleep { .. } => "sleep",
            NodeKind::Connector { .. } => "connector",
            NodeKind::CallAutomation { .. } => "call_automation",
        }
    }
}

struct Errors(Vec<ValidationError>);

impl Errors {
    fn push(&mut self, block: Option<&str>, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(ValidationError {
            block: block.map(str::to_string),
            field: field.into(),
            message: message.into(),
        });
    }
}

/// Parse and validate a document given as JSON, within the default
/// [`Nesting`] limits.
pub fn compile_json(raw: &Value, catalog: &dyn Catalog) -> Result<Plan, ValidationErrors> {
    compile_json_with(raw, catalog, &Nesting::default())
}

/// Parse and validate a document given as JSON, refusing anything nested
/// deeper than `nesting` allows (see [`super::nesting`]).
pub fn compile_json_with(
    raw: &Value,
    catalog: &dyn Catalog,
    nesting: &Nesting,
) -> Result<Plan, ValidationErrors> {
    let mut errors = Errors(Vec::new());
    // Deserializing recurses per level: a document (built in memory by an
    // embedder, say) deeper than any valid one is refused first. Valid
    // literals sit a few levels below the root (`blocks[i].inputs.x`).
    if json_depth_within(raw, nesting.max_json_depth + DOCUMENT_LEVELS).is_none() {
        errors.push(
            None,
            "",
            json_too_deep(nesting.max_json_depth + DOCUMENT_LEVELS),
        );
        return Err(ValidationErrors(errors.0));
    }
    check_block_fields(raw, &mut errors);
    let automation: Automation = match serde_path_to_error::deserialize(raw) {
        Ok(a) => a,
        Err(e) => {
            let path = e.path().to_string();
            errors.push(None, path, e.inner().to_string());
            return Err(ValidationErrors(errors.0));
        }
    };
    match compile_with(automation, catalog, nesting) {
        Ok(plan) if errors.0.is_empty() => Ok(plan),
        Ok(_) => Err(ValidationErrors(errors.0)),
        Err(more) => {
            errors.0.extend(more.0);
            Err(ValidationErrors(errors.0))
        }
    }
}

/// Unknown fields inside blocks, which serde's flattening cannot reject.
fn check_block_fields(raw: &Value, errors: &mut Errors) {
    let Some(blocks) = raw.get("blocks").and_then(Value::as_array) else {
        return;
    };
    for (i, block) in blocks.iter().enumerate() {
        let Some(obj) = block.as_object() else {
            continue;
        };
        let id = obj.get("id").and_then(Value::as_str).map(str::to_string);
        let ty = obj.get("type").and_then(Value::as_str).unwrap_or_default();
        let Some(allowed) = BlockKind::allowed_fields(ty) else {
            errors.push(
                id.as_deref(),
                format!("blocks[{i}].type"),
                format!(
                    "unknown block type {ty:?} (one of {})",
                    BlockKind::TYPE_NAMES.join(", ")
                ),
            );
            continue;
        };
        for key in obj.keys() {
            if !COMMON_FIELDS.contains(&key.as_str()) && !allowed.contains(&key.as_str()) {
                errors.push(
                    id.as_deref(),
                    key.clone(),
                    format!(
                        "unknown field for a {ty} block (allowed: {})",
                        [COMMON_FIELDS, allowed].concat().join(", ")
                    ),
                );
            }
        }
    }
}

/// Where a chain hangs: the block, the branch, and for a case branch
/// which case (its index; 0 for every other branch).
type Arm = (NodeId, Branch, usize);

/// The branches a block of this kind may have below it (besides `next`).
fn arms_of(kind: &BlockKind) -> Vec<(Branch, usize)> {
    match kind {
        BlockKind::Condition { .. } => vec![(Branch::True, 0), (Branch::False, 0)],
        BlockKind::Loop { .. }
        | BlockKind::LoopRange { .. }
        | BlockKind::LoopWhile { .. }
        | BlockKind::LoopBatch { .. } => vec![(Branch::Body, 0)],
        BlockKind::Case { cases, .. } => (0..cases.len())
            .map(|c| (Branch::Case, c))
            .chain([(Branch::Default, 0)])
            .collect(),
        _ => Vec::new(),
    }
}

/// Where edge `i` hangs its chain, or `None` (with the error pushed) when
/// its block cannot have that branch.
fn edge_arm(
    i: usize,
    e: &super::document::Edge,
    from: NodeId,
    kind: &BlockKind,
    errors: &mut Errors,
) -> Option<Arm> {
    let is_loop = matches!(
        kind,
        BlockKind::Loop { .. }
            | BlockKind::LoopRange { .. }
            | BlockKind::LoopWhile { .. }
            | BlockKind::LoopBatch { .. }
    );
    let branch_ok = match e.branch {
        Branch::Next => !matches!(kind, BlockKind::Stop | BlockKind::ExitLoop { .. }),
        Branch::True | Branch::False => matches!(kind, BlockKind::Condition { .. }),
        Branch::Body => is_loop,
        Branch::Case | Branch::Default => matches!(kind, BlockKind::Case { .. }),
    };
    if !branch_ok {
        errors.push(
            Some(&e.from),
            format!("edges[{i}].branch"),
            format!(
                "a block of type {} cannot have a {} edge",
                kind.type_name(),
                e.branch.name()
            ),
        );
        return None;
    }
    match (e.branch, &e.case, kind) {
        (Branch::Case, Some(name), BlockKind::Case { cases, .. }) => {
            match cases.iter().position(|c| &c.name == name) {
                Some(c) => Some((from, Branch::Case, c)),
                None => {
                    let names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
                    errors.push(
                        Some(&e.from),
                        format!("edges[{i}].case"),
                        format!(
                            "the case block has no case named {name:?} (its cases: {})",
                            names.join(", ")
                        ),
                    );
                    None
                }
            }
        }
        (Branch::Case, None, _) => {
            errors.push(
                Some(&e.from),
                format!("edges[{i}].case"),
                "a case edge names its case: \"case\": \"<name>\"",
            );
            None
        }
        (_, Some(_), _) => {
            errors.push(
                Some(&e.from),
                format!("edges[{i}].case"),
                format!(
                    "only a case edge (\"branch\": \"case\") names a case; this is a {} edge",
                    e.branch.name()
                ),
            );
            None
        }
        (branch, None, _) => Some((from, branch, 0)),
    }
}

/// Levels of a document above a block's fields (`blocks`, the block,
/// `inputs`, a condition's `clauses` and clause).
const DOCUMENT_LEVELS: usize = 6;

/// Validate a parsed document, within the default [`Nesting`] limits.
pub fn compile(automation: Automation, catalog: &dyn Catalog) -> Result<Plan, ValidationErrors> {
    compile_with(automation, catalog, &Nesting::default())
}

/// Validate a parsed document within `nesting`.
pub fn compile_with(
    automation: Automation,
    catalog: &dyn Catalog,
    nesting: &Nesting,
) -> Result<Plan, ValidationErrors> {
    let mut errors = Errors(Vec::new());
    if automation.weft != FORMAT {
        errors.push(
            None,
            "weft",
            format!(
                "unsupported format {:?}; this engine reads {FORMAT:?}",
                automation.weft
            ),
        );
    }
    if let Err(e) = super::ident::check(&automation.id) {
        errors.push(None, "id", e.to_string());
    }
    if let super::document::RunMode::Schedule {
        schedule, timezone, ..
    } = &automation.run_mode
        && let Err(e) = super::schedule::Schedule::parse(schedule, timezone.as_deref())
    {
        errors.push(None, "run_mode.schedule", e);
    }

    // Ids.
    let mut index: HashMap<&str, NodeId> = HashMap::new();
    for (i, b) in automation.blocks.iter().enumerate() {
        if let Err(e) = super::ident::check(&b.id) {
            errors.push(None, format!("blocks[{i}].id"), e.to_string());
        }
        if b.id == "item" {
            errors.push(Some(&b.id), "id", "\"item\" is reserved for the loop item");
        }
        if automation.variables.contains_key(&b.id) {
            errors.push(
                Some(&b.id),
                "id",
                "a variable has the same name; references would be ambiguous",
            );
        }
        if index.insert(&b.id, i).is_some() {
            errors.push(Some(&b.id), "id", "used by more than one block");
        }
    }
    let starts: Vec<&Block> = automation
        .blocks
        .iter()
        .filter(|b| matches!(b.kind, BlockKind::Start))
        .collect();
    if starts.len() != 1 {
        errors.push(
            None,
            "blocks",
            format!(
                "an automation has exactly one start block; this one has {}",
                starts.len()
            ),
        );
    }
    for (name, _) in &automation.variables {
        if let Err(e) = super::ident::check(name) {
            errors.push(
                None,
                format!("variables.{}", super::ident::shown(name)),
                e.to_string(),
            );
        }
        if name == "Start" || name == "item" {
            errors.push(None, format!("variables.{name}"), "this name is reserved");
        }
        if let Some(value) = automation.variables.get(name)
            && json_depth_within(value, nesting.max_json_depth).is_none()
        {
            errors.push(
                None,
                format!("variables.{}", super::ident::shown(name)),
                json_too_deep(nesting.max_json_depth),
            );
        }
    }

    // Edges → children.
    let mut children: HashMap<Arm, NodeId> = HashMap::new();
    let mut parent: HashMap<NodeId, NodeId> = HashMap::new();
    for (i, e) in automation.edges.iter().enumerate() {
        let (Some(&from), Some(&to)) = (index.get(e.from.as_str()), index.get(e.to.as_str()))
        else {
            for (end, name) in [("from", &e.from), ("to", &e.to)] {
                if !index.contains_key(name.as_str()) {
                    errors.push(
                        None,
                        format!("edges[{i}].{end}"),
                        format!("no block has id {name:?}"),
                    );
                }
            }
            continue;
        };
        let kind = &automation.blocks[from].kind;
        let Some(arm) = edge_arm(i, e, from, kind, &mut errors) else {
            continue;
        };
        if children.insert(arm, to).is_some() {
            let which = match &e.case {
                Some(name) if e.branch == Branch::Case => format!("case {name:?}"),
                _ => e.branch.name().to_string(),
            };
            errors.push(
                Some(&e.from),
                format!("edges[{i}]"),
                format!("more than one {which} edge leaves this block"),
            );
        }
        if matches!(automation.blocks[to].kind, BlockKind::Start) {
            errors.push(
                Some(&e.to),
                format!("edges[{i}].to"),
                "nothing may lead into the start block",
            );
        } else if parent.insert(to, from).is_some() {
            errors.push(
                Some(&e.to),
                format!("edges[{i}].to"),
                "more than one edge leads into this block; blocks form a tree",
            );
        }
    }
    // Bad edges were skipped above, so the tree can still be checked; only
    // a missing or doubled start leaves nothing to walk from.
    if starts.len() != 1 {
        return Err(ValidationErrors(errors.0));
    }

    // Chains from the start.
    let start = index[starts[0].id.as_str()];
    let mut visited = vec![false; automation.blocks.len()];
    let chain_of =
        |first: Option<NodeId>, visited: &mut Vec<bool>, errors: &mut Errors| -> Vec<NodeId> {
            let mut chain = Vec::new();
            let mut cur = first;
            while let Some(n) = cur {
                if visited[n] {
                    errors.push(
                        Some(&automation.blocks[n].id),
                        "edges",
                        "the edges form a cycle through this block",
                    );
                    break;
                }
                visited[n] = true;
                chain.push(n);
                cur = children.get(&(n, Branch::Next, 0)).copied();
            }
            chain
        };
    // Build all chains breadth-first: each node's sub-chains.
    let root = chain_of(Some(start), &mut visited, &mut errors);
    let mut sub: HashMap<Arm, Vec<NodeId>> = HashMap::new();
    // Each block with how many conditions and loops enclose it: the
    // checker and the walker recurse once per level, so a chain past
    // `max_block_depth` is reported here and nothing recurses into it.
    let mut pending: Vec<(NodeId, usize)> = root.iter().map(|&n| (n, 0)).collect();
    let mut too_deep = false;
    while let Some((n, depth)) = pending.pop() {
        for (branch, case) in arms_of(&automation.blocks[n].kind) {
            if let Some(&first) = children.get(&(n, branch, case)) {
                let chain = chain_of(Some(first), &mut visited, &mut errors);
                let inner = depth + 1;
                // Once per path: the first level past the limit.
                if inner == nesting.max_block_depth + 1 {
                    too_deep = true;
                    errors.push(
                        Some(&automation.blocks[first].id),
                        format!("edges ({} of {:?})", branch.name(), automation.blocks[n].id),
                        format!(
                            "this block is nested {inner} levels deep in conditions and loops; the limit is {} (max_block_depth)",
                            nesting.max_block_depth
                        ),
                    );
                }
                pending.extend(chain.iter().map(|&c| (c, inner)));
                sub.insert((n, branch, case), chain);
            }
        }
    }
    for (i, b) in automation.blocks.iter().enumerate() {
        if !visited[i] {
            errors.push(
                Some(&b.id),
                "edges",
                "not connected to the start block; it would never run",
            );
        }
    }
    // Unreachable blocks are reported; the reachable ones are still checked
    // so that one pass shows every problem — unless blocks nest too deep,
    // when checking them would recurse past the limit.
    if too_deep {
        return Err(ValidationErrors(errors.0));
    }

    // Nodes, with templates compiled and references checked in path order.
    let mut nodes: Vec<Option<Node>> = vec![None; automation.blocks.len()];
    let mut warnings = Errors(Vec::new());
    let mut walker = Checker {
        automation: &automation,
        catalog,
        sub: &sub,
        errors: &mut errors,
        warnings: &mut warnings,
        visible: Vec::new(),
        loops: Vec::new(),
        nodes: &mut nodes,
        nesting,
    };
    walker.chain(&root);
    if !errors.0.is_empty() {
        return Err(ValidationErrors(errors.0));
    }
    // Only reachable blocks are compiled; with no errors, that is all.
    let Some(nodes) = nodes.into_iter().collect::<Option<Vec<Node>>>() else {
        return Err(ValidationErrors(vec![ValidationError {
            block: None,
            field: "blocks".into(),
            message: "internal: a reachable block was not compiled".into(),
        }]));
    };
    Ok(Plan {
        id: automation.id.clone(),
        name: automation.name.clone(),
        version: automation.version,
        owner: automation.owner.clone(),
        settings: automation.settings.clone(),
        variables: automation.variables.clone(),
        nodes,
        root,
        document: automation,
        warnings: warnings.0,
    })
}
