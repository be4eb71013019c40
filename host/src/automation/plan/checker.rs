//! The checking pass of validation: walks the block tree from the start,
//! checking each block's fields, templates, references and connector
//! inputs against what runs before it, and building its [`Node`].

use super::*;

pub(super) struct Checker<'a> {
    pub(super) automation: &'a Automation,
    pub(super) catalog: &'a dyn Catalog,
    pub(super) sub: &'a HashMap<Arm, Vec<NodeId>>,
    pub(super) errors: &'a mut Errors,
    /// What probably is a mistake but may be right (a reference to a name
    /// an open output schema does not list).
    pub(super) warnings: &'a mut Errors,
    /// Blocks that run before the current one on its path.
    pub(super) visible: Vec<&'a str>,
    /// Enclosing loops, outermost first, and whether each has an item
    /// (a `loop-while` has none).
    pub(super) loops: Vec<(&'a str, bool)>,
    pub(super) nodes: &'a mut Vec<Option<Node>>,
    pub(super) nesting: &'a Nesting,
}

impl<'a> Checker<'a> {
    pub(super) fn chain(&mut self, chain: &[NodeId]) {
        for &n in chain {
            self.node(n);
        }
    }

    pub(super) fn sub_chain(&self, n: NodeId, branch: Branch, case: usize) -> Vec<NodeId> {
        self.sub
            .get(&(n, branch, case))
            .cloned()
            .unwrap_or_default()
    }

    pub(super) fn template(&mut self, block: &str, field: &str, value: &Value) -> Template {
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
                RefRoot::Item => match self.loops.last() {
                    Some((name, false)) => Some(format!(
                        "the innermost loop, {name:?}, is a loop-while and has no item (its iteration is {{$.{name}.index}})"
                    )),
                    _ => None,
                },
                RefRoot::Named(name) => {
                    let n = name.as_str();
                    if n == "Start"
                        || self.automation.variables.contains_key(n)
                        || self.visible.contains(&n)
                        || self.loops.iter().any(|(l, _)| *l == n)
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
            } else if let RefRoot::Named(name) = &r.root {
                self.output_reference(block, field, name, r);
            }
        }
        t
    }

    /// A reference into a connector block's output, held to the block's
    /// declared output schema (see [`super::outputs`]).
    fn output_reference(&mut self, block: &str, field: &str, name: &str, r: &Reference) {
        // A variable of the same name, or the failed block's `error`,
        // is not the output.
        if self.automation.variables.contains_key(name)
            || r.path == "error"
            || r.path.starts_with("error.")
            || r.path.starts_with("error[")
        {
            return;
        }
        let Some(BlockKind::Connector {
            connector,
            block: target,
            version,
            ..
        }) = self
            .automation
            .blocks
            .iter()
            .find(|b| b.id == name)
            .map(|b| &b.kind)
        else {
            return;
        };
        let pin = version.as_deref().and_then(|v| VersionPin::parse(v).ok());
        let Some(spec) = self
            .catalog
            .manifest(connector, pin.as_ref())
            .and_then(|m| m.block(target))
        else {
            return;
        };
        if let outputs::PathCheck::Unknown { at, known, closed } =
            outputs::check_path(&spec.output_schema, &r.path)
        {
            let listed = if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            };
            let message = format!(
                "{{{r}}}: the output of {name:?} ({connector}/{target}) has no field {at:?} (it has: {listed})"
            );
            if closed {
                self.errors.push(Some(block), field, message);
            } else {
                self.warnings.push(
                    Some(block),
                    field,
                    format!("{message}; the block may return more than it declares, so this is checked only at run time"),
                );
            }
        }
    }

    /// Inputs (of a connector or a called automation): checked field by
    /// field so errors name `inputs.url`, not just `inputs`; then the whole
    /// value is compiled once. Fields named in `verbatim` are passed as
    /// written, never read as templates (see [`verbatim_fields`]).
    fn inputs(&mut self, block: &str, inputs: &Value, verbatim: &[String]) -> Template {
        match inputs.as_object() {
            Some(fields) => {
                for (key, value) in fields {
                    if !verbatim.contains(key) {
                        self.template(block, &format!("inputs.{key}"), value);
                    } else if json_depth_within(value, self.nesting.max_json_depth).is_none() {
                        // Not a template, but still bounded like one.
                        self.errors.push(
                            Some(block),
                            format!("inputs.{key}"),
                            json_too_deep(self.nesting.max_json_depth),
                        );
                    }
                }
                if fields.keys().any(|k| verbatim.contains(k)) {
                    let parts = fields
                        .iter()
                        .map(|(k, v)| {
                            let t = if verbatim.contains(k) {
                                Template::Literal(v.clone())
                            } else {
                                Template::parse_with(v, self.nesting)
                                    .unwrap_or(Template::Literal(Value::Null))
                            };
                            // A computed name here is refused by
                            // check_connector, as on the usual path.
                            let key =
                                match Template::parse_with(&Value::String(k.clone()), self.nesting)
                                {
                                    Ok(Template::Literal(_)) | Err(_) => None,
                                    Ok(computed) => Some(computed),
                                };
                            Field {
                                name: k.clone(),
                                key,
                                value: t,
                            }
                        })
                        .collect();
                    return Template::Object(parts);
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
                let clauses = self.clauses(id, condition);
                let base = self.visible.len();
                let yes = self.sub_chain(n, Branch::True, 0);
                self.chain(&yes);
                let seen_yes = self.visible.split_off(base);
                let no = self.sub_chain(n, Branch::False, 0);
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
                let body = self.loop_body(n, id, true);
                NodeKind::Loop { over, body }
            }
            BlockKind::LoopRange { from, to, step } => self.loop_range(n, id, from, to, step),
            BlockKind::LoopWhile {
                mode,
                condition,
                max_iterations,
            } => self.loop_while(n, id, *mode, condition, *max_iterations),
            BlockKind::LoopBatch { over, size } => self.loop_batch(n, id, over, size),
            BlockKind::ExitLoop { target } => self.exit_loop(id, target.as_deref()),
            BlockKind::Case { value, cases } => self.case(n, id, value, cases),
            BlockKind::UpdateRunTitle { title } => self.run_title(id, title),
            BlockKind::StateGet { .. }
            | BlockKind::StateSet { .. }
            | BlockKind::StateIncrement { .. } => self.state_block(id, &block.kind),
            BlockKind::Input {
                schema,
                title,
                message,
                timeout_ms,
                timeout_values,
            } => self.input_block(
                id,
                schema,
                (title.as_ref(), message.as_ref()),
                *timeout_ms,
                timeout_values.as_ref(),
            ),
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
                let pin = match version.as_deref().map(VersionPin::parse) {
                    None => None,
                    Some(Ok(pin)) => Some(pin),
                    Some(Err(e)) => {
                        self.errors.push(
                            Some(id),
                            "version",
                            format!(
                                "\"{}\" is neither a version (1.2.0) nor a semver range (^1, ~1.2, >=1.1, <2): {e}",
                                crate::automation::ident::shown(version.as_deref().unwrap_or_default())
                            ),
                        );
                        None
                    }
                };
                let verbatim = self
                    .catalog
                    .manifest(connector, pin.as_ref())
                    .and_then(|m| m.block(block_name))
                    .map(verbatim_fields)
                    .unwrap_or_default();
                let inputs_t = self.inputs(id, inputs, &verbatim);
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
                if let Err(e) = crate::automation::ident::check(automation) {
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
                    given => self.inputs(id, given, &[]),
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
        let calls_out = matches!(
            kind,
            NodeKind::Connector { .. } | NodeKind::CallAutomation { .. }
        );
        if block.non_retryable_after_crash && !calls_out {
            self.errors.push(
                Some(id),
                "non_retryable_after_crash",
                "only connector and call_automation blocks can be marked: every other block is replayed from the history at a resume, never repeated",
            );
        }
        self.visible.push(id);
        self.nodes[n] = Some(Node {
            id: block.id.clone(),
            kind,
            on_error: block.on_error,
            retry: block.retry.clone(),
            censor: block.censor,
            non_retryable_after_crash: block.non_retryable_after_crash,
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
                // A block's own input names are fixed by its schema; names
                // computed at run time are for the data inside them.
                for f in fields.iter().filter(|f| f.key.is_some()) {
                    self.errors.push(
                        Some(id),
                        format!("inputs.{}", f.name),
                        "an input's name cannot be a template: the block's inputs are \
                         named by its schema (computed names work inside an input's \
                         value, e.g. an object built for a request body)",
                    );
                }
                let templated: HashSet<String> = fields
                    .iter()
                    .filter(|f| !f.value.is_literal())
                    .map(|f| f.name.clone())
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
            self.errors.push(Some(id), field, schema_message(&err));
        }
    }
}

/// A JSON Schema error as a user reads it: where the value must be one of
/// a set (`enum`, or a `oneOf` / `anyOf` of constants, as the connector
/// SDK writes documented enums), every valid value is listed, instead of
/// "not valid under any of the schemas listed in the 'oneOf' keyword".
pub(super) fn schema_message(err: &jsonschema::ValidationError) -> String {
    use jsonschema::error::ValidationErrorKind as Kind;
    let allowed = match err.kind() {
        Kind::Enum { options } => options.as_array().cloned(),
        Kind::OneOfNotValid { context } | Kind::AnyOf { context } => constants(context),
        _ => None,
    };
    match allowed {
        Some(values) if !values.is_empty() => {
            let listed: Vec<String> = values.iter().map(Value::to_string).collect();
            format!(
                "{} is not one of the valid values: {}",
                err.instance(),
                listed.join(", ")
            )
        }
        _ => err.to_string(),
    }
}

/// The values a `oneOf` / `anyOf` allows, when every branch is a
/// constant or an enum; `None` when some branch is anything else.
fn constants(branches: &[Vec<jsonschema::ValidationError<'static>>]) -> Option<Vec<Value>> {
    use jsonschema::error::ValidationErrorKind as Kind;
    let mut values = Vec::new();
    for errors in branches {
        let found = errors.iter().find_map(|e| match e.kind() {
            Kind::Constant { expected_value } => Some(vec![(**expected_value).clone()]),
            Kind::Enum { options } => options.as_array().cloned(),
            _ => None,
        })?;
        values.extend(found);
    }
    Some(values)
}

/// The input fields of `spec` whose schema says `"x-weft-verbatim": true`:
/// source code in another language (the `code` block's JavaScript), whose
/// braces (`{ total: item.total }`) would otherwise be read as Weft
/// references and formulas. Data reaches such code through its other
/// inputs, which are templated as usual.
fn verbatim_fields(spec: &crate::manifest::BlockSpec) -> Vec<String> {
    spec.input_schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|props| {
            props
                .iter()
                .filter(|(_, schema)| schema.get(VERBATIM) == Some(&Value::Bool(true)))
                .map(|(name, _)| name.clone())
                .collect()
        })
        .unwrap_or_default()
}

/// The input-schema keyword that marks a field as passed verbatim.
pub const VERBATIM: &str = "x-weft-verbatim";
