//! The checking pass for blocks that steer the walk: the loop kinds
//! (`loop-range`, `loop-while`, `loop-batch`), `exit-loop` with a named
//! loop, the `case` block and `update-run-title`. What can be known before
//! a run (a literal step of 0, a missing iteration cap, a case value
//! matched twice) is an error here, naming block and field.

use super::checker::Checker;
use super::*;
use crate::automation::document::{CaseSpec, ConditionSpec};

/// Longest run title, in characters (longer ones are cut at run time).
pub const MAX_TITLE_CHARS: usize = 200;

impl<'a> Checker<'a> {
    /// A condition's clauses (a `condition` block's or a `loop-while`'s).
    pub(super) fn clauses(
        &mut self,
        id: &str,
        condition: &ConditionSpec,
    ) -> Vec<(Template, Operator, Template)> {
        let mut clauses = Vec::new();
        for (i, c) in condition.clauses.iter().enumerate() {
            let left = self.template(id, &format!("condition.clauses[{i}].left"), &c.left);
            let right = self.template(id, &format!("condition.clauses[{i}].right"), &c.right);
            clauses.push((left, c.op, right));
        }
        if clauses.is_empty() {
            self.errors.push(
                Some(id),
                "condition.clauses",
                "a condition needs at least one clause",
            );
        }
        clauses
    }

    /// Check a loop's body with the loop enclosing it.
    pub(super) fn loop_body(&mut self, n: NodeId, id: &'a str, has_item: bool) -> Vec<NodeId> {
        let body = self.sub_chain(n, Branch::Body, 0);
        self.loops.push((id, has_item));
        self.chain(&body);
        self.loops.pop();
        body
    }

    /// A whole number written in the document, if `t` is a literal.
    fn literal_integer(&mut self, id: &str, field: &str, t: &Template) -> Option<i64> {
        let Template::Literal(v) = t else {
            return None;
        };
        let n = v.as_i64();
        if n.is_none() {
            self.errors
                .push(Some(id), field, format!("must be a whole number, not {v}"));
        }
        n
    }

    pub(super) fn loop_range(
        &mut self,
        n: NodeId,
        id: &'a str,
        from: &Value,
        to: &Value,
        step: &Option<Value>,
    ) -> NodeKind {
        let from = self.template(id, "from", from);
        let to = self.template(id, "to", to);
        let step = step.as_ref().map(|s| self.template(id, "step", s));
        let first = self.literal_integer(id, "from", &from);
        let last = self.literal_integer(id, "to", &to);
        let by = match &step {
            Some(s) => self.literal_integer(id, "step", s),
            None => Some(1),
        };
        if by == Some(0) {
            self.errors
                .push(Some(id), "step", "must not be 0 (the loop would never end)");
        }
        // Literal bounds that run the wrong way are a typo, not an empty
        // range (templated ones may legitimately give none).
        if let (Some(first), Some(last), Some(by)) = (first, last, by)
            && by != 0
            && ((by > 0 && first > last) || (by < 0 && first < last))
        {
            self.errors.push(
                Some(id),
                "step",
                format!(
                    "from {first} to {last} with step {by} never runs; {}",
                    if by > 0 {
                        "count down with a negative step"
                    } else {
                        "count up with a positive step"
                    }
                ),
            );
        }
        let body = self.loop_body(n, id, true);
        NodeKind::LoopRange {
            from,
            to,
            step,
            body,
        }
    }

    pub(super) fn loop_while(
        &mut self,
        n: NodeId,
        id: &'a str,
        when: WhileMode,
        condition: &ConditionSpec,
        max_iterations: Option<u64>,
    ) -> NodeKind {
        // The condition may look at the loop's own `$.Loop.index`.
        self.loops.push((id, false));
        let clauses = self.clauses(id, condition);
        self.loops.pop();
        let cap = match max_iterations {
            None => {
                self.errors.push(
                    Some(id),
                    "max_iterations",
                    "a loop-while needs max_iterations, the most times its body may run (without a cap a condition that never changes would loop until the run's deadline)",
                );
                0
            }
            Some(0) => {
                self.errors
                    .push(Some(id), "max_iterations", "must be at least 1");
                0
            }
            Some(cap) => cap,
        };
        let body = self.loop_body(n, id, false);
        NodeKind::LoopWhile {
            when,
            mode: condition.mode,
            clauses,
            max_iterations: cap,
            body,
        }
    }

    pub(super) fn loop_batch(
        &mut self,
        n: NodeId,
        id: &'a str,
        over: &Value,
        size: &Value,
    ) -> NodeKind {
        let over = self.template(id, "over", over);
        let size = self.template(id, "size", size);
        if let Some(s) = self.literal_integer(id, "size", &size)
            && s < 1
        {
            self.errors
                .push(Some(id), "size", format!("must be at least 1, not {s}"));
        }
        let body = self.loop_body(n, id, true);
        NodeKind::LoopBatch { over, size, body }
    }

    pub(super) fn exit_loop(&mut self, id: &str, target: Option<&str>) -> NodeKind {
        let enclosing: Vec<&str> = self.loops.iter().map(|(l, _)| *l).collect();
        match target {
            _ if enclosing.is_empty() => self.errors.push(
                Some(id),
                "type",
                "exit-loop is only allowed inside a loop body",
            ),
            Some(name) if !enclosing.contains(&name) => {
                let what = if self.automation.blocks.iter().any(|b| b.id == name) {
                    format!("block {name:?} is not a loop enclosing this block")
                } else {
                    format!("no block is named {name:?}")
                };
                self.errors.push(
                    Some(id),
                    "loop",
                    format!(
                        "{what}; the loops around it are, innermost last: {}",
                        enclosing.join(", ")
                    ),
                );
            }
            _ => {}
        }
        NodeKind::ExitLoop {
            target: target.map(str::to_string),
        }
    }

    pub(super) fn case(
        &mut self,
        n: NodeId,
        id: &'a str,
        value: &Value,
        cases: &[CaseSpec],
    ) -> NodeKind {
        let value = self.template(id, "value", value);
        if cases.is_empty() {
            self.errors
                .push(Some(id), "cases", "a case block needs at least one case");
        }
        let mut names: HashSet<&str> = HashSet::new();
        // Literal match values seen so far, and the case that has each: a
        // later case matching the same value would never run for it.
        let mut seen: Vec<(&Value, &str)> = Vec::new();
        let mut compiled = Vec::with_capacity(cases.len());
        for (i, case) in cases.iter().enumerate() {
            let field = format!("cases[{i}]");
            if let Err(e) = crate::automation::ident::check(&case.name) {
                self.errors
                    .push(Some(id), format!("{field}.name"), e.to_string());
            } else if case.name == "default" {
                self.errors.push(
                    Some(id),
                    format!("{field}.name"),
                    "\"default\" names the branch taken when no case matches; pick another name",
                );
            } else if !names.insert(&case.name) {
                self.errors.push(
                    Some(id),
                    format!("{field}.name"),
                    format!("another case is named {:?}", case.name),
                );
            }
            let values: Vec<(String, &Value)> = match &case.matches {
                Value::Array(items) if items.is_empty() => {
                    self.errors.push(
                        Some(id),
                        format!("{field}.match"),
                        "an empty list matches nothing; give a value or a list of values",
                    );
                    Vec::new()
                }
                Value::Array(items) => items
                    .iter()
                    .enumerate()
                    .map(|(j, v)| (format!("{field}.match[{j}]"), v))
                    .collect(),
                one => vec![(format!("{field}.match"), one)],
            };
            let mut matches = Vec::with_capacity(values.len());
            for (at, v) in values {
                let t = self.template(id, &at, v);
                if let Template::Literal(lit) = &t {
                    let earlier = seen.iter().find(|(s, _)| {
                        weft_conditions::compare(s, Operator::Eq, lit) && !lit.is_array()
                    });
                    match earlier {
                        Some((_, other)) => self.errors.push(
                            Some(id),
                            at,
                            format!(
                                "{lit} is already matched by case {other:?}, which comes first; this would never match it"
                            ),
                        ),
                        None => seen.push((v, &case.name)),
                    }
                }
                matches.push(t);
            }
            compiled.push(CaseArm {
                name: case.name.clone(),
                matches,
                body: Vec::new(),
            });
        }
        // Each branch sees what ran before the case block, and the case
        // block itself (`$.Route.case`); blocks after it may refer to any
        // branch's blocks (the one that ran has output).
        self.visible.push(id);
        let base = self.visible.len();
        let mut seen_in_branches = Vec::new();
        for (c, arm) in compiled.iter_mut().enumerate() {
            arm.body = self.sub_chain(n, Branch::Case, c);
            self.chain(&arm.body);
            seen_in_branches.extend(self.visible.split_off(base));
        }
        let default = self.sub_chain(n, Branch::Default, 0);
        self.chain(&default);
        self.visible.extend(seen_in_branches);
        NodeKind::Case {
            value,
            cases: compiled,
            default,
        }
    }

    pub(super) fn run_title(&mut self, id: &str, title: &Value) -> NodeKind {
        let t = self.template(id, "title", title);
        if let Template::Literal(v) = &t {
            match v.as_str() {
                None => self
                    .errors
                    .push(Some(id), "title", format!("must be text, not {v}")),
                Some(text) if text.chars().count() > MAX_TITLE_CHARS => self.errors.push(
                    Some(id),
                    "title",
                    format!("is longer than {MAX_TITLE_CHARS} characters"),
                ),
                Some(_) => {}
            }
        }
        NodeKind::UpdateRunTitle { title: t }
    }
}
