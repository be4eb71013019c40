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
    OutputMode, Retry, RunSettings, VariableAction,
};
use super::formula;
use super::nesting::{Nesting, json_depth_within, json_too_deep};
use super::template::{RefRoot, Template};
use crate::connector_set::VersionPin;
use crate::manifest::Manifest;
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};
use std::fmt;
use weft_conditions::{Combine, Operator};

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
}

#[derive(Debug, Clone)]
pub struct Node {
    pub id: String,
    pub kind: NodeKind,
    pub on_error: OnError,
    pub retry: Option<Retry>,
    pub censor: bool,
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
    ExitLoop,
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

impl NodeKind {
    pub fn type_name(&self) -> &'static str {
        match self {
            NodeKind::Start => "start",
            NodeKind::Condition { .. } => "condition",
            NodeKind::Loop { .. } => "loop",
            NodeKind::ExitLoop => "exit-loop",
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
                    "unknown block type {ty:?} (one of start, condition, loop, exit-loop, variable, output, stop, error, sleep, connector, call_automation)"
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
    let mut children: HashMap<(NodeId, Branch), NodeId> = HashMap::new();
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
        let branch_ok = match e.branch {
            Branch::Next => !matches!(kind, BlockKind::Stop | BlockKind::ExitLoop),
            Branch::True | Branch::False => matches!(kind, BlockKind::Condition { .. }),
            Branch::Body => matches!(kind, BlockKind::Loop { .. }),
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
            continue;
        }
        if children.insert((from, e.branch), to).is_some() {
            errors.push(
                Some(&e.from),
                format!("edges[{i}]"),
                format!("more than one {} edge leaves this block", e.branch.name()),
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
                cur = children.get(&(n, Branch::Next)).copied();
            }
            chain
        };
    // Build all chains breadth-first: each node's sub-chains.
    let root = chain_of(Some(start), &mut visited, &mut errors);
    let mut sub: HashMap<(NodeId, Branch), Vec<NodeId>> = HashMap::new();
    // Each block with how many conditions and loops enclose it: the
    // checker and the walker recurse once per level, so a chain past
    // `max_block_depth` is reported here and nothing recurses into it.
    let mut pending: Vec<(NodeId, usize)> = root.iter().map(|&n| (n, 0)).collect();
    let mut too_deep = false;
    while let Some((n, depth)) = pending.pop() {
        for branch in [Branch::True, Branch::False, Branch::Body] {
            if let Some(&first) = children.get(&(n, branch)) {
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
                sub.insert((n, branch), chain);
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
    let mut walker = Checker {
        automation: &automation,
        catalog,
        sub: &sub,
        errors: &mut errors,
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
    })
}

struct Checker<'a> {
    automation: &'a Automation,
    catalog: &'a dyn Catalog,
    sub: &'a HashMap<(NodeId, Branch), Vec<NodeId>>,
    errors: &'a mut Errors,
    /// Blocks that run before the current one on its path.
    visible: Vec<&'a str>,
    /// Enclosing loops, outermost first.
    loops: Vec<&'a str>,
    nodes: &'a mut Vec<Option<Node>>,
    nesting: &'a Nesting,
}

impl<'a> Checker<'a> {
    fn chain(&mut self, chain: &[NodeId]) {
        for &n in chain {
            self.node(n);
        }
    }

    fn sub_chain(&self, n: NodeId, branch: Branch) -> Vec<NodeId> {
        self.sub.get(&(n, branch)).cloned().unwrap_or_default()
    }

    fn template(&mut self, block: &str, field: &str, value: &Value) -> Template {
        let t = match Template::parse_with(value, self.nesting) {
            Ok(t) => t,
            Err(e) => {
                self.errors.push(Some(block), field, e);
                return Template::Literal(Value::Null);
            }
        };
        for (name, args) in t.formulas() {
            if let Err(e) = formula::check(name, args) {
                self.errors.push(Some(block), field, e);
            }
        }
        for r in t.references() {
            let problem = match &r.root {
                RefRoot::Item if self.loops.is_empty() => {
                    Some("{item} is only available inside a loop body".to_string())
                }
                RefRoot::Item => None,
                RefRoot::Named(name) => {
                    let n = name.as_str();
                    if n == "Start"
                        || self.automation.variables.contains_key(n)
                        || self.visible.contains(&n)
                        || self.loops.contains(&n)
                    {
                        None
                    } else if self.automation.blocks.iter().any(|b| b.id == n) {
                        Some(format!(
                            "block {n:?} does not run before this block on its path"
                        ))
                    } else {
                        Some(format!("no block or variable is named {n:?}"))
                    }
                }
            };
            if let Some(p) = problem {
                self.errors
                    .push(Some(block), field, format!("{{{r}}}: {p}"));
            }
        }
        t
    }

    /// Inputs (of a connector or a called automation): checked field by
    /// field so errors name `inputs.url`, not just `inputs`; then the whole
    /// value is compiled once.
    fn inputs(&mut self, block: &str, inputs: &Value) -> Template {
        match inputs.as_object() {
            Some(fields) => {
                for (key, value) in fields {
                    self.template(block, &format!("inputs.{key}"), value);
                }
                // One level more than a field: its fields were checked above.
                let whole = Nesting {
                    max_json_depth: self.nesting.max_json_depth + 1,
                    ..*self.nesting
                };
                Template::parse_with(inputs, &whole).unwrap_or(Template::Literal(Value::Null))
            }
            None => self.template(block, "inputs", inputs),
        }
    }

    fn node(&mut self, n: NodeId) {
        let block: &'a Block = &self.automation.blocks[n];
        let id = block.id.as_str();
        let kind = match &block.kind {
            BlockKind::Start => NodeKind::Start,
            BlockKind::Condition { condition } => {
                let mut clauses = Vec::new();
                for (i, c) in condition.clauses.iter().enumerate() {
                    let left = self.template(id, &format!("condition.clauses[{i}].left"), &c.left);
                    let right =
                        self.template(id, &format!("condition.clauses[{i}].right"), &c.right);
                    clauses.push((left, c.op, right));
                }
                if clauses.is_empty() {
                    self.errors.push(
                        Some(id),
                        "condition.clauses",
                        "a condition needs at least one clause",
                    );
                }
                let base = self.visible.len();
                let yes = self.sub_chain(n, Branch::True);
                self.chain(&yes);
                let seen_yes = self.visible.split_off(base);
                let no = self.sub_chain(n, Branch::False);
                self.chain(&no);
                self.visible.extend(seen_yes);
                NodeKind::Condition {
                    mode: condition.mode,
                    clauses,
                    yes,
                    no,
                }
            }
            BlockKind::Loop { over } => {
                let over = self.template(id, "over", over);
                let body = self.sub_chain(n, Branch::Body);
                self.loops.push(id);
                self.chain(&body);
                self.loops.pop();
                NodeKind::Loop { over, body }
            }
            BlockKind::ExitLoop => {
                if self.loops.is_empty() {
                    self.errors.push(
                        Some(id),
                        "type",
                        "exit-loop is only allowed inside a loop body",
                    );
                }
                NodeKind::ExitLoop
            }
            BlockKind::Variable {
                variable,
                action,
                value,
            } => {
                if !self.automation.variables.contains_key(variable) {
                    self.errors.push(
                        Some(id),
                        "variable",
                        format!("variable {variable:?} is not declared; add it to \"variables\""),
                    );
                }
                let value = self.template(id, "value", value);
                NodeKind::Variable {
                    name: variable.clone(),
                    action: *action,
                    value,
                }
            }
            BlockKind::Output { mode, value } => NodeKind::Output {
                mode: *mode,
                value: self.template(id, "value", value),
            },
            BlockKind::Stop => NodeKind::Stop,
            BlockKind::Error { mode, message } => NodeKind::Error {
                mode: *mode,
                message: self.template(id, "message", message),
            },
            BlockKind::Sleep { ms } => {
                let t = self.template(id, "ms", ms);
                if let Template::Literal(v) = &t
                    && v.as_u64().is_none_or(|ms| ms > 24 * 3600 * 1000)
                {
                    self.errors.push(
                        Some(id),
                        "ms",
                        "must be a whole number of milliseconds, at most a day",
                    );
                }
                NodeKind::Sleep { ms: t }
            }
            BlockKind::Connector {
                connector,
                block: block_name,
                inputs,
                connection,
                version,
            } => {
                // Omitted inputs are an empty object, as the block sees them.
                let empty = Value::Object(Map::new());
                let inputs = if inputs.is_null() { &empty } else { inputs };
                let inputs_t = self.inputs(id, inputs);
                let pin = match version.as_deref().map(VersionPin::parse) {
                    None => None,
                    Some(Ok(pin)) => Some(pin),
                    Some(Err(e)) => {
                        self.errors.push(
                            Some(id),
                            "version",
                            format!(
                                "\"{}\" is neither a version (1.2.0) nor a semver range (^1, ~1.2, >=1.1, <2): {e}",
                                super::ident::shown(version.as_deref().unwrap_or_default())
                            ),
                        );
                        None
                    }
                };
                self.check_connector(id, connector, block_name, pin.as_ref(), inputs, &inputs_t);
                NodeKind::Connector {
                    connector: connector.clone(),
                    block: block_name.clone(),
                    inputs: inputs_t,
                    connection: connection.clone(),
                    version: pin,
                }
            }
            BlockKind::CallAutomation {
                automation,
                mode,
                inputs,
            } => {
                // Automation ids follow the identifier rule, so a name
                // outside it can never be called; say so now, not at run time.
                if let Err(e) = super::ident::check(automation) {
                    self.errors.push(
                        Some(id),
                        "automation",
                        format!("must name the automation to call: {e}"),
                    );
                } else if *automation == self.automation.id {
                    self.errors
                        .push(Some(id), "automation", "an automation cannot call itself");
                }
                // Omitted inputs are an empty `$.Start` for the called run.
                let inputs = match inputs {
                    Value::Null => Template::Literal(Value::Object(Map::new())),
                    given => self.inputs(id, given),
                };
                NodeKind::CallAutomation {
                    automation: automation.clone(),
                    mode: *mode,
                    inputs,
                }
            }
        };
        if let Some(r) = &block.retry
            && r.max_attempts == 0
        {
            self.errors.push(
                Some(id),
                "retry.max_attempts",
                "must be at least 1 (the first try counts)",
            );
        }
        self.visible.push(id);
        self.nodes[n] = Some(Node {
            id: block.id.clone(),
            kind,
            on_error: block.on_error,
            retry: block.retry.clone(),
            censor: block.censor,
        });
    }

    fn check_connector(
        &mut self,
        id: &str,
        connector: &str,
        block: &str,
        pin: Option<&VersionPin>,
        raw: &Value,
        inputs: &Template,
    ) {
        if let Some(pin) = pin {
            let installed = self.catalog.versions_of(connector);
            if !installed.is_empty() && self.catalog.manifest(connector, Some(pin)).is_none() {
                self.errors.push(
                    Some(id),
                    "version",
                    format!(
                        "no installed version of connector {connector:?} matches {pin} (installed: {})",
                        installed.join(", ")
                    ),
                );
                return;
            }
        }
        let Some(manifest) = self.catalog.manifest(connector, pin) else {
            let mut known = self.catalog.connector_ids();
            known.sort();
            self.errors.push(
                Some(id),
                "connector",
                format!(
                    "unknown connector {connector:?} (known: {})",
                    known.join(", ")
                ),
            );
            return;
        };
        let Some(spec) = manifest.block(block) else {
            let blocks: Vec<&str> = manifest.blocks.iter().map(|b| b.id.as_str()).collect();
            self.errors.push(
                Some(id),
                "block",
                format!(
                    "connector {connector:?} has no block {block:?} (it has: {})",
                    blocks.join(", ")
                ),
            );
            return;
        };
        // Validate what is known now: templated fields are checked at run
        // time, literal ones here.
        let (instance, templated): (Value, HashSet<String>) = match (raw, inputs) {
            (_, Template::Whole(_)) | (_, Template::Text(_)) => return,
            (Value::Object(map), Template::Object(fields)) => {
                let templated: HashSet<String> = fields
                    .iter()
                    .filter(|(_, t)| !t.is_literal())
                    .map(|(k, _)| k.clone())
                    .collect();
                let mut m = map.clone();
                for k in &templated {
                    m.insert(k.clone(), Value::Null);
                }
                (Value::Object(m), templated)
            }
            (Value::Null, _) => (Value::Object(Map::new()), HashSet::new()),
            (v, _) => (v.clone(), HashSet::new()),
        };
        let validator = match jsonschema::validator_for(&spec.input_schema) {
            Ok(v) => v,
            Err(e) => {
                self.errors.push(
                    Some(id),
                    "block",
                    format!("the connector's input schema is unusable: {e}"),
                );
                return;
            }
        };
        for err in validator.iter_errors(&instance) {
            let pointer = err.instance_path().to_string();
            let first = pointer
                .trim_start_matches('/')
                .split('/')
                .next()
                .unwrap_or_default()
                .to_string();
            if templated.contains(&first) {
                continue;
            }
            let field = if pointer.is_empty() {
                "inputs".to_string()
            } else {
                format!("inputs{}", pointer.replace('/', "."))
            };
            self.errors.push(Some(id), field, err.to_string());
        }
    }
}
