//! The blocks that pick a branch: `condition` (clauses that hold or not)
//! and `case` (the first case whose values the case value equals, or the
//! default). Clauses are evaluated here for conditions and `loop-while`
//! alike, with one rule of their own: `empty` / `not empty` on a reference
//! to a missing value is true / false, as in Qlik, where every other
//! operator on a missing value fails with the reference's error.

use super::loops::Started;
use super::standard_blocks::Walked;
use super::{Halt, Outcome, Walk};
use crate::automation::plan::{CaseArm, NodeId};
use crate::automation::template::{Expr, RefRoot, Scope, Template};
use serde_json::{Value, json};
use weft_conditions::{Combine, Operator, combine, compare, get_path, is_empty};

impl Walk<'_> {
    /// Whether the clauses hold together; the inner error names the
    /// clause whose value could not be built.
    pub(super) fn clauses_hold(
        &self,
        mode: Combine,
        clauses: &[(Template, Operator, Template)],
    ) -> Result<Result<bool, String>, Halt> {
        let mut results = Vec::with_capacity(clauses.len());
        for (i, (left, op, right)) in clauses.iter().enumerate() {
            if let Some(missing) = self.is_missing(left, *op) {
                results.push(match op {
                    Operator::Empty => missing,
                    _ => !missing,
                });
                continue;
            }
            let l = self
                .eval(left, &format!("condition.clauses[{i}].left"))?
                .map(|(v, _)| v);
            let r = self
                .eval(right, &format!("condition.clauses[{i}].right"))?
                .map(|(v, _)| v);
            match (l, r) {
                (Ok(l), Ok(r)) => results.push(compare(&l, *op, &r)),
                (Err(e), _) | (_, Err(e)) => return Ok(Err(e)),
            }
        }
        Ok(Ok(combine(mode, results.into_iter())))
    }

    /// For `empty` / `not empty` on a bare reference: whether the value
    /// is empty, counting one that is not there (a missing field, a block
    /// that did not run on this path) as empty. `None`: evaluate the
    /// clause as usual.
    fn is_missing(&self, left: &Template, op: Operator) -> Option<bool> {
        if !matches!(op, Operator::Empty | Operator::NotEmpty) {
            return None;
        }
        let Template::Whole(Expr::Ref(r)) = left else {
            return None;
        };
        let root = match &r.root {
            RefRoot::Named(name) => self.named(name),
            RefRoot::Item => self.item(),
        };
        // Only looked at, never copied: no bound to check.
        Some(
            root.ok()
                .and_then(|v| get_path(v, &r.path))
                .is_none_or(is_empty),
        )
    }

    /// A condition: evaluate the clauses, record the result, walk the
    /// branch it picks.
    pub(super) async fn condition(
        &mut self,
        n: NodeId,
        (started, started_at): Started,
        (mode, clauses): (Combine, &[(Template, Operator, Template)]),
        yes: &[NodeId],
        no: &[NodeId],
    ) -> Result<Walked, Halt> {
        match self.clauses_hold(mode, clauses)? {
            Err(e) => Ok(Walked::block(Outcome::plain(Err(e), None))),
            Ok(holds) => {
                self.record(
                    n,
                    started,
                    started_at,
                    Outcome::plain(Ok(json!({ "result": holds })), None),
                )?;
                let branch = if holds { yes } else { no };
                self.chain(branch).await.map(Walked::Chain)
            }
        }
    }

    /// A case block: the first case one of whose values equals the value
    /// (as `=` compares: `"5"` equals `5`) runs; none, the default.
    pub(super) async fn case(
        &mut self,
        n: NodeId,
        (started, started_at): Started,
        value: &Template,
        cases: &[CaseArm],
        default: &[NodeId],
    ) -> Result<Walked, Halt> {
        let value = match self.eval(value, "value")? {
            Ok((v, _)) => v,
            Err(e) => return Ok(Walked::block(Outcome::plain(Err(e), None))),
        };
        let mut picked = None;
        'cases: for (c, arm) in cases.iter().enumerate() {
            for (j, t) in arm.matches.iter().enumerate() {
                let wanted = match self.eval(t, &format!("cases[{c}].match[{j}]"))? {
                    Ok((v, _)) => v,
                    Err(e) => {
                        return Ok(Walked::block(Outcome::plain(Err(e), Some(value))));
                    }
                };
                let hit = match &wanted {
                    // A list (written or produced by a template) is a
                    // list of values, any of which matches.
                    Value::Array(options) => {
                        options.iter().any(|o| compare(&value, Operator::Eq, o))
                    }
                    one => compare(&value, Operator::Eq, one),
                };
                if hit {
                    picked = Some(arm);
                    break 'cases;
                }
            }
        }
        let name = picked.map_or("default", |arm| arm.name.as_str());
        let output = json!({ "case": name });
        self.record(
            n,
            started,
            started_at,
            Outcome::plain(Ok(output.clone()), Some(json!({ "value": value }))),
        )?;
        // The branch (and what follows) may read which case ran.
        self.outputs.insert(self.plan.nodes[n].id.clone(), output);
        let branch = picked.map_or(default, |arm| arm.body.as_slice());
        self.chain(branch).await.map(Walked::Chain)
    }
}
