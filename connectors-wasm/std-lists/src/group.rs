//! `group`: Qlik's "group by" — one row per distinct key, in the order the
//! keys first appear, with aggregates of other fields computed per group.
//!
//! Sums and averages are decimal (`0.1 + 0.2` is `0.3`, as in a
//! spreadsheet), falling back to binary floating point only for numbers
//! beyond the decimal type's 28 digits.

use crate::{canonical, field_value};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::str::FromStr;
use weft_sdk::prelude::*;
use weft_sdk::serde_json::{Map, Number};

/// How one aggregate combines a field's values within a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Operation {
    /// The total of the numbers (0 when the group has none).
    Sum,
    /// The mean of the numbers (null when the group has none).
    Average,
    /// The smallest number (null when the group has none).
    Min,
    /// The largest number (null when the group has none).
    Max,
    /// How many items have a value (not null) at the field; with an empty
    /// field, how many items the group has.
    Count,
    /// How many different values the field has in the group.
    CountDistinct,
    /// The field's value in the group's first item.
    First,
    /// The field's value in the group's last item.
    Last,
    /// Every item's value at the field, in order (nulls included).
    List,
}

impl Operation {
    fn label(self) -> &'static str {
        match self {
            Operation::Sum => "sum",
            Operation::Average => "average",
            Operation::Min => "min",
            Operation::Max => "max",
            Operation::Count => "count",
            Operation::CountDistinct => "count_distinct",
            Operation::First => "first",
            Operation::Last => "last",
            Operation::List => "list",
        }
    }

    fn numeric(self) -> bool {
        matches!(
            self,
            Operation::Sum | Operation::Average | Operation::Min | Operation::Max
        )
    }
}

/// One aggregate column of the result.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Aggregate {
    /// Path of the value inside each item (`amount`, `totals.net`); empty
    /// for the item itself.
    #[serde(default)]
    pub field: String,
    /// `sum`, `average`, `min`, `max`, `count`, `count-distinct`, `first`,
    /// `last` or `list`. The numeric ones skip items where the field is
    /// missing or null and fail on values that are not numbers or numeric
    /// text.
    pub operation: Operation,
    /// The name of the result in each group; `<operation>_<field>` when
    /// omitted (`sum_amount`).
    #[serde(default)]
    pub name: String,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupInput {
    /// The items to group.
    pub list: Vec<Value>,
    /// Path of the grouping value (`category`, `customer.country`); empty
    /// to group equal items. Items where the path leads nowhere form the
    /// group with key null. Keys compare by JSON equality.
    pub key: String,
    /// The aggregates computed for every group.
    #[serde(default)]
    pub aggregates: Vec<Aggregate>,
    /// Also return each group's items under `items`.
    #[serde(default)]
    pub include_items: bool,
}

#[derive(Serialize, JsonSchema)]
pub struct GroupOutput {
    /// One object per distinct key, in order of first appearance: `key`,
    /// `count` (items in the group), one member per aggregate and, when
    /// asked for, `items`.
    pub groups: Vec<Map<String, Value>>,
    /// How many groups there are.
    pub count: usize,
}

/// Names a group object already uses for itself.
const RESERVED: [&str; 3] = ["key", "count", "items"];

pub(crate) fn group(_ctx: &Context, input: GroupInput) -> Result<GroupOutput, BlockError> {
    let names = column_names(&input.aggregates)?;
    // Group indices by key, keeping first-appearance order.
    let mut order: Vec<(Value, Vec<usize>)> = Vec::new();
    let mut index_of: HashMap<String, usize> = HashMap::new();
    for (i, item) in input.list.iter().enumerate() {
        let key = field_value(item, &input.key);
        let slot = *index_of.entry(canonical(key)).or_insert_with(|| {
            order.push((key.clone(), Vec::new()));
            order.len() - 1
        });
        order[slot].1.push(i);
    }
    let mut groups = Vec::with_capacity(order.len());
    for (key, members) in order {
        let mut row = Map::new();
        row.insert("key".into(), key);
        row.insert("count".into(), Value::from(members.len()));
        for (aggregate, name) in input.aggregates.iter().zip(&names) {
            let value = compute(aggregate, &members, &input.list)?;
            row.insert(name.clone(), value);
        }
        if input.include_items {
            let items = members.iter().map(|&i| input.list[i].clone()).collect();
            row.insert("items".into(), Value::Array(items));
        }
        groups.push(row);
    }
    Ok(GroupOutput {
        count: groups.len(),
        groups,
    })
}

/// Each aggregate's result name, checked for clashes before any work.
fn column_names(aggregates: &[Aggregate]) -> Result<Vec<String>, BlockError> {
    let mut names: Vec<String> = Vec::with_capacity(aggregates.len());
    for (i, a) in aggregates.iter().enumerate() {
        let name = if a.name.is_empty() {
            let field = if a.field.is_empty() { "item" } else { &a.field };
            format!(
                "{}_{}",
                a.operation.label(),
                field.replace(['.', '[', ']'], "_")
            )
        } else {
            a.name.clone()
        };
        if RESERVED.contains(&name.as_str()) || names.contains(&name) {
            return Err(BlockError::invalid_input(format!(
                "aggregates[{i}].name: \"{name}\" is already used in every group \
                 (key, count, items and earlier aggregates); give it another name"
            ))
            .with_details(json!({ "path": format!("aggregates[{i}].name") })));
        }
        names.push(name);
    }
    Ok(names)
}

fn compute(aggregate: &Aggregate, members: &[usize], list: &[Value]) -> Result<Value, BlockError> {
    let values = members
        .iter()
        .map(|&i| (i, field_value(&list[i], &aggregate.field)));
    if aggregate.operation.numeric() {
        let mut numbers = Vec::new();
        for (i, v) in values {
            if v.is_null() {
                continue;
            }
            let n = Num::read(v).ok_or_else(|| {
                let at = if aggregate.field.is_empty() {
                    format!("list[{i}]")
                } else {
                    format!("list[{i}].{}", aggregate.field)
                };
                BlockError::invalid_input(format!(
                    "{at} is not a number ({}), so its group's {} cannot be computed",
                    excerpt(v),
                    aggregate.operation.label()
                ))
                .with_details(json!({ "path": at, "index": i }))
            })?;
            numbers.push(n);
        }
        return Ok(numeric(aggregate.operation, &numbers));
    }
    Ok(match aggregate.operation {
        Operation::Count if aggregate.field.is_empty() => Value::from(members.len()),
        Operation::Count => Value::from(values.filter(|(_, v)| !v.is_null()).count()),
        Operation::CountDistinct => {
            let mut seen = std::collections::HashSet::new();
            Value::from(values.filter(|(_, v)| seen.insert(canonical(v))).count())
        }
        Operation::First => values.map(|(_, v)| v.clone()).next().unwrap_or(Value::Null),
        Operation::Last => values
            .map(|(_, v)| v.clone())
            .next_back()
            .unwrap_or(Value::Null),
        _ => Value::Array(values.map(|(_, v)| v.clone()).collect()),
    })
}

fn numeric(operation: Operation, numbers: &[Num]) -> Value {
    match operation {
        Operation::Sum => total(numbers).to_json(),
        Operation::Average if numbers.is_empty() => Value::Null,
        Operation::Average => {
            let count = Num::Dec(Decimal::from(numbers.len()));
            total(numbers)
                .apply(count, Decimal::checked_div, |a, b| a / b)
                .to_json()
        }
        Operation::Min => extreme(numbers, Ordering::Less),
        _ => extreme(numbers, Ordering::Greater),
    }
}

fn total(numbers: &[Num]) -> Num {
    numbers.iter().fold(Num::Dec(Decimal::ZERO), |acc, n| {
        acc.apply(*n, Decimal::checked_add, |a, b| a + b)
    })
}

fn extreme(numbers: &[Num], keep: Ordering) -> Value {
    numbers
        .iter()
        .copied()
        .reduce(|a, b| if b.cmp(a) == keep { b } else { a })
        .map_or(Value::Null, Num::to_json)
}

fn excerpt(v: &Value) -> String {
    let text = v.to_string();
    match text.char_indices().nth(60) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// A number read from an item: decimal when it fits, else binary.
#[derive(Debug, Clone, Copy)]
enum Num {
    Dec(Decimal),
    Float(f64),
}

impl Num {
    /// A number, or text that reads as one (`" 12.5 "`).
    fn read(v: &Value) -> Option<Num> {
        let text = match v {
            Value::Number(n) => n.to_string(),
            Value::String(s) => s.trim().to_string(),
            _ => return None,
        };
        if let Ok(d) = Decimal::from_str(&text).or_else(|_| Decimal::from_scientific(&text)) {
            return Some(Num::Dec(d));
        }
        text.parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(Num::Float)
    }

    fn float(self) -> f64 {
        match self {
            Num::Dec(d) => d.to_f64().unwrap_or(f64::NAN),
            Num::Float(f) => f,
        }
    }

    fn cmp(self, other: Num) -> Ordering {
        match (self, other) {
            (Num::Dec(a), Num::Dec(b)) => a.cmp(&b),
            (a, b) => a.float().total_cmp(&b.float()),
        }
    }

    /// `self op other` in decimal, or in `f64` when decimal overflows.
    fn apply(
        self,
        other: Num,
        dec: fn(Decimal, Decimal) -> Option<Decimal>,
        float: fn(f64, f64) -> f64,
    ) -> Num {
        if let (Num::Dec(a), Num::Dec(b)) = (self, other)
            && let Some(r) = dec(a, b)
        {
            return Num::Dec(r);
        }
        Num::Float(float(self.float(), other.float()))
    }

    /// Whole results as JSON integers, others as the nearest double.
    fn to_json(self) -> Value {
        match self {
            Num::Dec(d) => {
                let d = d.normalize();
                if d.scale() == 0
                    && let Some(i) = d.to_i64()
                {
                    return Value::from(i);
                }
                // Through text: the correctly rounded double (0.3, not
                // 0.30000000000000004).
                Num::Float(d.to_string().parse::<f64>().unwrap_or(f64::NAN)).to_json()
            }
            Num::Float(f) => Number::from_f64(f).map_or(Value::Null, Value::Number),
        }
    }
}
